#include "descent/optim/newton_cg.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "checks.hpp"
#include "descent/core/ops.hpp"
#include "descent/optim/conjugate_gradient.hpp"
#include "run_loop.hpp"

namespace descent::optim {

SecondOrderTrace newton_cg(Objective& objective, const Tensor& theta0, const NewtonCgOptions& o,
                           const StopCriteria& stop, const std::vector<Callback>& callbacks) {
  detail::check_positive("newton_cg", "forcing_max", o.forcing_max);
  DESCENT_CHECK(o.max_cg_iterations >= 0, InputError, "newton_cg: max_cg_iterations must be >= 0, got {}",
                o.max_cg_iterations);
  detail::check_open_unit("newton_cg", "c1", o.c1);
  detail::check_open_unit("newton_cg", "shrink", o.shrink);
  DESCENT_CHECK(o.max_backtracks >= 0, InputError, "newton_cg: max_backtracks must be >= 0, got {}",
                o.max_backtracks);
  detail::check_start("newton_cg", theta0.numel(), objective.dimension());
  using Clock = std::chrono::steady_clock;
  SecondOrderTrace trace;
  trace.theta = theta0.clone().flatten();
  const int64_t p = trace.theta.numel();
  const int64_t max_cg = o.max_cg_iterations > 0 ? o.max_cg_iterations : 20 * p;
  Tensor g = Tensor::empty({p}, trace.theta.dtype()), g_trial = g.clone(), trial = g.clone();
  double f = objective.value_and_gradient(trace.theta, g);
  trace.evaluations = 1;
  const LinearOperator hessian = [&](const Tensor& v, Tensor& hv) {
    objective.hessian_vector_product(trace.theta, v, hv);
  };
  trace.stop_reason = "max_steps";
  const auto start = Clock::now();
  for (int64_t k = 0; k < stop.max_steps; ++k) {
    const auto t0 = Clock::now();
    const double gnorm = norm(g);
    if (detail::stop_before_step(trace, f, gnorm, stop)) break;

    // Inexact Newton direction: ‖∇²f p + g‖ ≤ η_k ‖g‖ (N&W eq. 7.3 with η_k = min(η_max, √‖g‖)).
    const double eta = std::min(o.forcing_max, std::sqrt(gnorm));
    Tensor minus_g = neg(g);
    ConjugateGradientResult cg = conjugate_gradient(hessian, minus_g, eta * gnorm, max_cg);
    trace.inner_products += cg.iterations;
    Tensor direction = std::move(cg.x);
    double slope = dot(g, direction);
    if (!(slope < 0.0)) {  // CG lost descent (rounding on a near-singular Hessian): steepest descent
      direction = std::move(minus_g);
      slope = -gnorm * gnorm;
    }

    // Armijo backtracking from the Newton step α = 1: f(θ + α p) ≤ f(θ) + c1 α gᵀp.
    double a = 1.0, f_trial = 0.0;
    bool accepted = false;
    for (int b = 0; b <= o.max_backtracks; ++b, a *= o.shrink) {
      trial.copy_from(trace.theta);
      axpy(trial, a, direction);
      f_trial = objective.value_and_gradient(trial, g_trial);
      ++trace.evaluations;
      if (std::isfinite(f_trial) && f_trial <= f + o.c1 * a * slope) { accepted = true; break; }
    }
    if (!accepted) { trace.stop_reason = "line_search_failed"; break; }
    trace.theta.copy_from(trial);
    std::swap(g, g_trial);
    const StepRecord rec{k, f, gnorm, a * norm(direction), std::chrono::duration<double>(Clock::now() - t0).count()};
    f = f_trial;
    trace.steps.push_back(rec);
    if (detail::stop_after_step(trace, rec, callbacks, start, stop.max_seconds)) break;
  }
  trace.value = f;
  trace.gradient_norm = norm(g);
  if (trace.stop_reason == "max_steps" && (trace.gradient_norm <= stop.gradient_tolerance || f <= stop.value_target)) {
    trace.converged = true;
    trace.stop_reason = trace.gradient_norm <= stop.gradient_tolerance ? "gradient_tolerance" : "value_target";
  }
  return trace;
}

}  // namespace descent::optim
