// nn: layers, losses and the model objective, checked against finite differences and
// closed forms in float64.
#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/ops.hpp"
#include "descent/nn/objective.hpp"

namespace descent::nn {
namespace {

// Five-point central differences of f along every coordinate of θ (float64): truncation
// O(h⁴), round-off O(ε/h), both far below the 1e-6 tolerance at h = 1e-3.
Tensor numeric_gradient(Objective& f, const Tensor& theta, double h = 1e-3) {
  Tensor g = Tensor::zeros(theta.shape(), theta.dtype());
  Tensor t = theta.clone();
  auto at = [&](int64_t i, double x) {
    t.set(i, x);
    return f.value(t);
  };
  for (int64_t i = 0; i < theta.numel(); ++i) {
    const double x = t.at(i);
    const double d = (-at(i, x + 2 * h) + 8 * at(i, x + h) - 8 * at(i, x - h) + at(i, x - 2 * h)) / (12 * h);
    t.set(i, x);
    g.set(i, d);
  }
  return g;
}

Tensor random_inputs(const Shape& s, uint64_t seed) { return Rng(seed).normal_tensor(s, DType::f64); }

Tensor random_labels(int64_t n, int64_t k, uint64_t seed) {
  Rng rng(seed);
  Tensor y = Tensor::empty({n}, DType::i64);
  for (int64_t i = 0; i < n; ++i) y.data<int64_t>()[i] = static_cast<int64_t>(rng.below(static_cast<uint64_t>(k)));
  return y;
}

void expect_gradient_matches(ModelObjective& objective, double tolerance = 1e-6) {
  Tensor theta = objective.model().parameters();
  Tensor g = Tensor::empty(theta.shape(), DType::f64);
  objective.value_and_gradient(theta, g);
  Tensor numeric = numeric_gradient(objective, theta);
  EXPECT_LT(max_relative_difference(g, numeric, 1e-6), tolerance);
}

TEST(Model, ParameterLayoutIsContiguousAndViewsShareStorage) {
  Model m = mlp(5, 3, MlpOptions{.hidden = {4}}, DType::f64);
  ASSERT_EQ(m.num_parameters(), 5 * 4 + 4 + 4 * 3 + 3);
  const auto& info = m.parameters_info();
  ASSERT_EQ(info.size(), 4u);
  EXPECT_EQ(info[0].name, "0.weight");
  EXPECT_EQ(info[1].offset, 20);
  EXPECT_EQ(info[3].name, "2.bias");
  m.initialize(7);
  auto views = m.parameter_views(m.parameters());
  views[2].set(0, 42.0);
  EXPECT_EQ(m.parameters().at(info[2].offset), 42.0);
}

TEST(Model, InitializationIsAFunctionOfTheSeed) {
  Model a = mlp(6, 2, {}, DType::f32), b = mlp(6, 2, {}, DType::f32);
  a.initialize(3);
  b.initialize(3);
  EXPECT_EQ(max_relative_difference(a.parameters(), b.parameters()), 0.0);
  b.initialize(4);
  EXPECT_GT(max_relative_difference(a.parameters(), b.parameters()), 0.1);
}

TEST(Model, WrongInputShapeIsAClearError) {
  Model m = mlp(5, 3, MlpOptions{.hidden = {4}}, DType::f64);
  try {
    m.predict(Tensor::zeros({2, 6}, DType::f64));
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[5]"), std::string::npos) << e.what();
  }
}

class MlpGradient : public ::testing::TestWithParam<std::tuple<Activation, Parameterization>> {};

TEST_P(MlpGradient, MatchesFiniteDifferences) {
  auto [activation, parameterization] = GetParam();
  Model m = mlp(4, 3, MlpOptions{.hidden = {5, 4}, .activation = activation, .parameterization = parameterization, .bias_std = 0.5},
                DType::f64);
  m.initialize(11);
  ModelObjective f(m, Loss::softmax_cross_entropy, random_inputs({7, 4}, 1), random_labels(7, 3, 2), 3);
  expect_gradient_matches(f);
}

INSTANTIATE_TEST_SUITE_P(Activations, MlpGradient,
                         ::testing::Combine(::testing::Values(Activation::tanh, Activation::sigmoid, Activation::gelu,
                                                              Activation::softplus, Activation::erf),
                                            ::testing::Values(Parameterization::standard, Parameterization::ntk,
                                                              Parameterization::mean_field)));

TEST(Losses, ClosedForms) {
  // Cross-entropy at zero logits is log K; the squared error is ½‖f − y‖².
  Var logits(Tensor::zeros({2, 4}, DType::f64));
  Tensor labels = Tensor::from_vector(std::vector<int64_t>{1, 3}, {2});
  EXPECT_NEAR(mean_loss(Loss::softmax_cross_entropy, logits, labels).item(), std::log(4.0), 1e-14);
  Var out(Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2}));
  Tensor targets = Tensor::from_vector(std::vector<double>{0, 2, 3, 6}, {2, 2});
  Tensor per = per_example_loss(Loss::mean_squared_error, out, targets).value();
  EXPECT_DOUBLE_EQ(per.at(0), 0.5);
  EXPECT_DOUBLE_EQ(per.at(1), 2.0);
  // Margin losses at margin y f = 2 (labels given as 0/1 are read as ∓1).
  Var scores(Tensor::from_vector(std::vector<double>{2, -2}, {2}));
  Tensor y = Tensor::from_vector(std::vector<double>{1, 0}, {2});
  EXPECT_NEAR(per_example_loss(Loss::binary_logistic, scores, y).value().at(1), std::log1p(std::exp(-2.0)), 1e-15);
  EXPECT_NEAR(per_example_loss(Loss::exponential, scores, y).value().at(0), std::exp(-2.0), 1e-15);
  EXPECT_EQ(per_example_loss(Loss::hinge, scores, y).value().at(0), 0.0);
}

TEST(Losses, CrossEntropyIsStableForHugeLogits) {
  Var logits(Tensor::from_vector(std::vector<double>{1000, -1000, 0}, {1, 3}));
  Tensor labels = Tensor::from_vector(std::vector<int64_t>{1}, {1});
  EXPECT_NEAR(mean_loss(Loss::softmax_cross_entropy, logits, labels).item(), 2000.0, 1e-9);
}

TEST(Losses, BadLabelsAreRefused) {
  Var logits(Tensor::zeros({2, 3}, DType::f64));
  EXPECT_THROW(mean_loss(Loss::softmax_cross_entropy, logits, Tensor::from_vector(std::vector<int64_t>{0, 3}, {2})),
               InputError);
  Var scores(Tensor::zeros({2}, DType::f64));
  EXPECT_THROW(mean_loss(Loss::hinge, scores, Tensor::from_vector(std::vector<double>{1, 2}, {2})), InputError);
}

TEST(Layers, MarginLossGradientsMatchFiniteDifferences) {
  for (Loss loss : {Loss::binary_logistic, Loss::exponential, Loss::mean_squared_error}) {
    Model m = mlp(3, 1, MlpOptions{.hidden = {4}, .activation = Activation::tanh}, DType::f64);
    m.initialize(5);
    Tensor y = Tensor::from_vector(std::vector<double>{1, -1, 1, 1, -1}, {5});
    ModelObjective f(m, loss, random_inputs({5, 3}, 9), y);
    expect_gradient_matches(f);
  }
}

TEST(Layers, ConvolutionPoolingAndNormalizationGradients) {
  std::vector<LayerPtr> layers;
  layers.push_back(std::make_unique<Conv2d>(2, 3, Conv2d::Options{.stride = 1, .padding = 1}));
  layers.push_back(std::make_unique<LayerNorm>());
  layers.push_back(std::make_unique<ActivationLayer>(Activation::tanh));
  layers.push_back(std::make_unique<Pool2d>(Pool2d::Kind::average, 2));
  layers.push_back(std::make_unique<Conv2d>(3, 2, Conv2d::Options{.stride = 1, .padding = 0}));
  layers.push_back(std::make_unique<Pool2d>(Pool2d::Kind::max, 1));
  layers.push_back(std::make_unique<Flatten>());
  std::vector<LayerPtr> block;
  block.push_back(std::make_unique<Linear>(3));
  block.push_back(std::make_unique<ActivationLayer>(Activation::softplus));
  layers.push_back(std::make_unique<Linear>(3));
  layers.push_back(std::make_unique<Residual>(std::move(block)));
  Model m(Shape{2, 6, 6}, std::move(layers), DType::f64);
  m.initialize(21);
  EXPECT_EQ(m.output_shape(), Shape{3});
  ModelObjective f(m, Loss::softmax_cross_entropy, random_inputs({4, 2, 6, 6}, 3), random_labels(4, 3, 4));
  expect_gradient_matches(f, 1e-5);
}

TEST(Layers, MaxPoolGradientAwayFromTies) {
  std::vector<LayerPtr> layers;
  layers.push_back(std::make_unique<Pool2d>(Pool2d::Kind::max, 2));
  layers.push_back(std::make_unique<Flatten>());
  layers.push_back(std::make_unique<Linear>(2));
  Model m(Shape{1, 4, 4}, std::move(layers), DType::f64);
  m.initialize(2);
  ModelObjective f(m, Loss::softmax_cross_entropy, random_inputs({3, 1, 4, 4}, 8), random_labels(3, 2, 1));
  expect_gradient_matches(f);
}

TEST(Layers, BatchNormUsesBatchStatisticsInTrainingAndRunningOnesInEvaluation) {
  std::vector<LayerPtr> layers;
  layers.push_back(std::make_unique<BatchNorm>(1.0));  // momentum 1: running = last batch
  Model m(Shape{3}, std::move(layers), DType::f64);
  m.initialize(0);
  Tensor x = random_inputs({64, 3}, 5);
  std::vector<Var> params;
  for (Tensor& t : m.parameter_views(m.parameters())) params.emplace_back(t);
  ForwardContext train{true, nullptr};
  Tensor y = m.forward(Var(x), params, train).value();
  Tensor mu = mean(y, {0});
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(mu.at(j), 0.0, 1e-12);
  // In evaluation with the running statistics of the same batch, the output agrees up to
  // the unbiased (n/(n−1)) variance correction.
  Tensor z = m.predict(x);
  EXPECT_LT(max_relative_difference(mul(z, std::sqrt(64.0 / 63.0)), y, 1e-6), 1e-4);
}

TEST(Layers, DropoutIsIdentityInEvaluationAndUnbiasedInTraining) {
  std::vector<LayerPtr> layers;
  layers.push_back(std::make_unique<Dropout>(0.25));
  Model m(Shape{1000}, std::move(layers), DType::f64);
  Tensor x = Tensor::ones({20, 1000}, DType::f64);
  EXPECT_EQ(sum_all(m.predict(x)), 20000.0);
  Rng rng(1);
  ForwardContext train{true, &rng};
  std::vector<Var> none;
  const double s = sum_all(m.forward(Var(x), none, train).value());
  EXPECT_NEAR(s / 20000.0, 1.0, 0.02);
  EXPECT_THROW(Dropout(1.0), InputError);
}

TEST(Parameterization, NtkOutputVarianceIsWidthIndependent) {
  // With the NTK scaling, a wide layer's output variance at initialization is σ_w²·E[x²]
  // whatever the width (Arora §9.4); the standard one agrees by its fan-in init.
  for (int64_t width : {64, 4096}) {
    Model m = mlp(width, 1, MlpOptions{.hidden = {}, .parameterization = Parameterization::ntk}, DType::f64);
    double second_moment = 0;
    const int draws = 400;
    Tensor x = Tensor::ones({1, width}, DType::f64);
    for (int s = 0; s < draws; ++s) {
      m.initialize(static_cast<uint64_t>(s));
      const double y = m.predict(x).item();
      second_moment += y * y / draws;
    }
    EXPECT_NEAR(second_moment, 1.0, 0.2) << "width " << width;
  }
}

TEST(Parameterization, LinearReportsItsForwardScales) {
  // s_w = 1 (standard), σ_w/√in (NTK), σ_w/in (mean-field output layer); checked against
  // the forward pass itself: y = s_w x Wᵀ + s_b b with W = 1, b = 1, x = 1.
  for (auto p : {Parameterization::standard, Parameterization::ntk, Parameterization::mean_field}) {
    Model m = mlp(16, 1, MlpOptions{.hidden = {}, .parameterization = p, .bias_std = 0.5}, DType::f64);
    m.parameters().fill(1.0);
    const auto& linear = dynamic_cast<const Linear&>(*m.layers()[0]);
    const double expected_scale = p == Parameterization::standard ? 1.0 : p == Parameterization::ntk ? 0.25 : 1.0 / 16;
    EXPECT_DOUBLE_EQ(linear.weight_scale(), expected_scale);
    EXPECT_TRUE(linear.has_bias());
    const double s_b = linear.bias_scale();
    EXPECT_NEAR(m.predict(Tensor::ones({1, 16}, DType::f64)).item(), 16 * linear.weight_scale() + s_b, 1e-12);
  }
}

TEST(ModelObjective, ChunkedGradientEqualsOneBatch) {
  Model m = mlp(4, 3, MlpOptions{.hidden = {6}}, DType::f64);
  m.initialize(1);
  Tensor x = random_inputs({10, 4}, 2);
  Tensor y = random_labels(10, 3, 3);
  ModelObjective chunked(m, Loss::softmax_cross_entropy, x, y, 3), whole(m, Loss::softmax_cross_entropy, x, y, 100);
  Tensor g1 = Tensor::empty({m.num_parameters()}, DType::f64), g2 = g1.clone();
  const double f1 = chunked.value_and_gradient(m.parameters(), g1);
  const double f2 = whole.value_and_gradient(m.parameters(), g2);
  EXPECT_NEAR(f1, f2, 1e-14);
  EXPECT_LT(max_relative_difference(g1, g2, 1e-12), 1e-12);
  // A batch of every index equals the full objective too.
  std::vector<int64_t> all(10);
  std::iota(all.begin(), all.end(), 0);
  Tensor g3 = g1.clone();
  EXPECT_NEAR(chunked.batch_value_and_gradient(m.parameters(), all, g3), f1, 1e-14);
  EXPECT_LT(max_relative_difference(g3, g1, 1e-12), 1e-12);
}

TEST(ModelObjective, HessianVectorProductMatchesDifferenceOfGradients) {
  Model m = mlp(4, 3, MlpOptions{.hidden = {5}, .activation = Activation::tanh}, DType::f64);
  m.initialize(4);
  ModelObjective f(m, Loss::softmax_cross_entropy, random_inputs({8, 4}, 6), random_labels(8, 3, 7), 3);
  Tensor theta = m.parameters();
  Tensor v = Rng(9).normal_tensor({m.num_parameters()}, DType::f64);
  Tensor hv = Tensor::empty(theta.shape(), DType::f64);
  f.hessian_vector_product(theta, v, hv);
  // (∇f(θ + hv) − ∇f(θ − hv)) / 2h with a small h.
  const double h = 1e-5;
  Tensor plus = theta.clone(), minus = theta.clone();
  axpy(plus, h, v);
  axpy(minus, -h, v);
  Tensor gp = hv.clone(), gm = hv.clone();
  f.value_and_gradient(plus, gp);
  f.value_and_gradient(minus, gm);
  Tensor numeric = mul(sub(gp, gm), 1.0 / (2 * h));
  EXPECT_LT(max_relative_difference(hv, numeric, 1e-6), 1e-6);
}

TEST(ModelObjective, PerExampleGradientsAverageToTheBatchGradient) {
  Model m = mlp(3, 2, MlpOptions{.hidden = {4}}, DType::f64);
  m.initialize(2);
  ModelObjective f(m, Loss::softmax_cross_entropy, random_inputs({6, 3}, 1), random_labels(6, 2, 5));
  std::vector<int64_t> idx = {0, 2, 5};
  Tensor per = Tensor::empty({3, m.num_parameters()}, DType::f64);
  f.per_example_gradients(m.parameters(), idx, per);
  Tensor batch = Tensor::empty({m.num_parameters()}, DType::f64);
  f.batch_value_and_gradient(m.parameters(), idx, batch);
  EXPECT_LT(max_relative_difference(mean(per, {0}), batch, 1e-12), 1e-12);
}

TEST(ModelObjective, RefusesMismatchedData) {
  Model m = mlp(3, 2, MlpOptions{.hidden = {4}}, DType::f64);
  EXPECT_THROW(ModelObjective(m, Loss::softmax_cross_entropy, random_inputs({6, 3}, 1), random_labels(5, 2, 5)),
               InputError);
  EXPECT_THROW(ModelObjective(m, Loss::softmax_cross_entropy, Tensor::zeros({6, 3}, DType::f32), random_labels(6, 2, 5)),
               InputError);
}

}  // namespace
}  // namespace descent::nn
