// Entropic OT: agreement of the two solvers, convergence to the LP as ε -> 0, stability at
// small ε, POT as the yardstick, and the Sinkhorn divergence's gradient.
#include <gtest/gtest.h>

#include <cmath>
#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/transport/cost.hpp"
#include "descent/transport/exact.hpp"
#include "descent/transport/sinkhorn.hpp"

using namespace descent;
using namespace descent::transport;

namespace {

Tensor random_weights(Rng& rng, int64_t n) {
  Tensor w = rng.uniform_tensor({n}, DType::f64, 0.2, 1.0);
  return mul(w, 1.0 / sum_all(w));
}

double marginal_error(const Tensor& P, const Tensor& a, const Tensor& b) {
  return norm(sub(sum(P, {1}), a)) + norm(sub(sum(P, {0}), b));
}

}  // namespace

TEST(Sinkhorn, PlainAndLogDomainReachTheSameFixedPoint) {
  Rng rng(10);
  const Tensor x = rng.normal_tensor({60, 3}, DType::f64), y = rng.normal_tensor({45, 3}, DType::f64, 0.5);
  const Tensor a = random_weights(rng, 60), b = random_weights(rng, 45), C = cost_matrix(x, y);
  SinkhornOptions o;
  o.epsilon = 0.5;
  o.tolerance = 1e-12;
  const SinkhornResult plain = sinkhorn(a, b, C, o), logd = sinkhorn_log(a, b, C, o);
  ASSERT_TRUE(plain.converged && logd.converged);
  EXPECT_LT(plain.marginal_error, 1e-12);
  EXPECT_LT(marginal_error(logd.plan, a, b), 1e-11);
  EXPECT_NEAR(plain.cost, logd.cost, 1e-10);
  EXPECT_LT(max_relative_difference(plain.plan, logd.plan, 1e-12), 1e-8);
  // At the fixed point the dual value equals the primal <P, C> + ε KL(P || a ⊗ b).
  double kl = 0;
  for (int64_t k = 0; k < 60 * 45; ++k) {
    const double p = logd.plan.at(k), ab = a.at(k / 45) * b.at(k % 45);
    kl += p * std::log(p / ab);
  }
  EXPECT_NEAR(logd.objective, logd.cost + o.epsilon * kl, 1e-10);
  // P_ij = a_i b_j exp((f_i + g_j - C_ij) / ε).
  for (int64_t k : {0, 77, 2699})
    EXPECT_NEAR(logd.plan.at(k),
                a.at(k / 45) * b.at(k % 45) * std::exp((logd.f.at(k / 45) + logd.g.at(k % 45) - C.at(k)) / o.epsilon),
                1e-12);
}

TEST(Sinkhorn, CostTendsToTheLinearProgramAsEpsilonShrinks) {
  Rng rng(11);
  const int64_t n = 50;
  const Tensor x = rng.uniform_tensor({n, 2}, DType::f64), y = rng.uniform_tensor({n, 2}, DType::f64, 0.3, 1.3);
  const Tensor C = cost_matrix(x, y);
  const double lp = exact_ot(Tensor(), Tensor(), C).cost;
  double previous_gap = INFINITY;
  for (double eps : {0.1, 0.03, 0.01, 3e-3, 1e-3}) {
    SinkhornOptions o;
    o.epsilon = eps;
    o.tolerance = 1e-7;
    o.max_iterations = 1'000'000;
    const SinkhornResult r = sinkhorn_log(Tensor(), Tensor(), C, o);
    ASSERT_TRUE(r.converged) << "eps = " << eps;
    const double gap = r.cost - lp;
    EXPECT_GE(gap, -1e-7) << "the LP is the minimum of <P, C> (up to the marginal error)";
    EXPECT_LT(gap, previous_gap) << "eps = " << eps;
    // <P_ε, C> <= OT_ε <= LP + ε KL(P_LP || a ⊗ b) <= LP + ε log n for uniform a.
    EXPECT_LE(gap, eps * std::log(double(n)) + 1e-7) << "eps = " << eps;
    previous_gap = gap;
  }
  EXPECT_LT(previous_gap, 2e-3 * lp);
}

TEST(Sinkhorn, LogDomainStaysStableWherePlainUnderflows) {
  Rng rng(12);
  // Shifting y by s changes C only by terms separable in i and j, so the plan is that of
  // two overlapping unit clouds; but every e^{-C_ij/ε} underflows (C_ij ≈ 800, ε = 0.5).
  const Tensor x = rng.normal_tensor({40, 2}, DType::f64), y = rng.normal_tensor({40, 2}, DType::f64, 20.0);
  const Tensor C = cost_matrix(x, y);
  SinkhornOptions o;
  o.epsilon = 0.5;
  EXPECT_THROW(sinkhorn(Tensor(), Tensor(), C, o), NonFiniteError);
  const SinkhornResult r = sinkhorn_log(Tensor(), Tensor(), C, o);
  EXPECT_TRUE(r.converged);
  EXPECT_TRUE(all_finite(r.plan) && all_finite(r.f) && all_finite(r.g));
  const Tensor u = Tensor::full({40}, 1.0 / 40, DType::f64);
  EXPECT_LT(marginal_error(r.plan, u, u), 1e-8);
  // The same plan as the unshifted problem, which plain Sinkhorn solves.
  const SinkhornResult unshifted = sinkhorn(Tensor(), Tensor(), cost_matrix(x, add(y, -20.0)), o);
  EXPECT_LT(max_relative_difference(r.plan, unshifted.plan, 1e-6), 1e-6);
  // Without ε-scaling the same fixed point.
  o.epsilon_scaling = false;
  const SinkhornResult direct = sinkhorn_log(Tensor(), Tensor(), C, o);
  EXPECT_NEAR(direct.cost, r.cost, 1e-10 * r.cost);
}

TEST(SinkhornDivergence, IsZeroOnEqualMeasuresAndPositiveOtherwise) {
  Rng rng(14);
  const Tensor x = rng.uniform_tensor({30, 2}, DType::f64), y = rng.uniform_tensor({25, 2}, DType::f64, 1.0, 2.0);
  SinkhornOptions o;
  o.epsilon = 0.05;
  o.tolerance = 1e-12;
  const SinkhornDivergence same = sinkhorn_divergence(x, x, Tensor(), Tensor(), 2.0, o);
  EXPECT_NEAR(same.value, 0.0, 1e-10);
  EXPECT_LT(norm(same.grad_x), 1e-8);
  EXPECT_GT(sinkhorn_divergence(x, y, Tensor(), Tensor(), 2.0, o).value, 1.5);  // ≈ ||shift||² = 2
}

TEST(SinkhornDivergence, GradientMatchesFiniteDifferences) {
  Rng rng(15);
  for (double p : {2.0, 1.5}) {
    const Tensor x = rng.uniform_tensor({12, 2}, DType::f64), y = rng.uniform_tensor({9, 2}, DType::f64, 0.5, 1.5);
    const Tensor a = random_weights(rng, 12), b = random_weights(rng, 9);
    SinkhornOptions o;
    o.epsilon = 0.3;
    o.tolerance = 1e-14;
    const SinkhornDivergence s = sinkhorn_divergence(x, y, a, b, p, o);
    const double h = 1e-5;
    for (const bool wrt_x : {true, false}) {
      const Tensor& pts = wrt_x ? x : y;
      const Tensor& grad = wrt_x ? s.grad_x : s.grad_y;
      for (int64_t k = 0; k < pts.numel(); ++k) {
        Tensor plus = pts.clone(), minus = pts.clone();
        plus.set(k, pts.at(k) + h);
        minus.set(k, pts.at(k) - h);
        const double fp = wrt_x ? sinkhorn_divergence(plus, y, a, b, p, o).value : sinkhorn_divergence(x, plus, a, b, p, o).value;
        const double fm = wrt_x ? sinkhorn_divergence(minus, y, a, b, p, o).value : sinkhorn_divergence(x, minus, a, b, p, o).value;
        EXPECT_NEAR(grad.at(k), (fp - fm) / (2 * h), 1e-7) << "p = " << p << (wrt_x ? " x" : " y") << " entry " << k;
      }
    }
  }
}

TEST(Sinkhorn, RefusesBadInput) {
  const Tensor C = Tensor::ones({2, 3}, DType::f64);
  SinkhornOptions o;
  try {
    sinkhorn_log(Tensor::from_vector(std::vector<double>{1.0, 1.0}, {2}), Tensor(), C, o);
    FAIL() << "unbalanced marginals accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("differ by 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sinkhorn(Tensor::from_vector(std::vector<double>{2.0, -1.0}, {2}), Tensor(), C, o), InputError);
  Tensor bad = C.clone();
  bad.set(1, NAN);
  EXPECT_THROW(sinkhorn_log(Tensor(), Tensor(), bad, o), InputError);
  bad.set(1, -INFINITY);
  EXPECT_THROW(sinkhorn(Tensor(), Tensor(), bad, o), InputError);
  EXPECT_THROW(sinkhorn_log(Tensor(), Tensor(), Tensor::zeros({0, 3}, DType::f64), o), InputError);
  o.epsilon = 0.0;
  EXPECT_THROW(sinkhorn_log(Tensor(), Tensor(), C, o), InputError);
  EXPECT_THROW(sinkhorn_divergence(Tensor::zeros({0, 2}, DType::f64), Tensor::ones({2, 2}, DType::f64)), InputError);
}

TEST(SinkhornLog, EpsilonScalingRunsOnlyForSmallEpsilonAndReachesTheSameFixedPoint) {
  // Stages run when ε < (max C − min C) / 300 (below that crossover they are the slow path);
  // both sides of it reach the unstaged solution.
  Rng rng(16);
  const Tensor x = rng.uniform_tensor({40, 2}, DType::f64), y = rng.uniform_tensor({40, 2}, DType::f64, 0.25, 1.25);
  const Tensor C = cost_matrix(x, y);
  const double range = max(C).item() - min(C).item();
  for (double ratio : {500.0, 100.0}) {  // staged, then one stage
    SinkhornOptions o;
    o.epsilon = range / ratio;
    o.tolerance = 1e-9;
    const SinkhornResult staged = sinkhorn_log(Tensor(), Tensor(), C, o);
    o.epsilon_scaling = false;
    const SinkhornResult direct = sinkhorn_log(Tensor(), Tensor(), C, o);
    ASSERT_TRUE(staged.converged) << "range / ε = " << ratio << ", " << staged.iterations << " iterations";
    ASSERT_TRUE(direct.converged) << "range / ε = " << ratio << ", " << direct.iterations << " iterations";
    EXPECT_NEAR(staged.cost, direct.cost, 1e-8 * direct.cost) << "range / ε = " << ratio;
    EXPECT_NEAR(staged.objective, direct.objective, 1e-8 * std::abs(direct.objective));
    // One stage above the crossover: exactly the unstaged iterations.
    if (ratio < 300) EXPECT_EQ(staged.iterations, direct.iterations);
  }
}
