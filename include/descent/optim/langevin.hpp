#pragma once
// Noisy first-order methods.
//   Perturbed gradient descent (Arora ch. 7, Jin et al. 2017): gradient steps, plus a
//   perturbation drawn uniformly from the ball of radius r whenever ‖∇f‖ ≤ ε and no
//   perturbation happened in the last 𝒯 steps, so that strict saddle points are escaped.
//   SGLD (Suzuki; the seed's update is an image, spec ⚠ — this is Welling & Teh's):
//   θ ← θ − η ∇f̂(θ) + √(2η/β) ξ, ξ ~ N(0, I), whose stationary law approximates ∝ e^{−βf}.
#include <cstdint>

#include "descent/optim/minimize.hpp"

namespace descent::optim {

struct PerturbedGdOptions {
  double learning_rate = 0.01;
  double gradient_threshold = 1e-3;  // ε
  double radius = 1e-2;              // r
  int64_t quiet_steps = 10;          // 𝒯: steps without a perturbation before the next
  uint64_t seed = 0;
};
struct PerturbedTrace {
  Trace trace;
  std::vector<int64_t> perturbation_steps;  // steps at which θ was perturbed
};
// Stops on stop.value_target or max_steps (a small gradient is the trigger to perturb, not
// to stop, so gradient_tolerance is not used).
PerturbedTrace perturbed_gradient_descent(Objective& objective, const Tensor& theta0,
                                          const PerturbedGdOptions& options, const StopCriteria& stop = {});

struct SgldOptions {
  double learning_rate = 1e-3;
  double inverse_temperature = 1.0;  // β
  int64_t steps = 1000;
  int64_t batch_size = 0;  // 0: full gradient; otherwise seeded mini-batches (finite sums)
  int64_t burn_in = 0;     // steps discarded before the first kept sample
  int64_t thin = 1;        // keep every thin-th iterate after burn-in
  uint64_t seed = 0;
};
// Returns the kept iterates as rows of a [samples, P] tensor (θ's dtype).
Tensor sgld(Objective& objective, const Tensor& theta0, const SgldOptions& options);

}  // namespace descent::optim
