// Gauss–Newton / Levenberg–Marquardt: one step on linear residuals, a curve fit against
// scipy.optimize.least_squares (MINPACK "lm" and "trf"), the matrix-free (JVP/VJP + CG) form
// against the dense one, Rosenbrock as residuals, refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include <Eigen/Dense>

#include "common/peer.hpp"
#include "descent/core/error.hpp"
#include "descent/core/rng.hpp"
#include "descent/optim/gauss_newton.hpp"

using namespace descent;
using namespace descent::optim;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

VectorXd to_eigen(const Tensor& t) {
  VectorXd v(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.at(i);
  return v;
}

// y = a e^{−b t} + c at t_i = i/10, data 2.5 e^{−1.3 t} + 0.5 + 0.05 sin(7.1 i)
// (tests/optim/scipy_second_order.py, decay_data). dense: Jacobian; else JVP/VJP only.
ResidualFunction decay_fit(bool dense) {
  const int n = 50;
  VectorXd t(n), y(n);
  for (int i = 0; i < n; ++i) {
    t[i] = i / 10.0;
    y[i] = 2.5 * std::exp(-1.3 * t[i]) + 0.5 + 0.05 * std::sin(7.1 * i);
  }
  auto jacobian = [t](const VectorXd& x, MatrixXd& j) {
    const VectorXd e = (-x[1] * t).array().exp();
    j.col(0) = e;
    j.col(1) = -x[0] * (t.array() * e.array()).matrix();
    j.col(2).setOnes();
  };
  ResidualFunction f;
  f.residuals = n;
  f.parameters = 3;
  f.residual = [t, y](const VectorXd& x, VectorXd& r) {
    r = (x[0] * (-x[1] * t).array().exp() + x[2]).matrix() - y;
  };
  if (dense) {
    f.jacobian = jacobian;
  } else {  // products built from the formulas, without a stored J
    f.jvp = [jacobian, n](const VectorXd& x, const VectorXd& v, VectorXd& jv) {
      MatrixXd j(n, 3);
      jacobian(x, j);
      jv = j * v;
    };
    f.vjp = [jacobian, n](const VectorXd& x, const VectorXd& u, VectorXd& jtu) {
      MatrixXd j(n, 3);
      jacobian(x, j);
      jtu = j.transpose() * u;
    };
  }
  return f;
}

}  // namespace

TEST(GaussNewton, LinearResidualsInOneStep) {
  Rng rng(6);
  const int m = 40, p = 7;
  MatrixXd a(m, p);
  VectorXd b(m);
  for (int i = 0; i < m; ++i) {
    b[i] = rng.normal();
    for (int j = 0; j < p; ++j) a(i, j) = rng.normal();
  }
  ResidualFunction f;
  f.residuals = m;
  f.parameters = p;
  f.residual = [&](const VectorXd& x, VectorXd& r) { r = a * x - b; };
  f.jacobian = [&](const VectorXd&, MatrixXd& j) { j = a; };
  GaussNewtonOptions o;
  o.damping = 0.0;
  const auto t = gauss_newton(f, VectorXd::Zero(p), o, {.max_steps = 1});
  ASSERT_EQ(t.steps.size(), 1u);
  const VectorXd exact = a.colPivHouseholderQr().solve(b);
  EXPECT_LT((to_eigen(t.theta) - exact).norm(), 1e-12 * exact.norm());
}

TEST(GaussNewton, CurveFitAgreesWithScipyLeastSquares) {
  DESCENT_RUN_PEER_SCRIPT(out, "scipy", "tests/optim/scipy_second_order.py least_squares");
  std::istringstream lines(out);
  const VectorXd x0 = VectorXd::Map(std::vector<double>{1.0, 1.0, 0.0}.data(), 3);
  struct Variant {
    const char* name;
    bool dense;
    double damping;
    bool marquardt;
  };
  const Variant variants[] = {{"LM, dense", true, 1e-3, false},
                              {"LM, Marquardt scaling", true, 1e-3, true},
                              {"Gauss-Newton, dense", true, 0.0, false},
                              {"LM, matrix-free", false, 1e-3, false}};
  for (const char* method : {"lm", "trf"}) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line)) << "no scipy result for " << method;
    std::istringstream nums(line);
    int nfev = 0;
    double cost = 0;
    VectorXd ref(3);
    ASSERT_TRUE(nums >> nfev >> cost >> ref[0] >> ref[1] >> ref[2]) << line;
    for (const auto& v : variants) {
      GaussNewtonOptions o;
      o.damping = v.damping;
      o.marquardt_scaling = v.marquardt;
      const auto t = gauss_newton(decay_fit(v.dense), x0, o, {.max_steps = 200, .gradient_tolerance = 1e-9});
      EXPECT_TRUE(t.converged) << v.name << ": " << t.stop_reason << ", |J'r| = " << t.gradient_norm;
      const double rel = (to_eigen(t.theta) - ref).norm() / ref.norm();
      std::printf("  %-22s vs scipy %-3s: %2zu steps (scipy %2d evaluations), |x - x_scipy|/|x| %.1e, cost %.12g vs %.12g\n",
                  v.name, method, t.steps.size(), nfev, rel, t.value, cost);
      EXPECT_LT(rel, 1e-9) << v.name << " vs " << method;
      EXPECT_NEAR(t.value, cost, 1e-12 * cost) << v.name << " vs " << method;
    }
  }
}

TEST(GaussNewton, MatrixFreeFollowsTheDensePath) {
  const VectorXd x0 = VectorXd::Map(std::vector<double>{1.0, 1.0, 0.0}.data(), 3);
  std::vector<Tensor> dense_path, free_path;
  auto keep = [](std::vector<Tensor>& path) {
    return [&path](const StepRecord&, const Tensor& theta) {
      path.push_back(theta.clone());
      return false;
    };
  };
  GaussNewtonOptions o;
  o.cg_tolerance = 1e-14;
  const auto d = gauss_newton(decay_fit(true), x0, o, {.max_steps = 8}, {keep(dense_path)});
  const auto f = gauss_newton(decay_fit(false), x0, o, {.max_steps = 8}, {keep(free_path)});
  // Until f runs out of digits (the dense run stops there with "no_progress").
  ASSERT_GE(std::min(dense_path.size(), free_path.size()), 4u);
  ASSERT_GT(f.inner_products, 0);
  for (size_t k = 0; k < std::min(dense_path.size(), free_path.size()); ++k)
    EXPECT_LT((to_eigen(dense_path[k]) - to_eigen(free_path[k])).norm(), 1e-8 * to_eigen(dense_path[k]).norm())
        << "step " << k;
}

TEST(GaussNewton, RosenbrockAsResiduals) {
  // f = ½‖r‖², r = (10(θ₁ − θ₀²), 1 − θ₀): zero residual at (1, 1), where Gauss–Newton is
  // Newton's method (quadratic convergence) and LM with λ → 0 converges superlinearly.
  ResidualFunction f;
  f.residuals = 2;
  f.parameters = 2;
  f.residual = [](const VectorXd& x, VectorXd& r) { r << 10 * (x[1] - x[0] * x[0]), 1 - x[0]; };
  f.jacobian = [](const VectorXd& x, MatrixXd& j) { j << -20 * x[0], 10, -1, 0; };
  for (double damping : {0.0, 1e-3}) {
    std::vector<double> errors;
    auto track = [&](const StepRecord&, const Tensor& theta) {
      errors.push_back(std::hypot(theta.at(0) - 1.0, theta.at(1) - 1.0));
      return false;
    };
    GaussNewtonOptions o;
    o.damping = damping;
    const auto t = gauss_newton(f, VectorXd::Map(std::vector<double>{-1.2, 1.0}.data(), 2), o,
                                {.max_steps = 100, .gradient_tolerance = 1e-14}, {track});
    EXPECT_TRUE(t.converged) << t.stop_reason;
    EXPECT_LT(std::hypot(t.theta.at(0) - 1.0, t.theta.at(1) - 1.0), 1e-12);
    std::printf("  damping %g: %zu steps; last errors", damping, errors.size());
    for (size_t k = errors.size() >= 5 ? errors.size() - 5 : 0; k < errors.size(); ++k) std::printf(" %.2e", errors[k]);
    std::printf("\n");
    // GN: some step near the solution has e_{k+1} ≤ 100 e_k²; LM: among errors in (1e-9, 1e-2),
    // e_{k+1}/e_k shrinking and below 1e-2.
    bool fast = false;
    for (size_t k = 1; k + 1 < errors.size(); ++k) {
      if (damping == 0.0 && errors[k] < 0.2 && errors[k] > 0.0 && errors[k + 1] <= 100 * errors[k] * errors[k])
        fast = true;
      if (errors[k] > 1e-2 || errors[k] < 1e-9) continue;
      if (damping > 0.0 && errors[k + 1] / errors[k] < 1e-2 && errors[k + 1] / errors[k] < errors[k] / errors[k - 1])
        fast = true;
    }
    EXPECT_TRUE(fast) << "damping " << damping;
  }
}

TEST(GaussNewton, RefusesBadInput) {
  const VectorXd x0 = VectorXd::Zero(3);
  GaussNewtonOptions o;
  o.damping = -1.0;
  EXPECT_THROW(gauss_newton(decay_fit(true), x0, o), InputError);
  o = {};
  o.damping_increase = 1.0;
  EXPECT_THROW(gauss_newton(decay_fit(true), x0, o), InputError);
  o = {};
  o.marquardt_scaling = true;
  EXPECT_THROW(gauss_newton(decay_fit(false), x0, o), InputError);
  EXPECT_THROW(gauss_newton(decay_fit(true), VectorXd::Zero(4)), ShapeError);
  auto no_jacobian = decay_fit(true);
  no_jacobian.jacobian = nullptr;
  EXPECT_THROW(gauss_newton(no_jacobian, x0), InputError);
  auto short_residual = decay_fit(true);
  short_residual.residual = [](const VectorXd&, VectorXd& r) { r = VectorXd::Zero(3); };
  EXPECT_THROW(gauss_newton(short_residual, x0), ShapeError);
}
