// One training step of `descent train` (forward, backward, momentum-SGD update) on an MLP,
// for the two shapes of issue 7: 784-256-256-10 at batch 128 (compute-bound) and
// 784-32-32-10 at batch 32 (per-operation overhead dominates). bench/train_peer.py runs
// the same steps in PyTorch and prints the ratio.
#include <benchmark/benchmark.h>

#include <numeric>

#include "descent/core/cpu_info.hpp"
#include "descent/core/rng.hpp"
#include "descent/core/thread_pool.hpp"
#include "descent/nn/objective.hpp"
#include "descent/optim/optimizers.hpp"

namespace {
using namespace descent;

void BM_TrainStep(benchmark::State& state) {
  const int64_t hidden = state.range(0), batch = state.range(1), n = 60 * batch;
  set_blas_threads(1);
  Rng rng(0);
  Tensor x = rng.normal_tensor({n, 784}, DType::f32);
  Tensor y = Tensor::empty({n}, DType::i64);
  for (int64_t i = 0; i < n; ++i) y.data<int64_t>()[i] = static_cast<int64_t>(rng.below(10));
  nn::Model model = nn::mlp(784, 10, nn::MlpOptions{.hidden = {hidden, hidden}});
  model.initialize(0);
  nn::ModelObjective objective(model, nn::Loss::softmax_cross_entropy, x, y);
  const auto optimizer = optim::sgd(0.01, 0.9);
  optim::State opt_state = optimizer.init(model.parameters());
  Tensor gradient = Tensor::zeros({model.num_parameters()}, DType::f32);
  std::vector<int64_t> indices(static_cast<size_t>(batch));
  int64_t step = 0;
  for (auto _ : state) {
    std::iota(indices.begin(), indices.end(), (step++ % 60) * batch);
    objective.batch_value_and_gradient(model.parameters(), indices, gradient);
    optimizer.step(model.parameters(), gradient, opt_state);
  }
  state.counters["examples_per_second"] =
      benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_TrainStep)->Args({256, 128})->Args({32, 32})->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::AddCustomContext("cpu", descent::cpu_summary());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
