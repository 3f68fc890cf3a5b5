// The problems collection (derivatives against finite differences, known minimizers) and
// minimize / minimize_stochastic (stopping, callbacks, determinism, convergence claims).
#include <gtest/gtest.h>

#include <cmath>

#include <Eigen/Dense>

#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/optim/minimize.hpp"
#include "descent/optim/optimizers.hpp"
#include "descent/optim/problems.hpp"

using namespace descent;
using namespace descent::optim;
using namespace descent::optim::problems;

namespace {

// Central differences of f and of ∇f, compared with the analytic gradient and HVP.
void check_derivatives(Objective& f, const Tensor& theta, double tol) {
  const int64_t p = f.dimension();
  Tensor g = Tensor::empty({p}, DType::f64), gp = g.clone(), gm = g.clone(), hv = g.clone();
  f.value_and_gradient(theta, g);
  Rng rng(5);
  Tensor v = rng.normal_tensor({p}, DType::f64);
  const double h = 1e-6;
  Tensor plus = theta.clone(), minus = theta.clone();
  axpy(plus, h, v);
  axpy(minus, -h, v);
  const double fd = (f.value_and_gradient(plus, gp) - f.value_and_gradient(minus, gm)) / (2 * h);
  EXPECT_NEAR(dot(g, v), fd, tol * std::max(1.0, std::abs(fd)));
  f.hessian_vector_product(theta, v, hv);
  for (int64_t i = 0; i < p; ++i) {
    const double fdh = (gp.at(i) - gm.at(i)) / (2 * h);
    EXPECT_NEAR(hv.at(i), fdh, tol * std::max(1.0, std::abs(fdh))) << "HVP coordinate " << i;
  }
}

LogisticRegression two_blobs(int64_t n, uint64_t seed, double l2) {
  Rng rng(seed);
  Tensor x = Tensor::empty({n, 3}, DType::f64), y = Tensor::empty({n}, DType::f64);
  for (int64_t i = 0; i < n; ++i) {
    const double label = i % 2;
    x.set(i * 3 + 0, rng.normal() + (label ? 1.5 : -1.5));
    x.set(i * 3 + 1, rng.normal());
    x.set(i * 3 + 2, 1.0);  // intercept
    y.set(i, label);
  }
  return LogisticRegression(x, y, l2);
}

}  // namespace

TEST(Problems, DerivativesMatchFiniteDifferences) {
  Rosenbrock r(5);
  Rng rng(1);
  check_derivatives(r, rng.normal_tensor({5}, DType::f64), 1e-6);
  auto q = Quadratic::with_condition_number(8, 100.0, 3);
  check_derivatives(q, rng.normal_tensor({8}, DType::f64), 1e-6);
  auto ls = LeastSquares::ill_conditioned(40, 6, 1e3, 4, 0.1);
  check_derivatives(ls, rng.normal_tensor({6}, DType::f64), 1e-6);
  auto lr = two_blobs(50, 2, 0.1);
  check_derivatives(lr, rng.normal_tensor({3}, DType::f64), 1e-6);
}

TEST(Problems, KnownMinimizersAndConditionNumbers) {
  Rosenbrock r(4);
  Tensor g = Tensor::empty({4}, DType::f64);
  EXPECT_EQ(r.value_and_gradient(r.minimizer(), g), 0.0);
  EXPECT_EQ(norm(g), 0.0);
  auto q = Quadratic::with_condition_number(10, 1e4, 9);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(q.hessian());
  EXPECT_NEAR(eig.eigenvalues().maxCoeff() / eig.eigenvalues().minCoeff(), 1e4, 1e-6);
  auto ls = LeastSquares::ill_conditioned(60, 5, 1e4, 2, 0.3);
  Tensor gl = Tensor::empty({5}, DType::f64);
  ls.value_and_gradient(ls.minimizer(), gl);
  EXPECT_LT(norm(gl), 1e-9);
  // Batch gradient over all examples equals the full gradient.
  std::vector<int64_t> all(60);
  for (int64_t i = 0; i < 60; ++i) all[i] = i;
  Rng rng(3);
  Tensor th = rng.normal_tensor({5}, DType::f64), gb = gl.clone();
  const double fb = ls.batch_value_and_gradient(th, all, gb);
  EXPECT_NEAR(fb, ls.value_and_gradient(th, gl), 1e-10);
  EXPECT_LT(max_relative_difference(gb, gl), 1e-10);
}

TEST(Minimize, AdamSolvesRosenbrock) {
  Rosenbrock r(2);
  const auto t = minimize(r, r.classic_start(), adam(2e-2), {.max_steps = 6000, .gradient_tolerance = 1e-6});
  EXPECT_TRUE(t.converged) << t.stop_reason << " f=" << t.value;
  EXPECT_NEAR(t.theta.at(0), 1.0, 1e-4);
  EXPECT_NEAR(t.theta.at(1), 1.0, 1e-4);
}

TEST(Minimize, GradientDescentRateOnQuadraticIsOneMinusOneOverKappa) {
  // η = 1/L: error contracts by at most (1 − 1/κ) per step (Arora §2.3; κ = 50).
  auto q = Quadratic::with_condition_number(6, 50.0, 4);
  Tensor x0 = Tensor::zeros({6}, DType::f64);
  const int steps = 200;
  const auto t = minimize(q, x0, sgd(1.0 / 50.0), {.max_steps = steps});
  const double e0 = norm(sub(x0, q.minimizer())), e = norm(sub(t.theta, q.minimizer()));
  EXPECT_LE(e, e0 * std::pow(1.0 - 1.0 / 50.0, steps) * (1 + 1e-9));
  EXPECT_GT(e, e0 * std::pow(1.0 - 1.0 / 50.0, steps) * 1e-3);  // and not much faster: κ matters
  ASSERT_EQ(t.steps.size(), size_t(steps));
  for (size_t k = 1; k < t.steps.size(); ++k) EXPECT_LE(t.steps[k].value, t.steps[k - 1].value);
  EXPECT_GT(t.steps[0].step_size, 0.0);
}

TEST(Minimize, StopsOnToleranceCallbackAndDivergence) {
  auto q = Quadratic::with_condition_number(4, 10.0, 1);
  Tensor x0 = Tensor::zeros({4}, DType::f64);
  auto a = minimize(q, x0, sgd(0.09, 0.5), {.max_steps = 10000, .gradient_tolerance = 1e-8});
  EXPECT_EQ(a.stop_reason, "gradient_tolerance");
  EXPECT_LT(a.steps.size(), 10000u);
  EXPECT_LE(a.gradient_norm, 1e-8);
  std::vector<StepRecord> seen;
  auto b = minimize(q, x0, sgd(0.01), {.max_steps = 100},
                    {record_into(seen), [](const StepRecord& r, const Tensor&) { return r.step == 9; }});
  EXPECT_EQ(b.stop_reason, "callback");
  EXPECT_EQ(seen.size(), 10u);
  // η > 2/λ_max diverges (Arora §2.3); the run stops at the last finite point.
  auto c = minimize(q, x0, sgd(0.5), {.max_steps = 100000});
  EXPECT_EQ(c.stop_reason, "non_finite");
  EXPECT_TRUE(all_finite(c.theta));
  // Early stopping: a constant objective never improves.
  FunctionObjective flat(2, [](const Tensor&, Tensor& g) { g.fill(1.0); return 3.0; });
  auto d = minimize(flat, Tensor::zeros({2}, DType::f64), sgd(0.0), {.max_steps = 100}, {early_stopping(5)});
  EXPECT_EQ(d.stop_reason, "callback");
  EXPECT_EQ(d.steps.size(), 6u);
}

TEST(MinimizeStochastic, SeededBatchesAreDeterministicAndConverge) {
  auto ls = LeastSquares::ill_conditioned(200, 5, 10.0, 7, 0.0);
  Tensor x0 = Tensor::zeros({5}, DType::f64);
  // Noise-free (interpolating) least squares: SGD with a constant rate converges to θ*.
  const auto opt = sgd(0.05);
  auto a = minimize_stochastic(ls, x0, opt, {.batch_size = 10, .seed = 3}, {.max_steps = 3000});
  auto b = minimize_stochastic(ls, x0, opt, {.batch_size = 10, .seed = 3}, {.max_steps = 3000});
  auto c = minimize_stochastic(ls, x0, opt, {.batch_size = 10, .seed = 4}, {.max_steps = 3000});
  ASSERT_EQ(a.steps.size(), b.steps.size());
  bool differs = false;
  for (size_t k = 0; k < a.steps.size(); ++k) {
    ASSERT_EQ(a.steps[k].value, b.steps[k].value) << "step " << k;
    differs |= a.steps[k].value != c.steps[k].value;
  }
  EXPECT_TRUE(differs) << "another seed must visit the examples in another order";
  EXPECT_LT(norm(sub(a.theta, ls.minimizer())), 1e-6);
  EXPECT_LT(a.value, 1e-12);
}

TEST(MinimizeStochastic, LogisticRegressionSeparatesTwoBlobs) {
  auto lr = two_blobs(400, 11, 1e-3);
  auto t = minimize_stochastic(lr, Tensor::zeros({3}, DType::f64), adam(0.05), {.batch_size = 16, .seed = 1},
                               {.max_steps = 800});
  EXPECT_GT(lr.accuracy(t.theta), 0.9);
  // Near the full-batch optimum found by L2-regularized GD.
  auto full = minimize(lr, Tensor::zeros({3}, DType::f64), sgd(1.0, 0.9), {.max_steps = 3000, .gradient_tolerance = 1e-9});
  EXPECT_TRUE(full.converged);
  EXPECT_LT(t.value - full.value, 0.02);
}
