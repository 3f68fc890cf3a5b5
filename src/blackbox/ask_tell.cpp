#include "descent/blackbox/ask_tell.hpp"

#include <algorithm>

#include "descent/core/error.hpp"

namespace descent::blackbox {

MinimizeResult minimize(AskTell& method, const Function& f, const MinimizeOptions& options) {
  DESCENT_CHECK(options.max_evaluations > 0, InputError,
                "minimize: max_evaluations must be positive, got {}", options.max_evaluations);
  DESCENT_CHECK(static_cast<int64_t>(options.replay.size()) <= options.max_evaluations, InputError,
                "minimize: the earlier run holds {} evaluations, more than the budget of {}; raise the budget",
                options.replay.size(), options.max_evaluations);
  MinimizeResult r;
  r.reason = "evaluation budget exhausted";
  size_t replayed = 0;
  bool hit_target = false;
  auto record = [&](const Evaluation& e, bool is_new) {
    ++r.evaluations;
    if (!e.ok) ++r.failures;
    if (e.ok && e.f < r.f) {
      r.f = e.f;
      r.x = e.x;
    }
    r.best_so_far.push_back(r.f);
    if (options.keep_history) r.history.push_back(e);
    if (r.f <= options.target) hit_target = true;
    if (is_new && options.on_evaluation) options.on_evaluation(r.evaluations, e, r.f);
  };
  std::vector<double> fs;
  while (r.evaluations < options.max_evaluations) {
    if (method.should_stop()) {
      r.reason = method.name() + ": " + method.stop_reason();
      break;
    }
    std::vector<Vector> xs = method.ask();
    DESCENT_CHECK(!xs.empty(), Error, "minimize: {} asked for no points", method.name());
    // Only the points the budget allows are evaluated.
    const size_t n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(xs.size()),
                                                           options.max_evaluations - r.evaluations));
    std::vector<Evaluation> evals(n);
    size_t k = 0;
    for (; k < n && replayed < options.replay.size(); ++k, ++replayed) {
      const Evaluation& logged = options.replay[replayed];
      DESCENT_CHECK(logged.x.size() == xs[k].size() && logged.x == xs[k], InputError,
                    "minimize: evaluation {} of the earlier run is not the point {} asks for now; resume with the "
                    "same method, seed and bounds",
                    replayed + 1, method.name());
      evals[k] = logged;
      record(evals[k], false);
    }
    if (k < n && options.pool != nullptr) {
      const std::vector<Vector> rest(xs.begin() + static_cast<std::ptrdiff_t>(k),
                                     xs.begin() + static_cast<std::ptrdiff_t>(n));
      auto done = evaluate_all(f, rest, options.pool);
      for (size_t i = 0; i < done.size(); ++i) {
        evals[k + i] = std::move(done[i]);
        record(evals[k + i], true);
      }
    } else {
      for (; k < n; ++k) {
        evals[k] = evaluate_one(f, xs[k]);
        record(evals[k], true);
      }
    }
    if (n < xs.size()) break;  // the budget ended inside this batch
    fs.resize(n);
    for (size_t i = 0; i < n; ++i) fs[i] = evals[i].f;
    method.tell(xs, fs);
    ++r.batches;
    if (hit_target) {
      r.reason = "target reached";
      break;
    }
    if (options.on_batch && !options.on_batch(evals)) {
      r.reason = "stopped by callback";
      break;
    }
  }
  if (hit_target) r.reason = "target reached";
  return r;
}

}  // namespace descent::blackbox
