#pragma once
// Gradient descent with Armijo backtracking (Nocedal & Wright Alg. 3.1): from a trial step α,
// shrink α ← ρα until f(θ − α g) ≤ f(θ) − c1 α ‖g‖²; the next trial starts from α/ρ, so
// the step can grow back after a region of high curvature.
#include "descent/optim/minimize.hpp"

namespace descent::optim {

struct ArmijoOptions {
  double initial_step = 1.0;  // first trial α
  double shrink = 0.5;        // ρ ∈ (0, 1)
  double c1 = 1e-4;           // sufficient-decrease constant ∈ (0, 1)
  int max_backtracks = 60;    // per step; exceeding it stops the run ("line_search_failed")
};

// Records: value and ‖g‖ at θ_k, step_size = ‖θ_{k+1} − θ_k‖ = α‖g‖.
Trace gradient_descent_armijo(Objective& objective, const Tensor& theta0, const ArmijoOptions& options = {},
                              const StopCriteria& stop = {}, const std::vector<Callback>& callbacks = {});

}  // namespace descent::optim
