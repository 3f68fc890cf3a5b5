#pragma once
// Natural gradient with the empirical Fisher (Murphy §6.4): θ ← θ − η F⁻¹ g with
//   F = (1/n) Σ_i g_i g_iᵀ + δ I,
// g_i the per-example gradients of the batch and g their mean. F⁻¹g never forms a P×P
// matrix when the batch is smaller than P: by the Woodbury identity with G = [g_1 … g_n]ᵀ,
//   F⁻¹ g = (g − Gᵀ (nδ I_n + G Gᵀ)⁻¹ G g) / δ,
// an n×n solve and two products with G (O(n²P)). For n ≥ P the P×P system is solved
// directly (Cholesky).
#include <cstdint>
#include <vector>

#include "descent/optim/minimize.hpp"
#include "descent/optim/schedule.hpp"

namespace descent::optim {

// F⁻¹ g for F = (1/n) GᵀG + δI. per_example_gradients: [n, P]; g: [P]; damping δ > 0.
// Returns a float64 [P] tensor.
Tensor empirical_fisher_solve(const Tensor& per_example_gradients, const Tensor& g, double damping);

struct NaturalGradientOptions {
  Schedule learning_rate = 1.0;
  double damping = 1e-3;   // δ > 0: F is only positive semi-definite without it
  int64_t batch_size = 0;  // 0: every example at every step (full-batch natural gradient)
  uint64_t seed = 0;       // batch order when batch_size > 0 (epochs of seeded permutations)
};

// On a finite-sum objective (per_example_gradients). Records: value and ‖g‖ on the step's
// batch (the full objective when batch_size = 0), step_size = ‖θ_{k+1} − θ_k‖.
// stop.gradient_tolerance applies to full-batch runs only.
Trace natural_gradient_descent(Objective& objective, const Tensor& theta0, const NaturalGradientOptions& options = {},
                               const StopCriteria& stop = {}, const std::vector<Callback>& callbacks = {});

}  // namespace descent::optim
