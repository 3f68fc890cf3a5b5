// One training step of `descent train` (forward, backward, momentum-SGD update) on an MLP,
// for the two shapes of issue 7: 784-256-256-10 at batch 128 (compute-bound) and
// 784-32-32-10 at batch 32 (per-operation overhead dominates). bench/train_peer.py runs
// the same steps in PyTorch and prints the ratio. BM_TrainStepThreads: 1 vs 2 threads.
#include <benchmark/benchmark.h>

#include <numeric>

#include "descent/core/cpu_info.hpp"
#include "descent/core/rng.hpp"
#include "descent/core/thread_pool.hpp"
#include "descent/nn/objective.hpp"
#include "descent/optim/optimizers.hpp"

namespace {
using namespace descent;

void train_steps(benchmark::State& state, int threads) {
  const int64_t hidden = state.range(0), batch = state.range(1), n = 60 * batch;
  set_blas_threads(threads);
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
void BM_TrainStep(benchmark::State& state) { train_steps(state, 1); }
BENCHMARK(BM_TrainStep)->Args({256, 128})->Args({32, 32})->Unit(benchmark::kMicrosecond);

// Intra-op threads (the BLAS's, for products too large for one libxsmm kernel): wall time per
// step with 1 and 2 threads; the third argument is the thread count. Results are bitwise
// reproducible for a given count (tests/nn/test_dense_chain_gradient.cpp).
void BM_TrainStepThreads(benchmark::State& state) { train_steps(state, int(state.range(2))); }
BENCHMARK(BM_TrainStepThreads)->Args({256, 128, 1})->Args({256, 128, 2})->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::AddCustomContext("cpu", descent::cpu_summary());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
