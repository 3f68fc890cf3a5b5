#pragma once
// Variance-reduced stochastic gradients on finite sums f = (1/n) Σ f_i (Murphy §6.3.1.2 only
// points to [Mur22 §8.4.5]; the formulas are the original papers'):
//   SVRG (Johnson & Zhang 2013): per epoch a snapshot θ̃ and μ = ∇f(θ̃); inner steps
//        θ ← θ − η (∇f_i(θ) − ∇f_i(θ̃) + μ).
//   SAGA (Defazio et al. 2014): a table of the last gradient seen per example;
//        θ ← θ − η (∇f_j(θ) − t_j + mean(t)), then t_j ← ∇f_j(θ). Memory n·P.
// Both converge linearly with a constant step on strongly convex problems, where SGD with a
// constant step stalls at a noise floor.
#include <cstdint>

#include "descent/optim/minimize.hpp"

namespace descent::optim {

struct VarianceReducedOptions {
  double learning_rate = 0.01;
  int64_t epochs = 20;
  int64_t inner_steps = 0;  // SVRG steps per snapshot / SAGA steps per epoch; 0 means n
  uint64_t seed = 0;        // example draws (uniform with replacement)
};

// One record per epoch: value and ‖∇f‖ of the full objective at the epoch's start,
// step_size = ‖θ_end − θ_start‖. stop.gradient_tolerance / value_target apply per epoch;
// stop.max_steps is ignored (epochs count instead).
Trace svrg(Objective& objective, const Tensor& theta0, const VarianceReducedOptions& options,
           const StopCriteria& stop = {}, const std::vector<Callback>& callbacks = {});
Trace saga(Objective& objective, const Tensor& theta0, const VarianceReducedOptions& options,
           const StopCriteria& stop = {}, const std::vector<Callback>& callbacks = {});

}  // namespace descent::optim
