// Optimizer update steps on one flat float32 parameter vector: the fused named optimizers
// against the same chain run link by link (update + apply_updates), and the chains of the
// other optimizers (NAdam, RAdam, Adamax, AdaGrad, RMSProp, Adadelta), which have no
// fused form.
//   bench_optim                         Google Benchmark timings (P = 10^6)
//   bench_optim --step-times P BLOCKS   JSON lines {optimizer, form, P, seconds_per_step} (fastest
//                                       of BLOCKS blocks of 20 steps), read by bench/optim_peer.py
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "descent/core/cpu_info.hpp"
#include "descent/core/rng.hpp"
#include "descent/optim/optimizers.hpp"

using namespace descent;
using namespace descent::optim;

namespace {

struct Case {
  const char* name;
  GradientTransformation opt;
  bool has_fused = true;
};
std::vector<Case> cases() {
  // The hyper-parameters of bench/optim_peer.py.
  return {{"sgd", sgd(1e-3)},
          {"momentum", sgd(1e-3, 0.9)},
          {"adam", adam(1e-3)},
          {"adamw", adamw(1e-3, 0.9, 0.999, 1e-8, 1e-2)},
          {"lion", lion(1e-4, 0.9, 0.99, 1e-2)},
          {"nadam", nadam(2e-3), false},
          {"radam", radam(1e-3), false},
          {"adamax", adamax(2e-3), false},
          {"adagrad", adagrad(1e-2), false},
          {"rmsprop", rmsprop(1e-2), false},
          {"adadelta", adadelta(1.0), false}};
}

// CPU time of this process (the machine is shared: wall time would count other jobs' turns;
// bench/optim_peer.py times torch with time.process_time the same way).
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// One step: the fused kernel (step) or the chain link by link (update, then apply_updates).
void one_step(const GradientTransformation& opt, bool fused, Tensor& theta, const Tensor& grad, Tensor& buffer,
              State& state) {
  if (fused) {
    // sgd/adam/adamw/lion's fused step reads the gradient and does not write it, so the same
    // gradient serves every step (as p.grad does for torch).
    opt.step(theta, const_cast<Tensor&>(grad), state);
  } else {
    buffer.copy_from(grad);  // the chain writes the update into the gradient buffer
    opt.update(buffer, state, theta);
    apply_updates(theta, buffer);
  }
}

double seconds_per_step(const GradientTransformation& opt, bool fused, int64_t p, int blocks) {
  Rng rng(0);
  Tensor theta = rng.normal_tensor({p}, DType::f32);
  Tensor grad = rng.normal_tensor({p}, DType::f32, 0.0, 1e-3);
  Tensor buffer = Tensor::empty({p}, DType::f32);
  State state = opt.init(theta);
  for (int i = 0; i < 10; ++i) one_step(opt, fused, theta, grad, buffer, state);
  constexpr int kPerBlock = 20;
  std::vector<double> times;
  for (int b = 0; b < blocks; ++b) {
    const double t0 = cpu_seconds();
    for (int i = 0; i < kPerBlock; ++i) one_step(opt, fused, theta, grad, buffer, state);
    times.push_back((cpu_seconds() - t0) / kPerBlock);
  }
  return *std::min_element(times.begin(), times.end());  // the least disturbed block
}

// The copy of the gradient into the working buffer, timed alone so it can be subtracted.
double copy_seconds(int64_t p, int blocks) {
  Tensor a = Tensor::ones({p}, DType::f32), b = Tensor::empty({p}, DType::f32);
  std::vector<double> times;
  for (int k = 0; k < blocks; ++k) {
    const double t0 = cpu_seconds();
    for (int i = 0; i < 20; ++i) b.copy_from(a);
    benchmark::DoNotOptimize(b.raw());
    times.push_back((cpu_seconds() - t0) / 20);
  }
  return *std::min_element(times.begin(), times.end());
}

void BM_Step(benchmark::State& st, const char* name, bool fused) {
  const int64_t p = st.range(0);
  for (const auto& c : cases()) {
    if (std::strcmp(c.name, name) != 0) continue;
    Rng rng(0);
    Tensor theta = rng.normal_tensor({p}, DType::f32), grad = rng.normal_tensor({p}, DType::f32, 0.0, 1e-3);
    Tensor buffer = Tensor::empty({p}, DType::f32);
    State state = c.opt.init(theta);
    for (auto _ : st) one_step(c.opt, fused, theta, grad, buffer, state);
    st.SetBytesProcessed(st.iterations() * p * 4);
  }
}
BENCHMARK_CAPTURE(BM_Step, sgd_fused, "sgd", true)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Step, sgd_chain, "sgd", false)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Step, momentum_fused, "momentum", true)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Step, momentum_chain, "momentum", false)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Step, adam_fused, "adam", true)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Step, adam_chain, "adam", false)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Step, adamw_fused, "adamw", true)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Step, adamw_chain, "adamw", false)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Step, lion_fused, "lion", true)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Step, lion_chain, "lion", false)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Step, nadam_chain, "nadam", false)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Step, radam_chain, "radam", false)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--step-times") == 0) {
    const int64_t p = std::stoll(argv[2]);
    const int blocks = std::stoi(argv[3]);
    const double copy = copy_seconds(p, blocks);
    std::printf("{\"optimizer\": \"gradient_copy\", \"form\": \"copy\", \"P\": %lld, \"seconds_per_step\": %.9g}\n",
                static_cast<long long>(p), copy);
    for (const auto& c : cases())
      for (const bool fused : {true, false}) {
        if (fused && !c.has_fused) continue;
        std::printf("{\"optimizer\": \"%s\", \"form\": \"%s\", \"P\": %lld, \"seconds_per_step\": %.9g}\n", c.name,
                    fused ? "fused" : "chain", static_cast<long long>(p), seconds_per_step(c.opt, fused, p, blocks));
      }
    return 0;
  }
  benchmark::AddCustomContext("cpu", descent::cpu_summary());
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
