// L-BFGS: convergence on Rosenbrock, finite termination on a quadratic with exact line
// searches, the strong-Wolfe conditions at every accepted step, and the failure statuses.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <Eigen/Dense>

#include "descent/core/rng.hpp"
#include "descent/optim/lbfgs.hpp"

using descent::optim::lbfgs;
using descent::optim::LbfgsOptions;
using descent::optim::LbfgsStatus;

namespace {

// Extended Rosenbrock: sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2, minimum 0 at (1,...,1).
double rosenbrock(const Eigen::VectorXd& x, Eigen::VectorXd& g) {
  double f = 0.0;
  g.setZero();
  for (Eigen::Index i = 0; i + 1 < x.size(); ++i) {
    const double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
    f += 100.0 * a * a + b * b;
    g[i] += -400.0 * a * x[i] - 2.0 * b;
    g[i + 1] += 200.0 * a;
  }
  return f;
}

}  // namespace

TEST(Lbfgs, Rosenbrock2DFromClassicStart) {
  Eigen::VectorXd x0(2);
  x0 << -1.2, 1.0;
  const auto r = lbfgs(rosenbrock, x0);
  EXPECT_TRUE(r.converged) << r.reason;
  EXPECT_LT((r.x - Eigen::VectorXd::Ones(2)).norm(), 1e-8);
  EXPECT_LT(r.f, 1e-16);
  EXPECT_LT(r.iterations, 100);
}

TEST(Lbfgs, Rosenbrock10DFromRandomStarts) {
  descent::Rng rng(7);
  for (int trial = 0; trial < 5; ++trial) {
    Eigen::VectorXd x0(10);
    for (auto& v : x0) v = rng.uniform(-2.0, 2.0);
    LbfgsOptions opt;
    opt.gradient_tolerance = 1e-10;
    const auto r = lbfgs(rosenbrock, x0, opt);
    // Rosenbrock in 10-D also has a local minimum near x_0 = -1; every start must reach a
    // stationary point, and the global one must be reached to 1e-8 when it is found.
    EXPECT_TRUE(r.converged) << r.reason;
    EXPECT_LE(r.gradient.lpNorm<Eigen::Infinity>(), 1e-10);
    if (r.x[0] > 0) EXPECT_LT((r.x - Eigen::VectorXd::Ones(10)).norm(), 1e-8);
  }
}

TEST(Lbfgs, QuadraticTerminatesInNIterationsWithExactLineSearch) {
  // With exact line searches and m >= n, L-BFGS on a strictly convex quadratic generates
  // conjugate directions and terminates in at most n iterations (N&W Thm 6.4 / §7.2).
  const int n = 12;
  descent::Rng rng(3);
  Eigen::MatrixXd Q = Eigen::MatrixXd::Zero(n, n), M(n, n);
  for (auto& v : M.reshaped()) v = rng.normal();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(M);
  Eigen::MatrixXd U = qr.householderQ();
  Eigen::VectorXd eig(n), b(n);
  for (int i = 0; i < n; ++i) eig[i] = std::pow(100.0, double(i) / (n - 1));  // condition 100
  Q = U * eig.asDiagonal() * U.transpose();
  for (auto& v : b) v = rng.normal();
  const Eigen::VectorXd xstar = Q.ldlt().solve(b);
  auto quad = [&](const Eigen::VectorXd& x, Eigen::VectorXd& g) {
    g = Q * x - b;
    return 0.5 * x.dot(Q * x) - b.dot(x);
  };
  LbfgsOptions opt;
  opt.history = n;
  opt.wolfe_c2 = 1e-6;  // forces the (exact, for a quadratic) cubic interpolation step
  opt.gradient_tolerance = 1e-9;
  const auto r = lbfgs(quad, Eigen::VectorXd::Zero(n), opt);
  EXPECT_TRUE(r.converged) << r.reason;
  EXPECT_LE(r.iterations, n);
  EXPECT_LT((r.x - xstar).norm(), 1e-8);
}

TEST(Lbfgs, AcceptedStepsSatisfyStrongWolfe) {
  LbfgsOptions opt;
  Eigen::VectorXd x0(4);
  x0 << -1.5, 2.0, 0.5, -0.7;
  // Re-run step by step: each single-iteration run starts where the previous ended, so the
  // Wolfe conditions can be checked on the accepted point against the direction taken.
  opt.max_iterations = 1;
  opt.history = 1;
  Eigen::VectorXd x = x0, g(4);
  for (int k = 0; k < 20; ++k) {
    const double f0 = rosenbrock(x, g);
    const Eigen::VectorXd g0 = g;
    const auto r = lbfgs(rosenbrock, x, opt);
    if (r.converged) break;
    ASSERT_EQ(r.iterations, 1) << r.reason;
    const Eigen::VectorXd step = r.x - x;
    const double dphi0 = g0.dot(step);  // direction of a fresh memory is -g0, so step = a d
    ASSERT_LT(dphi0, 0.0);
    EXPECT_LE(r.f, f0 + opt.wolfe_c1 * dphi0 + 1e-12);
    EXPECT_LE(std::abs(r.gradient.dot(step)), opt.wolfe_c2 * std::abs(dphi0) + 1e-12);
    x = r.x;
  }
}

TEST(Lbfgs, NonFiniteRegionShortensTheStep) {
  // f = x - log(x) (defined for x > 0, minimum at 1) with NaN on x <= 0: a long first
  // step lands in the NaN region and must be shortened, never accepted.
  auto f = [](const Eigen::VectorXd& x, Eigen::VectorXd& g) {
    if (x[0] <= 0) return std::numeric_limits<double>::quiet_NaN();
    g[0] = 1.0 - 1.0 / x[0];
    return x[0] - std::log(x[0]);
  };
  const auto r = lbfgs(f, Eigen::VectorXd::Constant(1, 8.0));
  EXPECT_TRUE(r.converged) << r.reason;
  EXPECT_NEAR(r.x[0], 1.0, 1e-8);
}

TEST(Lbfgs, ReportsNonFiniteStartAndIterationLimit) {
  auto nan_f = [](const Eigen::VectorXd&, Eigen::VectorXd&) { return std::nan(""); };
  const auto bad = lbfgs(nan_f, Eigen::VectorXd::Zero(2));
  EXPECT_FALSE(bad.converged);
  EXPECT_EQ(bad.status, LbfgsStatus::non_finite_start);

  LbfgsOptions opt;
  opt.max_iterations = 3;
  Eigen::VectorXd x0(2);
  x0 << -1.2, 1.0;
  const auto r = lbfgs(rosenbrock, x0, opt);
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.status, LbfgsStatus::max_iterations);
  EXPECT_EQ(r.iterations, 3);
  Eigen::VectorXd g(2);
  EXPECT_DOUBLE_EQ(rosenbrock(r.x, g), r.f);  // the reported f belongs to the reported x
}
