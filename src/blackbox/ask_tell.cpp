#include "descent/blackbox/ask_tell.hpp"

#include <algorithm>

#include "descent/core/error.hpp"

namespace descent::blackbox {

MinimizeResult minimize(AskTell& method, const Function& f, const MinimizeOptions& options) {
  DESCENT_CHECK(options.max_evaluations > 0, InputError,
                "minimize: max_evaluations must be positive, got {}", options.max_evaluations);
  MinimizeResult r;
  r.reason = "evaluation budget exhausted";
  std::vector<double> fs;
  while (r.evaluations < options.max_evaluations) {
    if (method.should_stop()) {
      r.reason = method.name() + ": " + method.stop_reason();
      break;
    }
    std::vector<Vector> xs = method.ask();
    DESCENT_CHECK(!xs.empty(), Error, "minimize: {} asked for no points", method.name());
    const auto evals = evaluate_all(f, xs, options.pool);
    fs.resize(evals.size());
    for (size_t i = 0; i < evals.size(); ++i) fs[i] = evals[i].f;
    method.tell(xs, fs);
    ++r.batches;
    bool hit_target = false;
    for (const auto& e : evals) {
      if (r.evaluations >= options.max_evaluations) break;  // evaluated but over budget: not counted
      ++r.evaluations;
      if (!e.ok) ++r.failures;
      if (e.ok && e.f < r.f) {
        r.f = e.f;
        r.x = e.x;
      }
      r.best_so_far.push_back(r.f);
      if (options.keep_history) r.history.push_back(e);
      if (r.f <= options.target) hit_target = true;
    }
    if (hit_target) {
      r.reason = "target reached";
      break;
    }
    if (options.on_batch && !options.on_batch(evals)) {
      r.reason = "stopped by callback";
      break;
    }
  }
  return r;
}

}  // namespace descent::blackbox
