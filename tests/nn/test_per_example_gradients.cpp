// ModelObjective::per_example_gradients: the outer-product path for Linear/activation chains
// must equal the generic path (one backward pass per example) for every parameterization,
// with and without bias, for cross-entropy and squared error; other models fall back.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/core/rng.hpp"
#include "descent/nn/model.hpp"
#include "descent/nn/objective.hpp"

using namespace descent;
using namespace descent::nn;

namespace {

double max_abs_difference(const Tensor& a, const Tensor& b) {
  double worst = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) worst = std::max(worst, std::abs(a.at(i) - b.at(i)));
  return worst;
}

void expect_fast_equals_generic(Model& m, Loss loss, const Tensor& x, const Tensor& y, double tol) {
  ModelObjective f(m, loss, x, y);
  const std::vector<int64_t> idx = {3, 0, 5, 5, 1};
  const int64_t b = int64_t(idx.size()), P = m.num_parameters();
  Tensor fast = Tensor::zeros({b, P}, m.dtype()), generic = Tensor::zeros({b, P}, m.dtype());
  f.per_example_gradients(m.parameters(), idx, fast);
  f.Objective::per_example_gradients(m.parameters(), idx, generic);
  EXPECT_LE(max_abs_difference(fast, generic), tol) << m.describe();
  // Not vacuous: the gradients are not zero and differ between examples.
  EXPECT_GT(max_abs_difference(fast.row(0), Tensor::zeros({P}, m.dtype())), 1e-3);
  EXPECT_GT(max_abs_difference(fast.row(0), fast.row(1)), 1e-3);
}

}  // namespace

TEST(PerExampleGradients, LinearChainEqualsOneBackwardPerExample) {
  Rng rng(7);
  const Tensor x = rng.normal_tensor({8, 6}, DType::f64);
  Tensor labels = Tensor::zeros({8}, DType::i64);
  for (int64_t i = 0; i < 8; ++i) labels.set(i, double(i % 4));
  const Tensor targets = rng.normal_tensor({8, 4}, DType::f64);
  for (auto p : {Parameterization::standard, Parameterization::ntk, Parameterization::mean_field})
    for (bool bias : {true, false}) {
      Model m = mlp(6, 4, MlpOptions{.hidden = {5, 7}, .activation = Activation::tanh, .parameterization = p,
                                     .bias_std = 0.3, .bias = bias},
                    DType::f64);
      m.initialize(11);
      expect_fast_equals_generic(m, Loss::softmax_cross_entropy, x, labels, 1e-12);
      expect_fast_equals_generic(m, Loss::mean_squared_error, x, targets, 1e-12);
    }
}

TEST(PerExampleGradients, Float32LinearChain) {
  Rng rng(3);
  const Tensor x = rng.normal_tensor({8, 10}, DType::f32);
  Tensor labels = Tensor::zeros({8}, DType::i64);
  for (int64_t i = 0; i < 8; ++i) labels.set(i, double(i % 3));
  Model m = mlp(10, 3, MlpOptions{.hidden = {16}}, DType::f32);
  m.initialize(2);
  expect_fast_equals_generic(m, Loss::softmax_cross_entropy, x, labels, 1e-5);
}

TEST(PerExampleGradients, ConvolutionalModelFallsBackToTheGenericPath) {
  Rng rng(5);
  const Tensor x = rng.normal_tensor({8, 1, 8, 8}, DType::f64);
  Tensor labels = Tensor::zeros({8}, DType::i64);
  for (int64_t i = 0; i < 8; ++i) labels.set(i, double(i % 2));
  Model m = small_cnn(Shape{1, 8, 8}, 2, CnnOptions{.channels1 = 2, .channels2 = 3, .hidden = 4}, DType::f64);
  m.initialize(1);
  expect_fast_equals_generic(m, Loss::softmax_cross_entropy, x, labels, 0.0);
}
