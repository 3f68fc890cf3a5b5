#pragma once
// The end of one iteration, shared by every iterative method of optim (minimize, Armijo GD,
// mirror descent, SVRG/SAGA): run the callbacks, then check the time budget. Private to optim.
#include <chrono>
#include <vector>

#include "descent/optim/minimize.hpp"

namespace descent::optim::detail {

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
