// The reverse-mode engine and the functional API.
#include "helpers.hpp"

using namespace descent;
using namespace descent::testing;

TEST(Engine, GradOfSimpleExpression) {
  Var x(Tensor::from_vector(std::vector<double>{1, 2, 3}, {3}), true);
  Var y = sum(x * x * 3.0);  // dy/dx = 6x
  VarList g = grad(y, {x});
  EXPECT_EQ(g[0].value().to_vector(), (std::vector<double>{6, 12, 18}));
}

TEST(Engine, UnusedVariableGetsZeros) {
  Var x(Tensor::ones({2}, DType::f64), true), z(Tensor::ones({3, 2}, DType::f64), true);
  VarList g = grad(sum(x), {x, z});
  EXPECT_EQ(g[1].shape(), Shape({3, 2}));
  EXPECT_EQ(sum_all(g[1].value()), 0.0);
}

TEST(Engine, SharedSubexpressionsAccumulate) {
  Var x(Tensor::scalar(2.0, DType::f64), true);
  Var a = x * x;     // used twice
  Var y = a * a + a; // x^4 + x^2 -> 4x^3 + 2x = 36
  EXPECT_DOUBLE_EQ(grad(y, {x})[0].item(), 36.0);
}

TEST(Engine, GradientWithRespectToIntermediate) {
  Var x(Tensor::from_vector(std::vector<double>{1, -2}, {2}), true);
  Var h = x * 2.0;
  Var y = sum(square(h));
  VarList g = grad(y, {h, x});
  EXPECT_EQ(g[0].value().to_vector(), (std::vector<double>{4, -8}));
  EXPECT_EQ(g[1].value().to_vector(), (std::vector<double>{8, -16}));
}

TEST(Engine, NonScalarOutputNeedsCotangent) {
  Var x(Tensor::ones({2}, DType::f64), true);
  EXPECT_THROW(grad(x * 2.0, {x}), ShapeError);
  VarList g = vjp(x * 2.0, {x}, Var(Tensor::from_vector(std::vector<double>{1, 3}, {2})));
  EXPECT_EQ(g[0].value().to_vector(), (std::vector<double>{2, 6}));
}

TEST(Engine, NoGradRecordsNothing) {
  Var x(Tensor::ones({2}, DType::f64), true);
  NoGradGuard ng;
  Var y = sum(x * 2.0);
  EXPECT_FALSE(y.requires_grad());
}

TEST(Engine, CreateGraphGivesSecondDerivative) {
  Var x(Tensor::scalar(1.5, DType::f64), true);
  Var y = x * x * x;  // y' = 3x², y'' = 6x
  Var dy = grad(y, {x}, true)[0];
  EXPECT_DOUBLE_EQ(dy.item(), 3 * 1.5 * 1.5);
  EXPECT_DOUBLE_EQ(grad(dy, {x})[0].item(), 9.0);
}

TEST(Engine, ThirdDerivative) {
  Var x(Tensor::scalar(0.7, DType::f64), true);
  Var y = exp(x * 2.0);  // y''' = 8 e^{2x}
  Var d1 = grad(y, {x}, true)[0];
  Var d2 = grad(d1, {x}, true)[0];
  Var d3 = grad(d2, {x})[0];
  EXPECT_NEAR(d3.item(), 8 * std::exp(1.4), 1e-12);
}

TEST(Engine, DeepChainReleasesWithoutRecursion) {
  Var x(Tensor::scalar(1.0, DType::f64), true);
  Var y = x;
  for (int i = 0; i < 200000; ++i) y = y + 1e-6;
  EXPECT_DOUBLE_EQ(grad(y, {x})[0].item(), 1.0);
  y = Var();  // freeing 200k nodes must not overflow the stack
}

TEST(Engine, StopGradient) {
  Var x(Tensor::scalar(3.0, DType::f64), true);
  EXPECT_DOUBLE_EQ(grad(x * stop_gradient(x), {x})[0].item(), 3.0);
}

TEST(Functional, ValueAndGrad) {
  auto f = [](const VarList& v) { return sum(v[0] * v[1]); };
  auto [val, g] = value_and_grad(f, {Tensor::from_vector(std::vector<double>{1, 2}, {2}),
                                     Tensor::from_vector(std::vector<double>{3, 4}, {2})});
  EXPECT_DOUBLE_EQ(val.item(), 11.0);
  EXPECT_EQ(g[0].to_vector(), (std::vector<double>{3, 4}));
  EXPECT_EQ(g[1].to_vector(), (std::vector<double>{1, 2}));
}

TEST(Functional, JvpMatchesDirectionalDerivative) {
  auto f = [](const VarList& v) { return tanh(v[0]) * v[0]; };
  const Tensor x = uniform({4}, -1, 1, 3), t = uniform({4}, -1, 1, 4);
  auto [y, jt] = jvp(f, {x}, {t});
  for (int64_t i = 0; i < 4; ++i) {
    const double xi = x.at(i), th = std::tanh(xi);
    EXPECT_NEAR(jt.at(i), ((1 - th * th) * xi + th) * t.at(i), 1e-14);
  }
}
