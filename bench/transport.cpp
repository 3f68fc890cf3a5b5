// Optimal transport timings. Two modes:
//   bench_transport [Google Benchmark flags]     per-solver timings at a few sizes
//   bench_transport --compare N D SEED DIR [EPS]  one problem, each solver timed (CPU, min of 3):
//       writes DIR/x.npy, DIR/y.npy (x ~ U[0,1]^D, y ~ U[0,1]^D + 0.25, n = m = N, uniform
//       weights; cost = squared Euclidean divided by its maximum, as POT's examples do) and
//       prints one JSON object {solver: {seconds, cost, iterations}}. bench/transport_peer.py
//       runs this and times POT on the same files.
// For 1-thread figures set OPENBLAS_NUM_THREADS=1 (descent's solvers are single-threaded).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <string>

#include "descent/core/cpu_info.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/data/readers.hpp"
#include "descent/transport/cost.hpp"
#include "descent/transport/exact.hpp"
#include "descent/transport/sinkhorn.hpp"

using namespace descent;
using namespace descent::transport;

namespace {

constexpr double kEpsilon = 0.01, kTolerance = 1e-9;

struct Problem {
  Tensor x, y, C;
};

Problem make_problem(int64_t n, int64_t d, uint64_t seed) {
  Rng rng(seed);
  Problem p;
  p.x = rng.uniform_tensor({n, d}, DType::f64);
  p.y = rng.uniform_tensor({n, d}, DType::f64, 0.25, 1.25);
  p.C = cost_matrix(p.x, p.y);
  p.C = mul(p.C, 1.0 / max(p.C).item());
  return p;
}

// Process CPU time, the least of three runs: on a shared machine wall time measures the
// other tenants (the peer script times POT the same way).
template <class F>
double seconds(F&& f) {
  double best = INFINITY;
  for (int rep = 0; rep < 3; ++rep) {
    timespec t0{}, t1{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    f();
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    best = std::min(best, double(t1.tv_sec - t0.tv_sec) + 1e-9 * double(t1.tv_nsec - t0.tv_nsec));
  }
  return best;
}

int compare(int64_t n, int64_t d, uint64_t seed, const std::string& dir, double epsilon) {
  const Problem p = make_problem(n, d, seed);
  data::save_npy(dir + "/x.npy", p.x);
  data::save_npy(dir + "/y.npy", p.y);
  ExactResult exact;
  const double t_exact = seconds([&] { exact = exact_ot(Tensor(), Tensor(), p.C); });
  SinkhornOptions o;
  o.epsilon = epsilon;
  o.tolerance = kTolerance;
  SinkhornResult plain, logd, logd_scaled;
  const double t_plain = seconds([&] { plain = sinkhorn(Tensor(), Tensor(), p.C, o); });
  o.epsilon_scaling = false;
  const double t_log = seconds([&] { logd = sinkhorn_log(Tensor(), Tensor(), p.C, o); });
  o.epsilon_scaling = true;
  const double t_log_scaled = seconds([&] { logd_scaled = sinkhorn_log(Tensor(), Tensor(), p.C, o); });
  auto entry = [](const char* name, double t, double cost, int64_t it, bool last) {
    std::printf("\"%s\": {\"seconds\": %.6f, \"cost\": %.17g, \"iterations\": %lld}%s", name, t, cost, (long long)it,
                last ? "" : ", ");
  };
  std::printf("{\"cpu\": \"%s\", \"n\": %lld, \"d\": %lld, \"epsilon\": %g, \"tolerance\": %g, ",
              cpu_summary().c_str(), (long long)n, (long long)d, epsilon, kTolerance);
  entry("exact", t_exact, exact.cost, exact.iterations, false);
  entry("sinkhorn", t_plain, plain.cost, plain.iterations, false);
  entry("sinkhorn_log", t_log, logd.cost, logd.iterations, false);
  entry("sinkhorn_log_eps_scaling", t_log_scaled, logd_scaled.cost, logd_scaled.iterations, true);
  std::printf("}\n");
  return 0;
}

void BM_ExactOT(benchmark::State& state) {
  const Problem p = make_problem(state.range(0), state.range(1), 1);
  for (auto _ : state) benchmark::DoNotOptimize(exact_ot(Tensor(), Tensor(), p.C).cost);
}
BENCHMARK(BM_ExactOT)->Args({500, 2})->Args({500, 10})->Args({2000, 2})->Unit(benchmark::kMillisecond);

void BM_SinkhornLog(benchmark::State& state) {
  const Problem p = make_problem(state.range(0), state.range(1), 1);
  SinkhornOptions o;
  o.epsilon = kEpsilon;
  o.tolerance = kTolerance;
  for (auto _ : state) benchmark::DoNotOptimize(sinkhorn_log(Tensor(), Tensor(), p.C, o).cost);
}
BENCHMARK(BM_SinkhornLog)->Args({500, 2})->Args({2000, 2})->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if ((argc == 6 || argc == 7) && std::strcmp(argv[1], "--compare") == 0)
    return compare(std::stoll(argv[2]), std::stoll(argv[3]), std::stoull(argv[4]), argv[5],
                   argc == 7 ? std::stod(argv[6]) : kEpsilon);
  benchmark::AddCustomContext("cpu", descent::cpu_summary());
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
