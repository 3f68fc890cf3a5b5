// The CNN of `descent train --model cnn` (conv5-relu-maxpool2 twice, Linear 256, Linear 10,
// Fashion-MNIST-shaped 1×28×28 inputs, float32): one training step (forward, backward,
// momentum-SGD update) at batch 128, and one exact Hessian-vector product of the mean loss
// over 128 examples, for channels c1/c2 = 16/32 (the README's) and 32/64 (the default).
// bench/cnn_peer.py runs the same work in PyTorch and prints the ratios; the figures' CPU
// and instruction sets are in the JSON context ("cpu").
//
// Arguments: c1, c2, threads (OpenBLAS and oneDNN). With one thread, compare cpu_time; with
// two, real_time against the one-thread run.
#include <benchmark/benchmark.h>

#include <numeric>

#include "descent/core/cpu_info.hpp"
#include "descent/core/rng.hpp"
#include "descent/core/thread_pool.hpp"
#include "descent/nn/objective.hpp"
#include "descent/optim/optimizers.hpp"
#include "descent/probe/model_hessian.hpp"

namespace {
using namespace descent;

constexpr int64_t kBatch = 128;

struct CnnSetup {
  nn::Model model;
  Tensor x, y;
  CnnSetup(int64_t c1, int64_t c2, int64_t n)
      : model(nn::small_cnn(Shape{1, 28, 28}, 10, nn::CnnOptions{.channels1 = c1, .channels2 = c2})) {
    model.initialize(0);
    Rng rng(0);
    x = rng.normal_tensor({n, 1, 28, 28}, DType::f32);
    y = Tensor::empty({n}, DType::i64);
    for (int64_t i = 0; i < n; ++i) y.data<int64_t>()[i] = static_cast<int64_t>(rng.below(10));
  }
};

void BM_CnnStep(benchmark::State& state) {
  set_blas_threads(int(state.range(2)));
  CnnSetup s(state.range(0), state.range(1), 10 * kBatch);
  nn::ModelObjective objective(s.model, nn::Loss::softmax_cross_entropy, s.x, s.y);
  const auto optimizer = optim::sgd(0.01, 0.9);
  optim::State opt_state = optimizer.init(s.model.parameters());
  Tensor gradient = Tensor::zeros({s.model.num_parameters()}, DType::f32);
  std::vector<int64_t> indices(static_cast<size_t>(kBatch));
  int64_t step = 0;
  for (auto _ : state) {
    std::iota(indices.begin(), indices.end(), (step++ % 10) * kBatch);
    objective.batch_value_and_gradient(s.model.parameters(), indices, gradient);
    optimizer.step(s.model.parameters(), gradient, opt_state);
  }
  state.counters["examples_per_second"] =
      benchmark::Counter(static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

// H v of the mean loss over 128 examples: ModelObjective's product (everything recomputed
// per product), and ModelHessianOperator's (what the probes use: the v-independent state of
// the first product kept for the next).
void BM_CnnHvp(benchmark::State& state) {
  set_blas_threads(int(state.range(2)));
  CnnSetup s(state.range(0), state.range(1), kBatch);
  nn::ModelObjective objective(s.model, nn::Loss::softmax_cross_entropy, s.x, s.y, kBatch);
  Rng rng(1);
  const Tensor v = rng.normal_tensor({s.model.num_parameters()}, DType::f32);
  Tensor hv = Tensor::zeros({s.model.num_parameters()}, DType::f32);
  for (auto _ : state) objective.hessian_vector_product(s.model.parameters(), v, hv);
}

void BM_CnnHvpOperator(benchmark::State& state) {
  set_blas_threads(int(state.range(2)));
  CnnSetup s(state.range(0), state.range(1), kBatch);
  nn::ModelObjective objective(s.model, nn::Loss::softmax_cross_entropy, s.x, s.y, kBatch);
  probe::ModelHessianOperator h(objective, s.model.parameters(), size_t(1) << 30, kBatch);
  Rng rng(1);
  const Tensor v = rng.normal_tensor({s.model.num_parameters()}, DType::f32);
  Tensor hv = Tensor::zeros({s.model.num_parameters()}, DType::f32);
  h.apply(v, hv);  // the first product fills the cache
  for (auto _ : state) h.apply(v, hv);
}

BENCHMARK(BM_CnnStep)->Args({16, 32, 1})->Args({32, 64, 1})->Args({16, 32, 2})->Args({32, 64, 2})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CnnHvp)->Args({16, 32, 1})->Args({32, 64, 1})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CnnHvpOperator)->Args({16, 32, 1})->Args({32, 64, 1})->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::AddCustomContext("cpu", descent::cpu_summary());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
