// DenseChainGradient, the fused forward/backward of Linear/activation chains that
// ModelObjective uses for its gradients: equal to the autodiff graph's value and gradient for
// every activation, parameterization, bias choice and loss, to central finite differences in
// float64, in float32 to float64's, with `accumulate` adding and the objective's chunked and
// batch gradients equal to autodiff over the whole data.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/core/thread_pool.hpp"
#include "descent/nn/dense_chain_gradient.hpp"
#include "descent/nn/losses.hpp"
#include "descent/nn/model.hpp"
#include "descent/nn/objective.hpp"

using namespace descent;
using namespace descent::nn;

namespace {

// Σ_i ℓ and weight · its gradient at θ by the autodiff graph (what ModelObjective did before).
std::pair<double, Tensor> reference(Model& m, Loss loss, const Tensor& theta, const Tensor& x, const Tensor& y,
                                    double weight) {
  double value = 0;
  auto f = [&](const VarList& params) {
    ForwardContext ctx{false, nullptr};
    Var total = sum(per_example_loss(loss, m.forward(Var(x), params, ctx), y));
    value = total.item();
    return total * weight;
  };
  const auto [v, parts] = value_and_grad(f, m.parameter_views(theta));
  Tensor flat = Tensor::empty({m.num_parameters()}, m.dtype());
  const std::vector<Tensor> dst = m.parameter_views(flat);
  for (size_t i = 0; i < parts.size(); ++i) {
    Tensor d = dst[i];
    d.copy_from(parts[i]);
  }
  return {value, flat};
}

Tensor labels(int64_t n, int64_t classes) {
  Tensor y = Tensor::zeros({n}, DType::i64);
  for (int64_t i = 0; i < n; ++i) y.set(i, double((i * 7) % classes));
  return y;
}

}  // namespace

TEST(DenseChainGradient, EqualsTheAutodiffGraphForEveryActivationParameterizationAndLoss) {
  Rng rng(3);
  const Tensor x = rng.normal_tensor({13, 6}, DType::f64);
  const Tensor targets = rng.normal_tensor({13, 4}, DType::f64);
  Tensor signs = Tensor::empty({13}, DType::f64);
  for (int64_t i = 0; i < 13; ++i) signs.set(i, i % 3 == 0 ? 1.0 : -1.0);
  for (Activation a : {Activation::relu, Activation::tanh, Activation::sigmoid, Activation::gelu,
                       Activation::softplus, Activation::identity})
    for (auto p : {Parameterization::standard, Parameterization::ntk, Parameterization::mean_field})
      for (bool bias : {true, false}) {
        Model m = mlp(6, 4,
                      MlpOptions{.hidden = {5, 7}, .activation = a, .parameterization = p, .bias_std = 0.3,
                                 .bias = bias},
                      DType::f64);
        m.initialize(11);
        Model scalar = mlp(6, 1, MlpOptions{.hidden = {5}, .activation = a, .parameterization = p, .bias = bias},
                           DType::f64);
        scalar.initialize(12);
        struct Case {
          Model* model;
          Loss loss;
          Tensor y;
        };
        for (const Case& c : {Case{&m, Loss::softmax_cross_entropy, labels(13, 4)},
                              Case{&m, Loss::mean_squared_error, targets},
                              Case{&scalar, Loss::binary_logistic, signs}}) {
          const Tensor theta = c.model->parameters();
          const auto [value, expected] = reference(*c.model, c.loss, theta, x, c.y, 0.3);
          DenseChainGradient fused(*c.model, c.loss);
          Tensor g = Tensor::full({c.model->num_parameters()}, 7.0, DType::f64);  // overwritten
          Tensor outputs;
          const double got = fused.value_and_gradient(theta, x, c.y, 0.3, g, false, &outputs);
          ASSERT_GT(norm(expected), 1e-6);  // not vacuous
          EXPECT_NEAR(got, value, 1e-12 * std::abs(value)) << c.model->describe() << " " << loss_name(c.loss);
          EXPECT_LE(max_relative_difference(g, expected, 1e-12), 1e-11)
              << c.model->describe() << " " << loss_name(c.loss);
          EXPECT_LE(max_relative_difference(outputs, c.model->predict(x), 1e-12), 1e-12);
          // accumulate = true adds: g + g = 2 g.
          fused.value_and_gradient(theta, x, c.y, 0.3, g, true);
          EXPECT_LE(max_relative_difference(g, mul(expected, 2.0), 1e-12), 1e-11);
        }
      }
}

TEST(DenseChainGradient, MatchesCentralFiniteDifferencesInFloat64) {
  Rng rng(5);
  const Tensor x = rng.normal_tensor({9, 5}, DType::f64);
  const Tensor y = labels(9, 3);
  for (Activation a : {Activation::relu, Activation::tanh}) {
    Model m = mlp(5, 3, MlpOptions{.hidden = {6, 4}, .activation = a, .bias_std = 0.2}, DType::f64);
    m.initialize(4);
    DenseChainGradient fused(m, Loss::softmax_cross_entropy);
    const Tensor theta = m.parameters().clone();
    const int64_t p = m.num_parameters();
    Tensor g = Tensor::empty({p}, DType::f64), scratch = g.clone();
    fused.value_and_gradient(theta, x, y, 1.0, g, false);
    double worst = 0;
    for (int64_t i = 0; i < p; ++i) {
      const double h = 1e-6;
      Tensor plus = theta.clone(), minus = theta.clone();
      plus.set(i, theta.at(i) + h);
      minus.set(i, theta.at(i) - h);
      const double fd = (fused.value_and_gradient(plus, x, y, 1.0, scratch, false) -
                         fused.value_and_gradient(minus, x, y, 1.0, scratch, false)) /
                        (2 * h);
      worst = std::max(worst, std::abs(fd - g.at(i)) / std::max(1.0, std::abs(g.at(i))));
    }
    EXPECT_LE(worst, 1e-7) << "activation " << int(a);
  }
}

TEST(DenseChainGradient, Float32AgreesWithFloat64) {
  Rng rng(6);
  const Tensor x64 = rng.normal_tensor({40, 12}, DType::f64);
  const Tensor y = labels(40, 5);
  Model m64 = mlp(12, 5, MlpOptions{.hidden = {16, 16}}, DType::f64);
  Model m32 = mlp(12, 5, MlpOptions{.hidden = {16, 16}}, DType::f32);
  m64.initialize(1);
  m32.initialize(1);
  const Tensor theta32 = m64.parameters().astype(DType::f32);
  Tensor g64 = Tensor::empty({m64.num_parameters()}, DType::f64), g32 = Tensor::empty({m32.num_parameters()}, DType::f32);
  const double v64 = DenseChainGradient(m64, Loss::softmax_cross_entropy)
                         .value_and_gradient(m64.parameters(), x64, y, 1.0 / 40, g64, false);
  const double v32 = DenseChainGradient(m32, Loss::softmax_cross_entropy)
                         .value_and_gradient(theta32, x64.astype(DType::f32), y, 1.0 / 40, g32, false);
  EXPECT_NEAR(v32, v64, 1e-5 * std::abs(v64));
  EXPECT_LE(max_relative_difference(g32.astype(DType::f64), g64, 1e-3), 1e-4);
}

TEST(DenseChainGradient, ObjectiveGradientsEqualAutodiffOverAllData) {
  // ModelObjective takes the fused path for MLPs: chunked full-data gradients (chunks that do
  // not divide n) and a gathered batch must equal the graph's.
  Rng rng(7);
  const Tensor x = rng.normal_tensor({23, 6}, DType::f64);
  const Tensor y = labels(23, 4);
  Model m = mlp(6, 4, MlpOptions{.hidden = {8}, .activation = Activation::tanh}, DType::f64);
  m.initialize(2);
  ModelObjective f(m, Loss::softmax_cross_entropy, x, y, /*chunk_size=*/5);
  const Tensor theta = m.parameters();
  Tensor g = Tensor::empty({m.num_parameters()}, DType::f64);
  const double value = f.value_and_gradient(theta, g);
  const auto [total, expected] = reference(m, Loss::softmax_cross_entropy, theta, x, y, 1.0 / 23);
  EXPECT_NEAR(value, total / 23, 1e-13);
  EXPECT_LE(max_relative_difference(g, expected, 1e-12), 1e-11);
  const std::vector<int64_t> batch = {4, 17, 2, 9};
  const Tensor xb = index_select(x, 0, Tensor::from_vector<int64_t>(batch, {4}));
  const Tensor yb = index_select(y, 0, Tensor::from_vector<int64_t>(batch, {4}));
  const double bv = f.batch_value_and_gradient(theta, batch, g);
  const auto [btotal, bexpected] = reference(m, Loss::softmax_cross_entropy, theta, xb, yb, 1.0 / 4);
  EXPECT_NEAR(bv, btotal / 4, 1e-13);
  EXPECT_LE(max_relative_difference(g, bexpected, 1e-12), 1e-11);
  EXPECT_EQ(f.last_outputs().dim(0), 4);
}

TEST(DenseChainGradient, RefusesOtherModelsAndBadLabels) {
  Model cnn = small_cnn({1, 28, 28}, 10, CnnOptions{.channels1 = 2, .channels2 = 2, .hidden = 4}, DType::f64);
  EXPECT_THROW(DenseChainGradient(cnn, Loss::softmax_cross_entropy), InputError);
  Model m = mlp(3, 2, MlpOptions{.hidden = {4}}, DType::f64);
  DenseChainGradient fused(m, Loss::softmax_cross_entropy);
  Tensor g = Tensor::empty({m.num_parameters()}, DType::f64);
  Tensor bad = labels(2, 2);
  bad.set(1, 2.0);
  EXPECT_THROW(fused.value_and_gradient(m.parameters(), Tensor::zeros({2, 3}, DType::f64), bad, 1.0, g, false),
               InputError);
}

TEST(DenseChainGradient, BitwiseReproduciblePerThreadCountAndCloseAcrossCounts) {
  // The 784-256-256-10 batch-128 step's products go to the BLAS's threads when there are two:
  // the same gradient bit for bit on every call with a given count, and within float rounding
  // of the one-thread gradient.
  Rng rng(8);
  const Tensor x = rng.normal_tensor({128, 784}, DType::f32);
  const Tensor y = labels(128, 10);
  Model m = mlp(784, 10, MlpOptions{.hidden = {256, 256}}, DType::f32);
  m.initialize(0);
  DenseChainGradient fused(m, Loss::softmax_cross_entropy);
  const int before = blas_threads();
  auto gradient = [&](int threads) {
    set_blas_threads(threads);
    Tensor g = Tensor::empty({m.num_parameters()}, DType::f32);
    fused.value_and_gradient(m.parameters(), x, y, 1.0 / 128, g, false);
    return g;
  };
  const Tensor one = gradient(1), one_again = gradient(1), two = gradient(2), two_again = gradient(2);
  set_blas_threads(before);
  EXPECT_EQ(max_relative_difference(one, one_again, 1e-30), 0.0);
  EXPECT_EQ(max_relative_difference(two, two_again, 1e-30), 0.0);
  Tensor difference = one.clone();
  axpy(difference, -1.0, two);
  EXPECT_LE(norm(difference) / norm(one), 1e-5);
}
