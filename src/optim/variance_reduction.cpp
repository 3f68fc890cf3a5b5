#include "descent/optim/variance_reduction.hpp"

#include <chrono>
#include <cmath>

#include "checks.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "run_loop.hpp"

namespace descent::optim {

namespace {

using Clock = std::chrono::steady_clock;

// The epoch loop both methods share; `epoch(theta, full_gradient)` runs the inner steps.
template <class Epoch>
Trace run_epochs(const char* who, Objective& objective, const Tensor& theta0, const VarianceReducedOptions& o,
                 const StopCriteria& stop, const std::vector<Callback>& callbacks, Epoch&& epoch) {
  detail::check_positive(who, "learning_rate", o.learning_rate);
  DESCENT_CHECK(objective.num_examples() > 0, InputError, "{}: the objective is not a finite sum", who);
  DESCENT_CHECK(o.epochs >= 0 && o.inner_steps >= 0, InputError, "{}: epochs and inner_steps must be >= 0", who);
  detail::check_start(who, theta0.numel(), objective.dimension());
  Trace trace;
  trace.theta = theta0.clone().flatten();
  Tensor full = Tensor::empty({trace.theta.numel()}, trace.theta.dtype()), start = trace.theta.clone();
  trace.stop_reason = "max_steps";
  for (int64_t e = 0; e < o.epochs; ++e) {
    const auto t0 = Clock::now();
    const double f = objective.value_and_gradient(trace.theta, full);
    const double gnorm = norm(full);
    if (detail::stop_before_step(trace, f, gnorm, stop)) break;
    start.copy_from(trace.theta);
    epoch(trace.theta, full);
    const StepRecord rec{e, f, gnorm, norm(sub(trace.theta, start)),
                         std::chrono::duration<double>(Clock::now() - t0).count()};
    trace.steps.push_back(rec);
    bool stop_now = false;
    for (const auto& cb : callbacks) stop_now |= cb(rec, trace.theta);
    if (stop_now) { trace.stop_reason = "callback"; break; }
  }
  trace.value = objective.value_and_gradient(trace.theta, full);
  trace.gradient_norm = norm(full);
  if (trace.stop_reason == "max_steps" &&
      (trace.gradient_norm <= stop.gradient_tolerance || trace.value <= stop.value_target)) {
    trace.converged = true;
    trace.stop_reason = trace.gradient_norm <= stop.gradient_tolerance ? "gradient_tolerance" : "value_target";
  }
  return trace;
}

}  // namespace

Trace svrg(Objective& objective, const Tensor& theta0, const VarianceReducedOptions& o, const StopCriteria& stop,
           const std::vector<Callback>& callbacks) {
  const int64_t n = objective.num_examples();
  const int64_t m = o.inner_steps > 0 ? o.inner_steps : n;
  Rng rng(o.seed);
  Tensor snapshot, gi, gs;
  return run_epochs("svrg", objective, theta0, o, stop, callbacks, [&](Tensor& theta, const Tensor& mu) {
    if (!snapshot.defined()) {
      snapshot = theta.clone();
      gi = Tensor::empty({theta.numel()}, theta.dtype());
      gs = gi.clone();
    }
    snapshot.copy_from(theta);
    const double eta = o.learning_rate;
    for (int64_t s = 0; s < m; ++s) {
      const int64_t i = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
      objective.batch_value_and_gradient(theta, {&i, 1}, gi);
      objective.batch_value_and_gradient(snapshot, {&i, 1}, gs);
      // θ ← θ − η (∇f_i(θ) − ∇f_i(θ̃) + μ)
      axpy(theta, -eta, gi);
      axpy(theta, eta, gs);
      axpy(theta, -eta, mu);
    }
  });
}

Trace saga(Objective& objective, const Tensor& theta0, const VarianceReducedOptions& o, const StopCriteria& stop,
           const std::vector<Callback>& callbacks) {
  const int64_t n = objective.num_examples();
  const int64_t m = o.inner_steps > 0 ? o.inner_steps : n;
  Rng rng(o.seed);
  Tensor table, average, gj;
  return run_epochs("saga", objective, theta0, o, stop, callbacks, [&](Tensor& theta, const Tensor&) {
    const int64_t p = theta.numel();
    if (!table.defined()) {
      // The table starts at the per-example gradients of θ0 (Defazio et al. initialize it so).
      table = Tensor::empty({n, p}, theta.dtype());
      std::vector<int64_t> all(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) all[static_cast<size_t>(i)] = i;
      objective.per_example_gradients(theta, all, table);
      average = mean(table, {0});
      gj = Tensor::empty({p}, theta.dtype());
    }
    const double eta = o.learning_rate, inv_n = 1.0 / static_cast<double>(n);
    for (int64_t s = 0; s < m; ++s) {
      const int64_t j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
      objective.batch_value_and_gradient(theta, {&j, 1}, gj);
      Tensor tj = table.row(j);
      // θ ← θ − η (∇f_j(θ) − t_j + mean(t)); mean(t) ← mean(t) + (∇f_j − t_j)/n; t_j ← ∇f_j.
      axpy(theta, -eta, gj);
      axpy(theta, eta, tj);
      axpy(theta, -eta, average);
      axpy(average, inv_n, gj);
      axpy(average, -inv_n, tj);
      tj.copy_from(gj);
    }
  });
}

}  // namespace descent::optim
