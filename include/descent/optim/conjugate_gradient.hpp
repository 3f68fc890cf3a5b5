#pragma once
// Conjugate gradient for A x = b with A given only as a product v ↦ A v (Nocedal & Wright,
// Algorithm 5.2), truncated as Newton-CG needs it (N&W Algorithm 7.1): it stops at a residual
// tolerance, at an iteration cap, or at the first direction of non-positive curvature.
// Shared by Newton-CG (A = Hessian), Gauss–Newton (A = JᵀJ + λI) and natural gradient
// (A = empirical Fisher + δI).
#include <cstdint>
#include <functional>

#include "descent/core/tensor.hpp"

namespace descent::optim {

// out = A v (out has v's shape and dtype and is overwritten).
using LinearOperator = std::function<void(const Tensor& v, Tensor& out)>;

struct ConjugateGradientResult {
  Tensor x;                         // the approximate solution
  int64_t iterations = 0;           // products with A
  double residual_norm = 0.0;       // ‖b − A x‖ (the recurrence's residual)
  bool converged = false;           // residual_norm ≤ tolerance
  bool negative_curvature = false;  // stopped at a direction p with pᵀAp ≤ 0
};

// From x₀ = 0, until ‖r‖ ≤ tolerance (absolute) or max_iterations products. At a direction p
// with pᵀAp ≤ 0 (A not positive definite) it stops and returns the current iterate, or b
// itself if that happens on the first direction (for A = ∇²f, b = −∇f: steepest descent,
// N&W Alg. 7.1). b must be 1-D, float32 or float64; tolerance ≥ 0, max_iterations ≥ 1.
ConjugateGradientResult conjugate_gradient(const LinearOperator& a, const Tensor& b, double tolerance,
                                           int64_t max_iterations);

}  // namespace descent::optim
