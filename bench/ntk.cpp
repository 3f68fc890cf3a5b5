// Empirical NTK Gram (trace over the 10 outputs) of the 784-256-256-10 MLP on n
// Fashion-MNIST test images (issue 8): the structured path at n = 1,000 in float32 and
// float64, and the generic per-example-Jacobian path at n = 200 for comparison. Peak RSS
// is the process's (getrusage), so run one benchmark per process when it matters:
//   OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 bench_ntk --benchmark_filter='Structured/1000/0'
//   /usr/bin/python3 bench/ntk_peer.py 200     # functorch jacrev + vmap, same threads
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include "descent/core/cpu_info.hpp"
#include "descent/data/fashion_mnist.hpp"
#include "descent/probe/empirical_ntk.hpp"

using namespace descent;
using namespace descent::probe;

namespace {

Tensor images(int64_t n) {
  static const data::Dataset test = data::load_fashion_mnist("test");
  return test.inputs.rows(0, n);
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // Linux: KiB
}

void run(benchmark::State& state, NtkMethod method) {
  const int64_t n = state.range(0);
  const DType dtype = state.range(1) ? DType::f64 : DType::f32;
  nn::Model model = nn::mlp(784, 10, nn::MlpOptions{}, DType::f32);
  model.initialize(0);
  const Tensor X = images(n);
  double trace = 0;
  for (auto _ : state) {
    const Tensor k = empirical_ntk(model, X, {.method = method, .dtype = dtype});
    trace = 0;
    for (int64_t i = 0; i < n; ++i) trace += k.at(i * n + i);
  }
  state.counters["n"] = double(n);
  state.counters["gram_trace"] = trace;
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}

void Structured(benchmark::State& state) { run(state, NtkMethod::structured); }
void Generic(benchmark::State& state) { run(state, NtkMethod::generic); }

}  // namespace

BENCHMARK(Structured)->Args({1000, 0})->Args({1000, 1})->Args({200, 0})->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(Generic)->Args({200, 0})->Unit(benchmark::kSecond)->Iterations(1);
int main(int argc, char** argv) {
  benchmark::AddCustomContext("cpu", descent::cpu_summary());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
