// Second order on composed functions: HVP (both modes) against finite differences of
// gradients and against the dense Hessian, for the softmax cross-entropy of an MLP and
// smaller compositions; Jacobians against forward mode.
#include "helpers.hpp"

using namespace descent;
using namespace descent::testing;

namespace {

// Softmax cross-entropy of a 2-layer tanh MLP: inputs W1 [d,h], b1 [h], W2 [h,k], b2 [k].
struct Mlp {
  Tensor x;       // [n, d]
  Tensor labels;  // [n, 1] int64
  std::vector<Tensor> params;

  Mlp(int64_t n, int64_t d, int64_t h, int64_t k, uint64_t seed) {
    x = uniform({n, d}, -1, 1, seed);
    std::vector<int64_t> y;
    Rng rng(seed + 1);
    for (int64_t i = 0; i < n; ++i) y.push_back(static_cast<int64_t>(rng.below(static_cast<uint64_t>(k))));
    labels = Tensor::from_vector(y, {n, 1});
    params = {uniform({d, h}, -0.8, 0.8, seed + 2), uniform({h}, -0.3, 0.3, seed + 3),
              uniform({h, k}, -0.8, 0.8, seed + 4), uniform({k}, -0.3, 0.3, seed + 5)};
  }
  Function loss() const {
    return [x = x, labels = labels](const VarList& p) {
      Var h = tanh(matmul(Var(x), p[0]) + p[1]);
      Var logits = matmul(h, p[2]) + p[3];
      return -mean(gather(log_softmax(logits, -1), 1, labels));
    };
  }
};

TEST(SecondOrder, MlpCrossEntropyGradient) {
  Mlp m(5, 4, 3, 3, 100);
  expect_gradients(m.loss(), m.params);
}

TEST(SecondOrder, MlpCrossEntropyHvpMatchesFiniteDifferences) {
  Mlp m(5, 4, 3, 3, 200);
  const Function f = m.loss();
  const std::vector<Tensor> v = random_like(m.params, 7);
  const auto fd = fd_hvp(f, m.params, v);
  for (HvpMode mode : {HvpMode::forward_over_reverse, HvpMode::reverse_over_reverse, HvpMode::automatic})
    EXPECT_LE(max_rel(hessian_vector_product(f, m.params, v, mode), fd, 1e-6), 1e-6);
}

TEST(SecondOrder, MlpCrossEntropyDenseHessian) {
  Mlp m(4, 3, 2, 3, 300);  // 6 + 2 + 6 + 3 = 17 parameters
  const Function f = m.loss();
  const Tensor h_fwd = hessian(f, m.params, HvpMode::forward_over_reverse);
  const Tensor h_rev = hessian(f, m.params, HvpMode::reverse_over_reverse);
  ASSERT_EQ(h_fwd.shape(), Shape({17, 17}));
  EXPECT_LE(max_relative_difference(h_fwd, h_rev, 1e-9), 1e-9);
  EXPECT_LE(max_relative_difference(h_fwd, transpose(h_fwd), 1e-9), 1e-9) << "Hessian not symmetric";
  // H v from the dense matrix equals the HVP.
  const std::vector<Tensor> v = random_like(m.params, 9);
  Tensor flat_v = Tensor::empty({17}, DType::f64);
  int64_t at = 0;
  for (const Tensor& t : v)
    for (int64_t i = 0; i < t.numel(); ++i) flat_v.set(at++, t.at(i));
  const Tensor hv_dense = matmul(h_fwd, flat_v.reshape({17, 1}));
  const auto hv = hessian_vector_product(f, m.params, v);
  at = 0;
  double worst = 0;
  for (const Tensor& t : hv)
    for (int64_t i = 0; i < t.numel(); ++i, ++at)
      worst = std::max(worst, std::abs(t.at(i) - hv_dense.at(at)) / std::max(1e-8, std::abs(t.at(i))));
  EXPECT_LE(worst, 1e-9);
  // And each column against finite differences of gradients.
  const auto fd = fd_hvp(f, m.params, v);
  at = 0;
  worst = 0;
  for (const Tensor& t : fd)
    for (int64_t i = 0; i < t.numel(); ++i, ++at)
      worst = std::max(worst, std::abs(t.at(i) - hv_dense.at(at)) / std::max(1e-6, std::abs(t.at(i))));
  EXPECT_LE(worst, 1e-6);
}

TEST(SecondOrder, ComposedSmallFunctions) {
  // Rosenbrock-like, softplus-logsumexp, and a normalized quadratic.
  const Tensor x = uniform({5}, -1, 1, 400);
  const std::vector<Function> fs = {
      [](const VarList& v) {
        Var a = slice(v[0], 0, 0, 4), b = slice(v[0], 0, 1, 5);
        return sum(square(b - square(a)) * 100.0 + square(1.0 - a));
      },
      [](const VarList& v) { return logsumexp(softplus(v[0]) * v[0], 0); },
      [](const VarList& v) { return sum(square(v[0])) / sqrt(sum(exp(v[0]))); },
  };
  for (const Function& f : fs) {
    expect_gradients(f, {x});
    const Tensor h = hessian(f, {x});
    const std::vector<Tensor> v = random_like({x}, 3);
    const auto fd = fd_hvp(f, {x}, v);
    const Tensor hv = matmul(h, v[0].reshape({5, 1})).reshape({5});
    EXPECT_LE(max_relative_difference(hv, fd[0], 1e-6), 1e-6);
  }
}

TEST(Jacobian, MatchesForwardMode) {
  const Function f = [](const VarList& v) { return softmax(v[0], -1) * sum(v[1]); };
  const std::vector<Tensor> x = {uniform({2, 3}, -1, 1, 500), uniform({2}, -1, 1, 501)};
  const Tensor j = jacobian(f, x);
  ASSERT_EQ(j.shape(), Shape({6, 8}));
  // Column c of J is J e_c, from forward mode.
  for (int64_t c = 0; c < 8; ++c) {
    std::vector<Tensor> e = {Tensor::zeros({2, 3}, DType::f64), Tensor::zeros({2}, DType::f64)};
    if (c < 6) e[0].set(c, 1.0);
    else e[1].set(c - 6, 1.0);
    const Tensor col = jvp(f, x, e).second;
    for (int64_t r = 0; r < 6; ++r) EXPECT_NEAR(j.at(r * 8 + c), col.at(r), 1e-14);
  }
}

TEST(GradientCheck, ReportsAWrongGradient) {
  // stop_gradient hides part of the derivative: the checker must notice.
  const Function f = [](const VarList& v) { return sum(v[0] * stop_gradient(v[0])); };
  const GradientCheckReport r = check_gradients(f, {uniform({4}, 0.5, 1, 1)});
  EXPECT_FALSE(r.passed);
  EXPECT_NEAR(r.max_relative_error, 0.5, 1e-6);
  EXPECT_GE(r.worst_index, 0);
}

TEST(GradientCheck, Float32InputsAreCheckedInFloat64) {
  const Function f = [](const VarList& v) { return sum(exp(v[0])); };
  const GradientCheckReport r = check_gradients(f, {Tensor::full({3}, 0.5, DType::f32)});
  EXPECT_TRUE(r.passed) << r.str();
}

}  // namespace

TEST(SecondOrder, ValueGradAndHvpAgreesWithSeparateCalls) {
  Mlp m(6, 4, 5, 3, 600);
  const Function f = m.loss();
  const std::vector<Tensor> v = random_like(m.params, 8);
  const ValueGradHvp r = value_grad_and_hvp(f, m.params, v);
  auto [value, g] = value_and_grad(f, m.params);
  EXPECT_DOUBLE_EQ(r.value.item(), value.item());
  EXPECT_LE(max_rel(r.grads, g, 1e-12), 1e-12);
  EXPECT_LE(max_rel(r.hvp, hessian_vector_product(f, m.params, v), 1e-12), 1e-10);
  // A leaf used twice (tied weights) with tangent-only leaf cotangents.
  const Function tied = [](const VarList& p) { return sum(tanh(matmul(p[0], p[0], false, true))); };
  const std::vector<Tensor> w = {uniform({3, 3}, -1, 1, 601)};
  const std::vector<Tensor> u = random_like(w, 9);
  EXPECT_LE(max_rel(hessian_vector_product(tied, w, u), fd_hvp(tied, w, u), 1e-6), 1e-6);
  EXPECT_LE(max_rel(hessian_vector_product(tied, w, u), value_grad_and_hvp(tied, w, u).hvp, 1e-12), 1e-10);
}
