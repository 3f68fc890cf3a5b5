#include "descent/optim/conjugate_gradient.hpp"

#include <cmath>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"

namespace descent::optim {

ConjugateGradientResult conjugate_gradient(const LinearOperator& a, const Tensor& b, double tolerance,
                                           int64_t max_iterations) {
  DESCENT_CHECK(b.rank() == 1 && is_floating(b.dtype()), ShapeError,
                "conjugate_gradient: b must be a 1-D float tensor, got shape {} ({})", b.shape(), dtype_name(b.dtype()));
  DESCENT_CHECK(std::isfinite(tolerance) && tolerance >= 0.0, InputError,
                "conjugate_gradient: tolerance must be a finite number >= 0, got {}", tolerance);
  DESCENT_CHECK(max_iterations >= 1, InputError, "conjugate_gradient: max_iterations must be >= 1, got {}",
                max_iterations);
  ConjugateGradientResult r;
  r.x = Tensor::zeros(b.shape(), b.dtype());
  // N&W Alg. 5.2 with x₀ = 0, written with the residual ρ = b − A x (so ρ₀ = b, p₀ = ρ₀).
  Tensor rho = b.clone(), p = b.clone(), ap = Tensor::empty(b.shape(), b.dtype());
  double rr = dot(rho, rho);
  r.residual_norm = std::sqrt(rr);
  while (r.residual_norm > tolerance && r.iterations < max_iterations) {
    a(p, ap);
    ++r.iterations;
    const double curvature = dot(p, ap);
    if (!(curvature > 0.0)) {  // also catches NaN
      r.negative_curvature = true;
      if (r.iterations == 1) r.x.copy_from(b);
      return r;
    }
    const double alpha = rr / curvature;
    axpy(r.x, alpha, p);
    axpy(rho, -alpha, ap);
    const double rr_next = dot(rho, rho);
    r.residual_norm = std::sqrt(rr_next);
    // p ← ρ + β p, β = ‖ρ_{k+1}‖² / ‖ρ_k‖².
    scale_inplace(p, rr_next / rr);
    axpy(p, 1.0, rho);
    rr = rr_next;
  }
  r.converged = r.residual_norm <= tolerance;
  return r;
}

}  // namespace descent::optim
