#include "descent/optim/minimize.hpp"

#include <chrono>
#include <cmath>
#include <functional>
#include <span>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "checks.hpp"
#include "run_loop.hpp"

namespace descent::optim {

Callback print_progress(int64_t every, std::FILE* out) {
  DESCENT_CHECK(every >= 1, InputError, "print_progress: every must be >= 1, got {}", every);
  return [every, out](const StepRecord& r, const Tensor&) {
    if (r.step % every == 0)
      std::fprintf(out, "step %6lld  f %.10g  |g| %.4g  |dtheta| %.4g\n", static_cast<long long>(r.step), r.value,
                   r.gradient_norm, r.step_size);
    return false;
  };
}

Callback early_stopping(int64_t patience, double min_delta) {
  DESCENT_CHECK(patience >= 1, InputError, "early_stopping: patience must be >= 1, got {}", patience);
  DESCENT_CHECK(min_delta >= 0.0, InputError, "early_stopping: min_delta must be >= 0, got {}", min_delta);
  auto best = std::make_shared<double>(std::numeric_limits<double>::infinity());
  auto since = std::make_shared<int64_t>(0);
  return [=](const StepRecord& r, const Tensor&) {
    if (r.value < *best - min_delta) {
      *best = r.value;
      *since = 0;
      return false;
    }
    return ++*since >= patience;
  };
}

Callback record_into(std::vector<StepRecord>& records) {
  return [&records](const StepRecord& r, const Tensor&) {
    records.push_back(r);
    return false;
  };
}

namespace {

using Clock = std::chrono::steady_clock;

// ‖a − b‖ without a temporary.
double distance(const Tensor& a, const Tensor& b) {
  return dispatch_floating(a.dtype(), "minimize", [&](auto zero) {
    using T = decltype(zero);
    const T* x = a.data<T>();
    const T* y = b.data<T>();
    double s = 0.0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      const double d = static_cast<double>(x[i]) - static_cast<double>(y[i]);
      s += d * d;
    }
    return std::sqrt(s);
  });
}

// The shared loop: `evaluate(theta, grad, step)` gives the value at θ_k and fills the gradient;
// `same_batch(theta', grad)` evaluates the batch of the last `evaluate` elsewhere (for links
// such as SAM that read the StepContext).
template <class Evaluate>
Trace run(Objective& objective, const Tensor& theta0, const GradientTransformation& optimizer,
          const StopCriteria& stop, const std::vector<Callback>& callbacks, bool full_gradient, Evaluate&& evaluate,
          std::function<double(const Tensor&, Tensor&)> same_batch) {
  detail::check_start("minimize", theta0.numel(), objective.dimension());
  DESCENT_CHECK(stop.max_steps >= 0, InputError, "minimize: max_steps must be >= 0, got {}", stop.max_steps);
  Trace trace;
  trace.theta = theta0.clone().flatten();
  Tensor previous = trace.theta.clone();
  Tensor grad = Tensor::empty({trace.theta.numel()}, trace.theta.dtype());
  State state = optimizer.init(trace.theta);
  const auto start = Clock::now();
  trace.stop_reason = "max_steps";
  for (int64_t k = 0; k < stop.max_steps; ++k) {
    const auto t0 = Clock::now();
    const double value = evaluate(trace.theta, grad, k);
    const double gnorm = norm(grad);
    if (!std::isfinite(value) || !std::isfinite(gnorm)) {
      trace.stop_reason = "non_finite";
      break;
    }
    if (full_gradient && gnorm <= stop.gradient_tolerance) {
      trace.stop_reason = "gradient_tolerance";
      trace.converged = true;
      break;
    }
    if (value <= stop.value_target) {
      trace.stop_reason = "value_target";
      trace.converged = true;
      break;
    }
    previous.copy_from(trace.theta);
    optimizer.step(trace.theta, grad, state, StepContext{value, same_batch});
    StepRecord rec{k, value, gnorm, distance(trace.theta, previous),
                   std::chrono::duration<double>(Clock::now() - t0).count()};
    trace.steps.push_back(rec);
    if (!all_finite(trace.theta)) {
      trace.theta.copy_from(previous);
      trace.stop_reason = "non_finite";
      break;
    }
    if (detail::stop_after_step(trace, rec, callbacks, start, stop.max_seconds)) break;
  }
  trace.value = objective.value_and_gradient(trace.theta, grad);
  trace.gradient_norm = norm(grad);
  if (trace.stop_reason == "max_steps" && full_gradient) {
    // The last update may have met a criterion.
    if (trace.gradient_norm <= stop.gradient_tolerance || trace.value <= stop.value_target) {
      trace.converged = true;
      trace.stop_reason = trace.gradient_norm <= stop.gradient_tolerance ? "gradient_tolerance" : "value_target";
    }
  }
  return trace;
}

}  // namespace

Trace minimize(Objective& objective, const Tensor& theta0, const GradientTransformation& optimizer,
               const StopCriteria& stop, const std::vector<Callback>& callbacks) {
  return run(
      objective, theta0, optimizer, stop, callbacks, true,
      [&](const Tensor& theta, Tensor& grad, int64_t) { return objective.value_and_gradient(theta, grad); },
      [&](const Tensor& theta, Tensor& grad) { return objective.value_and_gradient(theta, grad); });
}

Trace minimize_stochastic(Objective& objective, const Tensor& theta0, const GradientTransformation& optimizer,
                          const StochasticOptions& options, const StopCriteria& stop,
                          const std::vector<Callback>& callbacks) {
  const int64_t n = objective.num_examples();
  DESCENT_CHECK(n > 0, InputError, "minimize_stochastic: the objective is not a finite sum (num_examples() = 0)");
  DESCENT_CHECK(options.batch_size >= 1, InputError, "minimize_stochastic: batch_size must be >= 1, got {}",
                options.batch_size);
  Rng rng(options.seed);
  std::vector<int64_t> order;
  int64_t cursor = n;  // forces a fresh permutation on the first batch
  std::span<const int64_t> batch;
  return run(
      objective, theta0, optimizer, stop, callbacks, false,
      [&](const Tensor& theta, Tensor& grad, int64_t) {
        if (cursor >= n) {
          order = rng.permutation(n);
          cursor = 0;
        }
        const int64_t m = std::min(options.batch_size, n - cursor);
        batch = std::span<const int64_t>(order.data() + cursor, static_cast<size_t>(m));
        cursor += m;
        return objective.batch_value_and_gradient(theta, batch, grad);
      },
      [&](const Tensor& theta, Tensor& grad) { return objective.batch_value_and_gradient(theta, batch, grad); });
}

}  // namespace descent::optim
