#include "descent/optim/gauss_newton.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <Eigen/Dense>

#include "checks.hpp"
#include "descent/optim/conjugate_gradient.hpp"
#include "run_loop.hpp"

namespace descent::optim {

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

Tensor to_tensor(const VectorXd& v) {
  Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::f64);
  Eigen::Map<VectorXd>(t.data<double>(), v.size()) = v;
  return t;
}

}  // namespace

SecondOrderTrace gauss_newton(const ResidualFunction& pr, const VectorXd& theta0, const GaussNewtonOptions& o,
                              const StopCriteria& stop, const std::vector<Callback>& callbacks) {
  const char* who = "gauss_newton";
  const int64_t m = pr.residuals, p = pr.parameters;
  DESCENT_CHECK(m >= 1 && p >= 1, InputError, "{}: the problem must have residuals >= 1 and parameters >= 1, got {} and {}",
                who, m, p);
  DESCENT_CHECK(theta0.size() == p, ShapeError, "{}: theta0 has {} elements, the problem has {} parameters", who,
                theta0.size(), p);
  DESCENT_CHECK(static_cast<bool>(pr.residual), InputError, "{}: the problem has no residual function", who);
  const bool dense = static_cast<bool>(pr.jacobian);
  DESCENT_CHECK(dense || (pr.jvp && pr.vjp), InputError,
                "{}: give either the Jacobian or both products (jvp and vjp) of the residuals", who);
  detail::check_nonnegative(who, "damping", o.damping);
  DESCENT_CHECK(std::isfinite(o.damping_increase) && o.damping_increase > 1.0, InputError,
                "{}: damping_increase must be > 1, got {}", who, o.damping_increase);
  detail::check_open_unit(who, "damping_decrease", o.damping_decrease);
  DESCENT_CHECK(o.max_refusals >= 0, InputError, "{}: max_refusals must be >= 0, got {}", who, o.max_refusals);
  detail::check_positive(who, "cg_tolerance", o.cg_tolerance);
  DESCENT_CHECK(o.max_cg_iterations >= 0, InputError, "{}: max_cg_iterations must be >= 0, got {}", who,
                o.max_cg_iterations);
  DESCENT_CHECK(dense || !o.marquardt_scaling, InputError,
                "{}: marquardt_scaling needs diag(JᵀJ), i.e. the dense Jacobian; use D = I with products", who);
  using Clock = std::chrono::steady_clock;

  SecondOrderTrace trace;
  VectorXd theta = theta0, r(m), r_trial(m), g(p), step(p), trial(p);
  auto residual = [&](const VectorXd& x, VectorXd& out) {
    out.resize(m);
    pr.residual(x, out);
    ++trace.evaluations;
    DESCENT_CHECK(out.size() == m, ShapeError, "{}: the residual function returned {} values, expected {}", who,
                  out.size(), m);
    return 0.5 * out.squaredNorm();
  };
  MatrixXd jac, jtj;
  auto gradient = [&]() {  // g = Jᵀr at θ (and J, JᵀJ in the dense form)
    if (dense) {
      jac.resize(m, p);
      pr.jacobian(theta, jac);
      DESCENT_CHECK(jac.rows() == m && jac.cols() == p, ShapeError, "{}: the Jacobian is [{}, {}], expected [{}, {}]",
                    who, jac.rows(), jac.cols(), m, p);
      g.noalias() = jac.transpose() * r;
      jtj.noalias() = jac.transpose() * jac;
    } else {
      g.resize(p);
      pr.vjp(theta, r, g);
    }
  };
  // (JᵀJ + λD) s = −g.
  VectorXd jv(m), jtjv(p);
  auto solve = [&](double lambda, VectorXd& s) {
    if (dense) {
      MatrixXd a = jtj;
      if (o.marquardt_scaling) {
        // Marquardt's D = diag(JᵀJ), floored so that a zero column still gets some damping.
        const double floor = 1e-12 * std::max(jtj.diagonal().maxCoeff(), 1e-300);
        a.diagonal().array() += lambda * jtj.diagonal().array().max(floor);
      } else {
        a.diagonal().array() += lambda;
      }
      s = a.ldlt().solve(-g);
      return;
    }
    const LinearOperator normal = [&](const Tensor& v, Tensor& out) {
      const Eigen::Map<const VectorXd> vv(v.data<double>(), p);
      pr.jvp(theta, vv, jv);
      pr.vjp(theta, jv, jtjv);
      Eigen::Map<VectorXd>(out.data<double>(), p) = jtjv + lambda * vv;
    };
    const auto cg = conjugate_gradient(normal, to_tensor(-g), o.cg_tolerance * g.norm(),
                                       o.max_cg_iterations > 0 ? o.max_cg_iterations : 2 * p);
    trace.inner_products += cg.iterations;
    s = Eigen::Map<const VectorXd>(cg.x.data<double>(), p);
  };

  double f = residual(theta, r);
  double lambda = o.damping;
  trace.theta = to_tensor(theta);
  trace.stop_reason = "max_steps";
  const auto start = Clock::now();
  for (int64_t k = 0; k < stop.max_steps; ++k) {
    const auto t0 = Clock::now();
    gradient();
    const double gnorm = g.norm();
    if (detail::stop_before_step(trace, f, gnorm, stop)) break;

    bool accepted = false;
    double f_trial = f;
    if (o.damping == 0.0) {
      // Gauss–Newton: the step is a descent direction (gᵀs = −sᵀJᵀJs < 0); Armijo backtracking.
      solve(0.0, step);
      const double slope = g.dot(step);
      double a = 1.0;
      for (int b = 0; b <= o.max_refusals && slope < 0.0; ++b, a *= 0.5) {
        trial = theta + a * step;
        f_trial = residual(trial, r_trial);
        if (std::isfinite(f_trial) && f_trial <= f + 1e-4 * a * slope) { accepted = true; break; }
      }
    } else {
      for (int b = 0; b <= o.max_refusals; ++b) {
        solve(lambda, step);
        trial = theta + step;
        f_trial = residual(trial, r_trial);
        if (std::isfinite(f_trial) && f_trial < f) {
          accepted = true;
          lambda = std::max(lambda * o.damping_decrease, 1e-16);  // never 0: it must be able to grow again
          break;
        }
        lambda *= o.damping_increase;
      }
    }
    if (!accepted) {  // no step lowers f any more (at a minimum, f has run out of digits)
      trace.stop_reason = "no_progress";
      break;
    }
    const StepRecord rec{k, f, gnorm, (trial - theta).norm(), std::chrono::duration<double>(Clock::now() - t0).count()};
    theta.swap(trial);
    r.swap(r_trial);
    f = f_trial;
    trace.theta = to_tensor(theta);
    trace.steps.push_back(rec);
    if (detail::stop_after_step(trace, rec, callbacks, start, stop.max_seconds)) break;
  }
  gradient();
  trace.theta = to_tensor(theta);
  trace.value = f;
  trace.gradient_norm = g.norm();
  if ((trace.stop_reason == "max_steps" || trace.stop_reason == "no_progress") &&
      (trace.gradient_norm <= stop.gradient_tolerance || f <= stop.value_target)) {
    trace.converged = true;
    trace.stop_reason = trace.gradient_norm <= stop.gradient_tolerance ? "gradient_tolerance" : "value_target";
  }
  return trace;
}

}  // namespace descent::optim
