// Analytic NTK Gram matrix of a depth-3 ReLU network, n = 10,000 points in d = 784
// (Fashion-MNIST-sized random inputs): the "in seconds" figure. Also n = 2,000
// for scaling, and the split between the SYRK and the recursion.
//   bench_kernels --benchmark_filter=Gram
#include <benchmark/benchmark.h>

#include <map>

#include "descent/core/cpu_info.hpp"
#include "descent/core/rng.hpp"
#include "descent/core/thread_pool.hpp"
#include "descent/probe/kernels.hpp"

using namespace descent;
using namespace descent::probe;

namespace {

const Tensor& inputs(int64_t n) {
  static std::map<int64_t, Tensor> cache;
  auto it = cache.find(n);
  if (it == cache.end()) {
    Rng rng(0);
    it = cache.emplace(n, rng.uniform_tensor({n, 784}, DType::f32, 0.0, 1.0)).first;
  }
  return it->second;
}

void NtkGramRelu(benchmark::State& state) {
  const int64_t n = state.range(0);
  const int depth = static_cast<int>(state.range(1));
  const Tensor& X = inputs(n);
  const KernelSpec spec{.depth = depth, .activation = Activation::relu, .weight_variance = 2.0, .bias_variance = 0.1};
  for (auto _ : state) benchmark::DoNotOptimize(ntk_kernel(spec, X).raw());
  state.counters["pairs_per_s"] = benchmark::Counter(double(n) * double(n + 1) / 2, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = double(global_thread_pool().size());
}

void NtkGramErf(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor& X = inputs(n);
  const KernelSpec spec{.depth = 3, .activation = Activation::erf, .weight_variance = 1.5, .bias_variance = 0.1};
  for (auto _ : state) benchmark::DoNotOptimize(ntk_kernel(spec, X).raw());
}

}  // namespace

BENCHMARK(NtkGramRelu)->Args({2000, 3})->Args({10000, 0})->Args({10000, 3})->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(NtkGramErf)->Arg(10000)->Unit(benchmark::kSecond)->Iterations(1);
int main(int argc, char** argv) {
  benchmark::AddCustomContext("cpu", descent::cpu_summary());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
