#pragma once
// The two ends of one iteration, shared by the iterative methods of optim: the stopping checks
// at the current point before a step, and after the step the callbacks and the time budget.
// Private to optim.
#include <chrono>
#include <cmath>
#include <vector>

#include "descent/optim/minimize.hpp"

namespace descent::optim::detail {

// Before a step at the current point (value f, gradient norm ‖g‖): returns true with
// trace.stop_reason set when the run ends here: "non_finite" (θ stays at the last finite
// point), "gradient_tolerance" (only where the gradient is the full one, check_gradient) or
// "value_target", the last two with trace.converged.
template <class TraceType>
bool stop_before_step(TraceType& trace, double value, double gradient_norm, const StopCriteria& stop,
                      bool check_gradient = true) {
  if (!std::isfinite(value) || !std::isfinite(gradient_norm)) {
    trace.stop_reason = "non_finite";
    return true;
  }
  if (check_gradient && gradient_norm <= stop.gradient_tolerance) {
    trace.stop_reason = "gradient_tolerance";
    trace.converged = true;
    return true;
  }
  if (value <= stop.value_target) {
    trace.stop_reason = "value_target";
    trace.converged = true;
    return true;
  }
  return false;
}

// Calls every callback with the step's record (all of them, even after one asks to stop),
// and returns true with trace.stop_reason set when the run must end: "callback" when one
// asked to, "max_seconds" when the run has used its time.
inline bool stop_after_step(Trace& trace, const StepRecord& record, const std::vector<Callback>& callbacks,
                            std::chrono::steady_clock::time_point start, double max_seconds) {
  bool stop_now = false;
  for (const auto& cb : callbacks) stop_now |= cb(record, trace.theta);
  if (stop_now) {
    trace.stop_reason = "callback";
    return true;
  }
  if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= max_seconds) {
    trace.stop_reason = "max_seconds";
    return true;
  }
  return false;
}

}  // namespace descent::optim::detail
