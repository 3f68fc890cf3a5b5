#pragma once
// The ask–tell interface that every continuous black-box method implements, and the
// one-call `minimize` that drives any of them: ask for a batch, evaluate it (in parallel
// on a thread pool if given), tell the values, until a budget, a target or the method's
// own stopping rule.
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "descent/blackbox/problem.hpp"

namespace descent::blackbox {

class AskTell {
 public:
  virtual ~AskTell() = default;
  // The next points to evaluate (a population or a batch).
  virtual std::vector<Vector> ask() = 0;
  // Their values, in the order asked; a failed evaluation is reported as +infinity.
  virtual void tell(const std::vector<Vector>& xs, const std::vector<double>& fs) = 0;
  // The method's own termination (converged, degenerate): minimize stops when true.
  virtual bool should_stop() const { return false; }
  virtual std::string stop_reason() const { return {}; }
  virtual std::string name() const = 0;
};

struct MinimizeOptions {
  int64_t max_evaluations = 1000;
  // Stop as soon as the best value is <= target.
  double target = -std::numeric_limits<double>::infinity();
  ThreadPool* pool = nullptr;   // evaluates each batch in parallel when set
  bool keep_history = true;     // record every Evaluation in the result
  // Called after each tell with the evaluations of that batch; return false to stop.
  std::function<bool(const std::vector<Evaluation>&)> on_batch;
  // Called with each new evaluation as soon as it is recorded, numbered from 1 in order, with
  // the best value so far: e.g. to append it to a log that survives a crash. Without a pool
  // the points of a batch are evaluated one by one, so each is reported as it finishes.
  std::function<void(int64_t number, const Evaluation&, double best)> on_evaluation;
  // The evaluations of an earlier, interrupted run of the same study (same method, seed and
  // bounds), in order: they are taken instead of calling f, after checking that the method
  // asks for exactly the logged points (InputError otherwise), so the study continues where
  // it stopped. on_evaluation is not called for them.
  std::vector<Evaluation> replay;
};

struct MinimizeResult {
  Vector x;                         // best point found (empty if every evaluation failed)
  double f = std::numeric_limits<double>::infinity();
  int64_t evaluations = 0;
  int64_t failures = 0;
  int64_t batches = 0;
  std::string reason;               // why it stopped
  std::vector<double> best_so_far;  // best f after each evaluation (for regret curves)
  std::vector<Evaluation> history;  // every evaluation, when keep_history
};

// Never evaluates past max_evaluations: when the budget ends inside a batch, only the points
// the budget allows are evaluated (the method is then not told, since the study ends).
MinimizeResult minimize(AskTell& method, const Function& f, const MinimizeOptions& options = {});

}  // namespace descent::blackbox
