// Mirror descent, ℓp steepest descent and coordinate descent: closed forms of single steps,
// identities between them, and the Bregman projection they are measured against.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/core/ops.hpp"
#include "descent/optim/geometry.hpp"
#include "descent/optim/minimize.hpp"

using namespace descent;
using namespace descent::optim;

namespace {
// f(w) = ½‖Xw − y‖² for X [n, d] row-major.
FunctionObjective least_squares(std::vector<double> X, std::vector<double> y, int64_t d) {
  const int64_t n = int64_t(y.size());
  return FunctionObjective(d, [X, y, n, d](const Tensor& w, Tensor& g) {
    double f = 0;
    for (int64_t j = 0; j < d; ++j) g.set(j, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      double r = -y[i];
      for (int64_t j = 0; j < d; ++j) r += X[i * d + j] * w.at(j);
      f += 0.5 * r * r;
      for (int64_t j = 0; j < d; ++j) g.set(j, g.at(j) + r * X[i * d + j]);
    }
    return f;
  });
}
std::vector<double> values(const Tensor& t) {
  std::vector<double> v(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.at(i);
  return v;
}
}  // namespace

TEST(Potential, MirrorMapsInvertEachOtherAndConjugateIsFenchel) {
  const std::vector<double> w = {0.3, 1.7, 0.05, 2.2};
  for (const Potential& psi : {negative_entropy(), half_squared_lp_norm(3.0), half_squared_lp_norm(1.5)}) {
    std::vector<double> z(4), back(4);
    psi.gradient(w, z);
    psi.inverse_gradient(z, back);
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(back[i], w[i], 1e-12) << psi.name;
    // Fenchel–Young with equality at z = ∇ψ(w): ψ(w) + ψ*(z) = ⟨w, z⟩.
    double inner = 0;
    for (int i = 0; i < 4; ++i) inner += w[i] * z[i];
    EXPECT_NEAR(psi.value(w) + psi.conjugate_value(z), inner, 1e-12) << psi.name;
    // ∇ψ against central differences of ψ.
    for (int i = 0; i < 4; ++i) {
      auto wp = w, wm = w;
      wp[i] += 1e-6, wm[i] -= 1e-6;
      EXPECT_NEAR((psi.value(wp) - psi.value(wm)) / 2e-6, z[i], 1e-7) << psi.name;
    }
  }
  const std::vector<double> w0 = {1.0, 1.0, 1.0, 1.0};
  // D for ½‖·‖₂² is ½‖w − w0‖²; for the negative entropy the generalized KL.
  double half_sq = 0, kl = 0;
  for (int i = 0; i < 4; ++i) half_sq += 0.5 * (w[i] - 1) * (w[i] - 1), kl += w[i] * std::log(w[i]) - w[i] + 1;
  EXPECT_NEAR(bregman_divergence(half_squared_lp_norm(2.0), w, w0), half_sq, 1e-12);
  EXPECT_NEAR(bregman_divergence(negative_entropy(), w, w0), kl, 1e-12);
}

TEST(MirrorDescent, EntropyStepIsExponentiatedGradientAndL2IsGradientDescent) {
  auto f = least_squares({1, 2, 0, -1, 1, 3}, {1, 2}, 3);
  const Tensor w0 = Tensor::from_vector(std::vector<double>{0.5, 1.0, 2.0}, {3}, DType::f64);
  Tensor g = Tensor::empty({3}, DType::f64);
  f.value_and_gradient(w0, g);
  auto eg = mirror_descent(f, w0, negative_entropy(), 0.1, {.max_steps = 1});
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(eg.theta.at(i), w0.at(i) * std::exp(-0.1 * g.at(i)), 1e-14);
  auto md = mirror_descent(f, w0, half_squared_lp_norm(2.0), 0.05, {.max_steps = 50});
  auto gd = minimize(f, w0, chain(scale(1.0), scale_by_learning_rate(0.05)), {.max_steps = 50});
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(md.theta.at(i), gd.theta.at(i), 1e-12);
}

TEST(MirrorDescent, ReachesTheBregmanProjectionOfItsStart) {
  // Arora Thm 8.1.2 on a 2×5 underdetermined system with a positive interpolant.
  const std::vector<double> X = {1, 0.5, 2, 0.3, 1, 0.2, 1, 1, 2, 0.7};
  const std::vector<double> y = {3.0, 2.5};
  auto f = least_squares(X, y, 5);
  const std::vector<double> w0 = {1, 1, 1, 1, 1};
  for (const Potential& psi : {negative_entropy(), half_squared_lp_norm(3.0)}) {
    const auto target = bregman_projection(psi, X, 2, y, w0);
    auto t = mirror_descent(f, Tensor::from_vector(w0, {5}, DType::f64), psi, 0.02, {.max_steps = 40000, .gradient_tolerance = 1e-13});
    for (int i = 0; i < 5; ++i) EXPECT_NEAR(t.theta.at(i), target[i], 1e-8) << psi.name;
    // And it is not the Euclidean projection (the potential matters).
    const auto euclid = bregman_projection(half_squared_lp_norm(2.0), X, 2, y, w0);
    double gap = 0;
    for (int i = 0; i < 5; ++i) gap = std::max(gap, std::abs(euclid[i] - target[i]));
    EXPECT_GT(gap, 1e-2) << psi.name;
  }
}

TEST(BregmanProjection, EuclideanCaseIsTheClosedForm) {
  // ψ = ½‖·‖₂²: w = w0 + Xᵀ(XXᵀ)^{-1}(y − Xw0). Rows orthogonal here, so (XXᵀ) = diag(2, 3).
  const std::vector<double> X = {1, 1, 0, 1, -1, 1};
  const std::vector<double> y = {2, 3}, w0 = {0.5, 0, 0};
  const auto w = bregman_projection(half_squared_lp_norm(2.0), X, 2, y, w0);
  const double a = (2 - 0.5) / 2, b = (3 - 0.5) / 3;
  EXPECT_NEAR(w[0], 0.5 + a + b, 1e-10);
  EXPECT_NEAR(w[1], a - b, 1e-10);
  EXPECT_NEAR(w[2], b, 1e-10);
}

TEST(SteepestDescent, LpDirectionSolvesTheStepProblem) {
  const std::vector<double> g = {0.4, -1.3, 0.7, 0.0};
  for (double p : {1.5, 3.0, 4.0 / 3.0}) {
    std::vector<double> d(4);
    lp_steepest_direction(g, p, d);
    // Δ = −d minimizes ⟨g, v⟩ + ½‖v‖_p²: no random perturbation does better.
    auto objective = [&](const std::vector<double>& v) {
      double inner = 0, s = 0;
      for (int i = 0; i < 4; ++i) inner += g[i] * v[i], s += std::pow(std::abs(v[i]), p);
      return inner + 0.5 * std::pow(s, 2.0 / p);
    };
    std::vector<double> v(4);
    for (int i = 0; i < 4; ++i) v[i] = -d[i];
    const double best = objective(v);
    // At the optimum the value is −½‖g‖_q².
    const double q = p / (p - 1);
    double sq = 0;
    for (double x : g) sq += std::pow(std::abs(x), q);
    EXPECT_NEAR(best, -0.5 * std::pow(sq, 2.0 / q), 1e-12) << p;
    for (int trial = 0; trial < 200; ++trial) {
      auto w = v;
      for (int i = 0; i < 4; ++i) w[i] += 0.05 * std::sin(7.1 * trial + 3.3 * i);
      EXPECT_GE(objective(w), best - 1e-12) << p;
    }
  }
  std::vector<double> d(4);
  lp_steepest_direction(g, 1.0, d);
  EXPECT_EQ(d, (std::vector<double>{0, -1.3, 0, 0}));
  lp_steepest_direction(g, INFINITY, d);
  const std::vector<double> sign_l1 = {2.4, -2.4, 2.4, 0};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(d[i], sign_l1[i], 1e-15);
  lp_steepest_direction(g, 2.0, d);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(d[i], g[i], 1e-15);
}

TEST(SteepestDescent, LinkMatchesTheDirectionAndGreedyCoordinateIsL1) {
  const std::vector<double> g = {0.4, -1.3, 0.7, 0.2};
  for (double p : {1.0, 4.0 / 3.0, 2.0, 3.0, double(INFINITY)}) {
    Tensor u = Tensor::from_vector(g, {4}, DType::f64), theta = Tensor::zeros({4}, DType::f64);
    auto link = scale_by_lp_steepest_direction(p);
    auto s = link.init(theta);
    link.update(u, s, theta);
    std::vector<double> d(4);
    lp_steepest_direction(g, p, d);
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(u.at(i), d[i], 1e-14) << p;
  }
  Tensor a = Tensor::from_vector(g, {4}, DType::f64), b = a.clone(), theta = Tensor::zeros({4}, DType::f64);
  auto l1 = lp_steepest_descent(0.1, 1.0), cd = coordinate_descent(0.1, CoordinateRule::greedy);
  auto s1 = l1.init(theta), s2 = cd.init(theta);
  l1.update(a, s1, theta);
  cd.update(b, s2, theta);
  for (int i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(a.at(i), b.at(i));
  EXPECT_DOUBLE_EQ(a.at(1), 0.13);
}

TEST(CoordinateDescent, CyclicVisitsEveryCoordinateAndAllRulesSolveAQuadratic) {
  auto cyc = select_coordinate(CoordinateRule::cyclic);
  Tensor theta = Tensor::zeros({3}, DType::f64);
  auto s = cyc.init(theta);
  for (int k = 0; k < 6; ++k) {
    Tensor u = Tensor::ones({3}, DType::f64);
    cyc.update(u, s, theta);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(u.at(i), i == k % 3 ? 1.0 : 0.0);
  }
  // f = ½ wᵀAw − bᵀw with A SPD: coordinate descent with η = 1/max A_ii converges to A⁻¹b.
  FunctionObjective f(3, [](const Tensor& w, Tensor& g) {
    const double A[3][3] = {{3, 1, 0}, {1, 2, 0.5}, {0, 0.5, 1}}, b[3] = {1, -2, 0.5};
    double v = 0;
    for (int i = 0; i < 3; ++i) {
      double Aw = 0;
      for (int j = 0; j < 3; ++j) Aw += A[i][j] * w.at(j);
      g.set(i, Aw - b[i]);
      v += 0.5 * w.at(i) * Aw - b[i] * w.at(i);
    }
    return v;
  });
  for (auto rule : {CoordinateRule::cyclic, CoordinateRule::random, CoordinateRule::greedy}) {
    auto t = minimize(f, Tensor::zeros({3}, DType::f64), coordinate_descent(1.0 / 3.0, rule, 7),
                      {.max_steps = 3000, .gradient_tolerance = 1e-10});
    EXPECT_TRUE(t.converged) << int(rule);
    EXPECT_LT(t.gradient_norm, 1e-10);
  }
}
