// Second-order methods: conjugate gradient, Newton-CG (one step on a quadratic, Rosenbrock to
// 1e-10, logistic regression, fewer iterations than L-BFGS when ill-conditioned, agreement
// with scipy.optimize.minimize(method="Newton-CG")).
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include <Eigen/Dense>

#include "common/peer.hpp"
#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/optim/conjugate_gradient.hpp"
#include "descent/optim/lbfgs.hpp"
#include "descent/optim/newton_cg.hpp"
#include "descent/optim/problems.hpp"

using namespace descent;
using namespace descent::optim;

namespace {

Eigen::VectorXd to_eigen(const Tensor& t) {
  Eigen::VectorXd v(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.at(i);
  return v;
}
Tensor to_tensor(const Eigen::VectorXd& v) {
  return Tensor::from_vector(std::vector<double>(v.data(), v.data() + v.size()), {v.size()}, DType::f64);
}

// An Objective on Eigen vectors (the interface of optim::lbfgs).
ValueAndGradient eigen_function(Objective& f) {
  return [&f](const Eigen::VectorXd& x, Eigen::VectorXd& g) {
    Tensor grad = Tensor::empty({x.size()}, DType::f64);
    const double v = f.value_and_gradient(to_tensor(x), grad);
    g = to_eigen(grad);
    return v;
  };
}

// Logistic regression on closed-form data (tests/optim/scipy_second_order.py, logistic_data):
// x_ij = sin(1.3 i + 0.7 j + 0.1 i j), y_i = [x_iᵀw + 0.5 sin(3.7 i) > 0], l2 = 1e-2.
problems::LogisticRegression logistic_problem() {
  const int64_t n = 200, d = 5;
  const double w[d] = {1.0, -2.0, 0.5, 1.5, -1.0};
  std::vector<double> x(n * d), y(n);
  for (int64_t i = 0; i < n; ++i) {
    double z = 0.5 * std::sin(3.7 * static_cast<double>(i));
    for (int64_t j = 0; j < d; ++j) {
      x[i * d + j] = std::sin(1.3 * i + 0.7 * j + 0.1 * static_cast<double>(i * j));
      z += x[i * d + j] * w[j];
    }
    y[i] = z > 0 ? 1.0 : 0.0;
  }
  return problems::LogisticRegression(Tensor::from_vector(x, {n, d}, DType::f64),
                                      Tensor::from_vector(y, {n}, DType::f64), 1e-2);
}

}  // namespace

TEST(ConjugateGradient, SolvesSpdSystemAndDetectsNegativeCurvature) {
  Rng rng(3);
  const int n = 30;
  Eigen::MatrixXd m(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) m(i, j) = rng.normal();
  const Eigen::MatrixXd a = m * m.transpose() + Eigen::MatrixXd::Identity(n, n);
  Eigen::VectorXd b(n);
  for (auto& v : b) v = rng.normal();
  auto apply = [&](const Eigen::MatrixXd& mat) {
    return [&mat](const Tensor& v, Tensor& out) { out.copy_from(to_tensor(mat * to_eigen(v))); };
  };
  const auto r = conjugate_gradient(apply(a), to_tensor(b), 1e-10 * b.norm(), 500);
  EXPECT_TRUE(r.converged);
  EXPECT_FALSE(r.negative_curvature);
  const Eigen::VectorXd exact = a.ldlt().solve(b);
  EXPECT_LT((to_eigen(r.x) - exact).norm(), 1e-8 * exact.norm());
  EXPECT_LT((a * to_eigen(r.x) - b).norm(), 1e-9 * b.norm());

  // −A is negative definite: the first direction has negative curvature and b comes back.
  const Eigen::MatrixXd neg_a = -a;
  const auto bad = conjugate_gradient(apply(neg_a), to_tensor(b), 1e-10, 500);
  EXPECT_TRUE(bad.negative_curvature);
  EXPECT_EQ(bad.iterations, 1);
  EXPECT_LT((to_eigen(bad.x) - b).norm(), 1e-15);
  EXPECT_THROW(conjugate_gradient(apply(a), to_tensor(b), -1.0, 10), InputError);
  EXPECT_THROW(conjugate_gradient(apply(a), to_tensor(b), 1e-8, 0), InputError);
}

TEST(NewtonCg, QuadraticInOneNewtonStep) {
  auto q = problems::Quadratic::with_condition_number(40, 1e3, 5);
  NewtonCgOptions o;
  o.forcing_max = 1e-13;  // solve the Newton system (almost) exactly
  const auto t = newton_cg(q, Tensor::zeros({40}, DType::f64), o, {.max_steps = 1});
  ASSERT_EQ(t.steps.size(), 1u);
  const Tensor star = q.minimizer();
  EXPECT_LT(norm(sub(t.theta, star)), 1e-9 * norm(star));
  EXPECT_LE(t.inner_products, 40 * 3);  // CG on a 40-D SPD system
  EXPECT_EQ(t.evaluations, 2);          // the full step α = 1 was accepted at once
}

TEST(NewtonCg, RosenbrockTo1e10) {
  for (int64_t n : {2, 10}) {
    problems::Rosenbrock r(n);
    const auto t = newton_cg(r, r.classic_start(), {}, {.max_steps = 500, .gradient_tolerance = 1e-9});
    EXPECT_TRUE(t.converged) << t.stop_reason;
    EXPECT_LT(norm(sub(t.theta, r.minimizer())), 1e-10) << "n = " << n;
    std::printf("  Rosenbrock %lld-D: %zu Newton steps, %lld HVPs, %lld evaluations\n", static_cast<long long>(n),
                t.steps.size(), static_cast<long long>(t.inner_products), static_cast<long long>(t.evaluations));
  }
  // From (0, 1) the Hessian is indefinite (∂²f/∂θ₀² = −398): the negative-curvature exit must
  // still lead to the minimum.
  problems::Rosenbrock r(2);
  const auto t = newton_cg(r, Tensor::from_vector({0.0, 1.0}, {2}, DType::f64), {},
                           {.max_steps = 500, .gradient_tolerance = 1e-9});
  EXPECT_TRUE(t.converged) << t.stop_reason;
  EXPECT_LT(norm(sub(t.theta, r.minimizer())), 1e-10);
}

TEST(NewtonCg, LogisticRegressionMatchesLbfgs) {
  auto lr = logistic_problem();
  const auto t = newton_cg(lr, Tensor::zeros({5}, DType::f64), {}, {.max_steps = 100, .gradient_tolerance = 1e-12});
  EXPECT_TRUE(t.converged) << t.stop_reason;
  // f is μ-strongly convex with μ ≥ l2 = 1e-2, so ‖θ − θ*‖ ≤ ‖∇f(θ)‖/μ for both solutions.
  LbfgsOptions lo;
  lo.gradient_tolerance = 1e-9;  // L-BFGS's line search runs out of digits in f much below this
  const auto ref = lbfgs(eigen_function(lr), Eigen::VectorXd::Zero(5), lo);
  ASSERT_TRUE(ref.converged) << ref.reason;
  EXPECT_LE((to_eigen(t.theta) - ref.x).norm(), (ref.gradient.norm() + t.gradient_norm) / 1e-2);
  EXPECT_LE(t.gradient_norm, 1e-12);
  EXPECT_LT(t.steps.size(), 15u);  // quadratic convergence from zero on a strongly convex problem
}

TEST(NewtonCg, FewerIterationsThanLbfgsOnIllConditionedQuadratic) {
  auto q = problems::Quadratic::with_condition_number(200, 1e6, 11);
  const auto t = newton_cg(q, Tensor::zeros({200}, DType::f64), {}, {.max_steps = 200, .gradient_tolerance = 1e-8});
  ASSERT_TRUE(t.converged) << t.stop_reason;
  LbfgsOptions lo;
  lo.gradient_tolerance = 1e-8 / std::sqrt(200.0);  // lbfgs tests max|g|; this implies ‖g‖ ≤ 1e-8
  lo.max_iterations = 100000;
  const auto ref = lbfgs(eigen_function(q), Eigen::VectorXd::Zero(200), lo);
  ASSERT_TRUE(ref.converged) << ref.reason;
  std::printf("  κ = 1e6, P = 200: Newton-CG %zu iterations (%lld HVPs), L-BFGS %d iterations\n", t.steps.size(),
              static_cast<long long>(t.inner_products), ref.iterations);
  EXPECT_LT(static_cast<int>(t.steps.size()), ref.iterations);
  EXPECT_LT(norm(sub(t.theta, q.minimizer())), 1e-6 * norm(q.minimizer()));
}

TEST(NewtonCg, AgreesWithScipy) {
  DESCENT_RUN_PEER_SCRIPT(out, "scipy", "tests/optim/scipy_second_order.py newton_cg");
  std::istringstream lines(out);
  auto check = [&](const char* name, Objective& f, const Tensor& x0) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line)) << "no scipy result for " << name;
    std::istringstream nums(line);
    int nit = 0;
    nums >> nit;
    Eigen::VectorXd ref(f.dimension());
    for (auto& v : ref) ASSERT_TRUE(nums >> v) << "short scipy line for " << name;
    const auto t = newton_cg(f, x0, {}, {.max_steps = 500, .gradient_tolerance = 1e-11});
    EXPECT_TRUE(t.converged) << t.stop_reason;
    // scipy stops once pᵀHp ≤ 3·eps on a CG direction, i.e. at ‖g‖ ~ 1e-8, so its point is
    // only as exact as its gradient allows: ‖θ_scipy − θ*‖ ≲ ‖∇f(θ_scipy)‖ / λ_min(∇²f(θ*)).
    // λ_min from the dense Hessian at our point (columns by HVPs; P is small).
    const int64_t p = f.dimension();
    Eigen::MatrixXd h(p, p);
    for (int64_t j = 0; j < p; ++j) {
      Tensor e = Tensor::zeros({p}, DType::f64), hv = Tensor::empty({p}, DType::f64);
      e.set(j, 1.0);
      f.hessian_vector_product(t.theta, e, hv);
      h.col(j) = to_eigen(hv);
    }
    const double lambda_min = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(0.5 * (h + h.transpose()))
                                  .eigenvalues()
                                  .minCoeff();
    ASSERT_GT(lambda_min, 0.0) << name << ": the Newton-CG limit is not a strict minimum";
    Tensor g_ref = Tensor::empty({p}, DType::f64);
    f.value_and_gradient(to_tensor(ref), g_ref);
    const double allowed = 2.0 * norm(g_ref) / lambda_min + 1e-12 * ref.norm();
    const double dist = (to_eigen(t.theta) - ref).norm();
    std::printf("  %s: descent %zu iterations (|g| %.1e), scipy %d (|g| %.1e); |x - x_scipy| %.2e, allowed %.2e\n",
                name, t.steps.size(), t.gradient_norm, nit, norm(g_ref), dist, allowed);
    EXPECT_LE(dist, allowed) << name;
  };
  problems::Rosenbrock r(4);
  check("rosenbrock-4", r, r.classic_start());
  auto lr = logistic_problem();
  check("logistic", lr, Tensor::zeros({5}, DType::f64));
}

TEST(NewtonCg, RefusesBadOptions) {
  problems::Rosenbrock r(2);
  NewtonCgOptions o;
  o.forcing_max = 0.0;
  EXPECT_THROW(newton_cg(r, r.classic_start(), o), InputError);
  o = {};
  o.c1 = 1.5;
  EXPECT_THROW(newton_cg(r, r.classic_start(), o), InputError);
  EXPECT_THROW(newton_cg(r, Tensor::zeros({3}, DType::f64)), ShapeError);
}
