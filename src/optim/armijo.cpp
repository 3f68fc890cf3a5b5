#include "descent/optim/armijo.hpp"

#include <chrono>
#include <cmath>
#include <utility>

#include "checks.hpp"
#include "descent/core/ops.hpp"
#include "run_loop.hpp"

namespace descent::optim {

Trace gradient_descent_armijo(Objective& objective, const Tensor& theta0, const ArmijoOptions& o,
                              const StopCriteria& stop, const std::vector<Callback>& callbacks) {
  detail::check_positive("gradient_descent_armijo", "initial_step", o.initial_step);
  detail::check_open_unit("gradient_descent_armijo", "shrink", o.shrink);
  detail::check_open_unit("gradient_descent_armijo", "c1", o.c1);
  detail::check_start("gradient_descent_armijo", theta0.numel(), objective.dimension());
  using Clock = std::chrono::steady_clock;
  Trace trace;
  trace.theta = theta0.clone().flatten();
  const int64_t p = trace.theta.numel();
  Tensor g = Tensor::empty({p}, trace.theta.dtype()), g_trial = g.clone(), trial = g.clone();
  double f = objective.value_and_gradient(trace.theta, g);
  double alpha = o.initial_step;
  trace.stop_reason = "max_steps";
  const auto start = Clock::now();
  for (int64_t k = 0; k < stop.max_steps; ++k) {
    const auto t0 = Clock::now();
    const double gnorm = norm(g);
    if (detail::stop_before_step(trace, f, gnorm, stop)) break;
    double a = alpha, f_trial = 0.0;
    bool accepted = false;
    for (int b = 0; b <= o.max_backtracks; ++b, a *= o.shrink) {
      trial.copy_from(trace.theta);
      axpy(trial, -a, g);
      f_trial = objective.value_and_gradient(trial, g_trial);
      // Armijo (sufficient decrease) along −g: φ(α) ≤ φ(0) − c1 α ‖g‖².
      if (std::isfinite(f_trial) && f_trial <= f - o.c1 * a * gnorm * gnorm) { accepted = true; break; }
    }
    if (!accepted) { trace.stop_reason = "line_search_failed"; break; }
    trace.theta.copy_from(trial);
    std::swap(g, g_trial);  // the gradient at the accepted point is already known
    const StepRecord rec{k, f, gnorm, a * gnorm, std::chrono::duration<double>(Clock::now() - t0).count()};
    f = f_trial;
    alpha = a / o.shrink;
    trace.steps.push_back(rec);
    if (detail::stop_after_step(trace, rec, callbacks, start, stop.max_seconds)) break;
  }
  trace.value = f;
  trace.gradient_norm = norm(g);
  if (trace.stop_reason == "max_steps" && trace.gradient_norm <= stop.gradient_tolerance) {
    trace.stop_reason = "gradient_tolerance";
    trace.converged = true;
  }
  return trace;
}

}  // namespace descent::optim
