#pragma once
// Natural gradients of L = E_{q}[f(z)] for exponential families through the mean
// parameters (Murphy §6.4.5): ∇̃_λ L = F(λ)⁻¹ ∇_λ L = ∇_μ L (6.99–6.101), so no Fisher
// matrix is formed or inverted.
#include <cstdint>
#include <functional>

#include <Eigen/Core>

#include "descent/core/rng.hpp"
#include "descent/estimators/estimate.hpp"
#include "descent/estimators/reparameterization.hpp"

namespace descent::estimators {

// q = N(m, V), natural parameters λ₁ = V⁻¹m, λ₂ = −½V⁻¹ (6.102), mean parameters
// μ₁ = m, μ₂ = V + mmᵀ (6.103). By Bonnet and Price (6.108–6.111):
//   ∇̃_{λ₁} L = ∇_{μ₁} L = E[∇f] − E[∇²f] m,   ∇̃_{λ₂} L = ∇_{μ₂} L = ½ E[∇²f],
// estimated from the same draws z ~ N(m, V). `second` is d×d row-major.
struct GaussianNaturalGradient {
  GradientEstimate first;   // [d]
  GradientEstimate second;  // [d*d]
};
GaussianNaturalGradient gaussian_natural_gradient(const Eigen::VectorXd& m, const Eigen::MatrixXd& V,
                                                  const IntegrandGradient& grad_f, const IntegrandHessian& hess_f,
                                                  int64_t samples, Rng& rng);

// Categorical in its minimal form: natural parameters λ_k = log(p_k / p_K), k < K, mean
// parameters μ_k = p_k (k < K). L = Σ_k p_k f(k) is linear in μ, so the natural gradient
// is exact: ∇_μ L = (f(k) − f(K−1))_{k<K−1}.
Eigen::VectorXd categorical_natural_gradient(const Eigen::VectorXd& f_values);

// Natural gradient of the entropy H(q) = −E_q[log q] for an exponential family with
// constant base measure (6.116–6.122): ∇̃_λ H = −λ.
Eigen::VectorXd entropy_natural_gradient(const Eigen::VectorXd& natural_parameters);

}  // namespace descent::estimators
