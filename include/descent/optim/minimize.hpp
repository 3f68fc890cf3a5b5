#pragma once
// One call to run a first-order optimizer on an Objective (the ensmallen uniform call):
//   Trace t = minimize(objective, theta0, adam(1e-2), {.max_steps = 500}, {print_progress(50)});
// Callbacks see every step and may stop the run (logging, early stopping, progress).
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "descent/core/objective.hpp"
#include "descent/optim/transform.hpp"

namespace descent::optim {

struct StopCriteria {
  int64_t max_steps = 1000;        // optimizer updates
  double gradient_tolerance = 0.0;  // converged when ‖∇f(θ)‖ ≤ this (full-gradient runs only)
  double value_target = -std::numeric_limits<double>::infinity();  // converged when f(θ) ≤ this
  double max_seconds = std::numeric_limits<double>::infinity();
};

// One update: f and ‖g‖ at θ_k (for stochastic runs: on the mini-batch), ‖θ_{k+1} − θ_k‖,
// and the wall time of the evaluation plus the update.
struct StepRecord {
  int64_t step = 0;
  double value = 0.0;
  double gradient_norm = 0.0;
  double step_size = 0.0;
  double seconds = 0.0;
};

struct Trace {
  std::vector<StepRecord> steps;
  Tensor theta;              // final parameters
  double value = 0.0;        // f(θ) at the end (full objective)
  double gradient_norm = 0.0;
  bool converged = false;    // a tolerance or target was met
  std::string stop_reason;   // "gradient_tolerance", "value_target", "max_steps", "max_seconds",
                             // "callback", "non_finite"
};

// Called after every step; returning true stops the run (stop_reason "callback").
using Callback = std::function<bool(const StepRecord& record, const Tensor& theta)>;

// Prints "step value ‖g‖ ‖Δθ‖" every `every` steps.
Callback print_progress(int64_t every, std::FILE* out = stderr);
// Stops when the value has not improved by more than min_delta for `patience` steps.
Callback early_stopping(int64_t patience, double min_delta = 0.0);
// Appends every record to `records` (for tests and plots).
Callback record_into(std::vector<StepRecord>& records);

// Full-gradient run from a copy of theta0 (theta0 is not modified). A non-finite value or
// gradient stops the run with stop_reason "non_finite" and θ at the last finite point.
Trace minimize(Objective& objective, const Tensor& theta0, const GradientTransformation& optimizer,
               const StopCriteria& stop = {}, const std::vector<Callback>& callbacks = {});

struct StochasticOptions {
  int64_t batch_size = 32;
  uint64_t seed = 0;  // fixes the order of examples: epochs of seeded random permutations
};

// Mini-batch run on a finite-sum objective (batch_value_and_gradient): each epoch visits a
// fresh seeded permutation in batches (the last one may be smaller). Records hold the batch
// loss and batch-gradient norm; gradient_tolerance is not used (a batch gradient does not
// vanish at the optimum); Trace::value is the full objective at the end.
Trace minimize_stochastic(Objective& objective, const Tensor& theta0, const GradientTransformation& optimizer,
                          const StochasticOptions& options, const StopCriteria& stop = {},
                          const std::vector<Callback>& callbacks = {});

}  // namespace descent::optim
