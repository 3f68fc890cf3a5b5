// Black-box optimizers: Google Benchmark timings (CMA-ES ask+tell per generation, GP fit and
// BO proposal), plus a run mode used by bench/blackbox_cmaes_peer.py and
// bench/blackbox_bo_peer.py:
//   blackbox --cmaes-runs FUNCTION SEEDS      JSON lines {seed, evaluations, f, ...}
//   blackbox --bo-runs FUNCTION SEEDS BUDGET  JSON lines {seed, regret curve}
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include <time.h>

#include "descent/core/cpu_info.hpp"
#include "descent/blackbox/bayesopt.hpp"
#include "descent/blackbox/cmaes.hpp"
#include "descent/blackbox/functions.hpp"

using namespace descent::blackbox;

namespace {

Function cmaes_function(const std::string& name) {
  if (name == "sphere") return sphere;
  if (name == "ellipsoid") return [](const Vector& x) { return ellipsoid(x, 1e6); };
  if (name == "rosenbrock") return rosenbrock;
  descent::fail<descent::InputError>("unknown function '{}'", name);
}

// CPU seconds of this thread: unlike wall-clock time, it does not count the time the thread
// is descheduled, which on a shared machine dominates a 5-microsecond generation.
double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// The protocol: n = 10, x0 ~ U[-3,3]^10, sigma0 = 2, stop at f - f* <= 1e-8.
int cmaes_runs(const std::string& fname, int seeds) {
  const Function f = cmaes_function(fname);
  for (int s = 0; s < seeds; ++s) {
    descent::Rng rng(1000 + s);
    Vector x0(10);
    for (auto& v : x0) v = rng.uniform(-3.0, 3.0);
    CmaesOptions o;
    o.seed = s;
    Cmaes es(x0, 2.0, o);
    int64_t evals = 0, gens = 0;
    double best = INFINITY;
    double ask_tell_seconds = 0.0, ask_tell_cpu_seconds = 0.0;
    std::vector<double> fs;
    while (best > 1e-8 && evals < 200000 && !es.should_stop()) {
      const double c0 = thread_seconds();
      const auto t0 = std::chrono::steady_clock::now();
      auto xs = es.ask();
      const auto t1 = std::chrono::steady_clock::now();
      const double c1 = thread_seconds();
      fs.resize(xs.size());
      for (size_t i = 0; i < xs.size(); ++i) fs[i] = f(xs[i]);
      const double c2 = thread_seconds();
      const auto t2 = std::chrono::steady_clock::now();
      es.tell(xs, fs);
      const auto t3 = std::chrono::steady_clock::now();
      const double c3 = thread_seconds();
      ask_tell_seconds += std::chrono::duration<double>(t1 - t0 + t3 - t2).count();
      ask_tell_cpu_seconds += (c1 - c0) + (c3 - c2);
      ++gens;
      for (double v : fs) {  // the evaluation at which the target is first reached
        ++evals;
        best = std::min(best, v);
        if (best <= 1e-8) break;
      }
    }
    std::printf(
        "{\"seed\": %d, \"evaluations\": %lld, \"generations\": %lld, \"f\": %.6e, \"ask_tell_us_per_gen\": %.3f, "
        "\"ask_tell_wall_us_per_gen\": %.3f}\n",
        s, (long long)evals, (long long)gens, best, 1e6 * ask_tell_cpu_seconds / double(gens),
        1e6 * ask_tell_seconds / double(gens));
  }
  return 0;
}

int bo_runs(const std::string& fname, int seeds, int budget, const std::string& acquisition) {
  const Benchmark b = make_benchmark(fname, 0);
  for (int s = 0; s < seeds; ++s) {
    BayesOptOptions o;
    o.seed = s;
    o.acquisition = parse_acquisition(acquisition);
    BayesianOptimizer bo(b.bounds, o);
    MinimizeOptions mo;
    mo.max_evaluations = budget;
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = minimize(bo, b.f, mo);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"seed\": %d, \"seconds\": %.3f, \"regret\": [", s, secs);
    for (size_t i = 0; i < r.best_so_far.size(); ++i)
      std::printf("%s%.9e", i ? ", " : "", r.best_so_far[i] - b.f_star);
    std::printf("]}\n");
  }
  return 0;
}

void BM_CmaesAskTell(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  CmaesOptions o;
  o.seed = 1;
  Cmaes es(Vector::Constant(n, 1.0), 0.5, o);
  std::vector<double> fs;
  for (auto _ : state) {
    auto xs = es.ask();
    fs.resize(xs.size());
    for (size_t i = 0; i < xs.size(); ++i) fs[i] = sphere(xs[i]);
    es.tell(xs, fs);
    if (es.should_stop()) {
      state.PauseTiming();
      es = Cmaes(Vector::Constant(n, 1.0), 0.5, o);
      state.ResumeTiming();
    }
  }
  state.SetLabel("one generation (ask + lambda sphere evaluations + tell)");
}
BENCHMARK(BM_CmaesAskTell)->Arg(10)->Arg(40)->Arg(100)->Unit(benchmark::kMicrosecond);

void BM_BayesOptProposal(benchmark::State& state) {
  // One BO step with n observations of Hartmann-6: hyper-parameter fit + EI maximization.
  const int n = static_cast<int>(state.range(0));
  const Benchmark b = make_benchmark("hartmann6", 6);
  for (auto _ : state) {
    state.PauseTiming();
    BayesOptOptions o;
    o.seed = 3;
    o.initial_points = n;
    BayesianOptimizer bo(b.bounds, o);
    auto xs = bo.ask();
    std::vector<double> fs;
    for (auto& x : xs) fs.push_back(b.f(x));
    bo.tell(xs, fs);
    state.ResumeTiming();
    benchmark::DoNotOptimize(bo.ask());
  }
}
BENCHMARK(BM_BayesOptProposal)->Arg(10)->Arg(30)->Arg(50)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 4 && std::strcmp(argv[1], "--cmaes-runs") == 0) return cmaes_runs(argv[2], std::atoi(argv[3]));
    if (argc >= 5 && std::strcmp(argv[1], "--bo-runs") == 0)
      return bo_runs(argv[2], std::atoi(argv[3]), std::atoi(argv[4]), argc >= 6 ? argv[5] : "ei");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "blackbox bench: %s\n", e.what());
    return 1;
  }
  benchmark::AddCustomContext("cpu", descent::cpu_summary());
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
