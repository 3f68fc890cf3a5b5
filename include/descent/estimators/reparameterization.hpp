#pragma once
// Pathwise (reparameterization) gradients of L(θ) = E_{q_θ(z)}[f(z)] (Murphy §6.3.5,
// eqs. 6.62–6.64: z = g(θ, ε), ε ~ q₀, ∇L ≈ mean of ∇_θ f(g(θ, ε_s))), Bonnet's and
// Price's theorems for Gaussians (6.66–6.67, 6.106–6.107) and sticking the landing for
// ELBO gradients (§6.3.5.3, eqs. 6.71–6.77).
#include <cstdint>
#include <functional>

#include <Eigen/Core>

#include "descent/autodiff/var.hpp"
#include "descent/core/rng.hpp"
#include "descent/estimators/estimate.hpp"

namespace descent::estimators {

using IntegrandGradient = std::function<Eigen::VectorXd(const Eigen::VectorXd& z)>;
using IntegrandHessian = std::function<Eigen::MatrixXd(const Eigen::VectorXd& z)>;

// z = μ + √v ⊙ ε, ε ~ N(0, I); θ = (μ, v) with v the variances (eq. 6.65's
// parameterization): per sample (∇f(z), ∇f(z) ⊙ ε / (2√v)).
GradientEstimate gaussian_reparameterization_gradient(const Eigen::VectorXd& mean, const Eigen::VectorXd& variance,
                                                      const IntegrandGradient& grad_f, int64_t samples, Rng& rng);

// Any location-scale family: z = μ + s ⊙ ε with ε_i drawn from `base` (Laplace, logistic,
// Student-t, …); θ = (μ, s): per sample (∇f(z), ∇f(z) ⊙ ε).
GradientEstimate location_scale_gradient(const Eigen::VectorXd& location, const Eigen::VectorXd& scale,
                                         const std::function<double(Rng&)>& base,
                                         const IntegrandGradient& grad_f, int64_t samples, Rng& rng);

// Through autodiff, for a user sampler z = g(θ, ε) and integrand f, both written in Var
// operations: per sample ∇_θ f(g(θ, ε_s)), with ε_s from `noise`. θ is flattened into the
// gradient's coordinates; computations run in θ's dtype.
using ReparameterizedSampler = std::function<Var(const Var& theta, const Var& epsilon)>;
using VarIntegrand = std::function<Var(const Var& z)>;
using NoiseSampler = std::function<Tensor(Rng& rng)>;
GradientEstimate reparameterization_gradient(const Tensor& theta, const ReparameterizedSampler& sampler,
                                             const VarIntegrand& f, const NoiseSampler& noise, int64_t samples,
                                             Rng& rng);

// Bonnet and Price for z ~ N(m, V) (V SPD): ∇_m E[f] = E[∇f(z)] (6.106) and
// ∇_V E[f] = ½ E[∇²f(z)] (6.107), the latter as the gradient with respect to the
// symmetric matrix V (dE = tr(G dV)), stored row-major in d² coordinates. The seed's
// c_ij = 1 for i ≠ j is the derivative with respect to one shared entry V_ij = V_ji,
// i.e. 2 G_ij.
struct GaussianGradient {
  GradientEstimate mean;        // [d]
  GradientEstimate covariance;  // [d*d], row-major
};
GaussianGradient bonnet_price_gradient(const Eigen::VectorXd& m, const Eigen::MatrixXd& V,
                                       const IntegrandGradient& grad_f, const IntegrandHessian& hess_f,
                                       int64_t samples, Rng& rng);

// Draws z ~ N(m, V) given the lower Cholesky factor L of V.
Eigen::VectorXd sample_gaussian(const Eigen::VectorXd& m, const Eigen::MatrixXd& L, Rng& rng);

// A variational family for the ELBO E_q[log p(z, x) − log q_θ(z)] with a reparameterized
// sampler (Murphy eq. 6.71).
struct ElboModel {
  std::function<Var(const Var& z)> log_joint;                    // log p(z, x)
  std::function<Var(const Var& z, const Var& theta)> log_q;      // log q_θ(z)
  ReparameterizedSampler sample;                                 // z = g(θ, ε)
  NoiseSampler noise;                                            // ε ~ q₀
};
enum class ElboGradient {
  total,                 // ∇_θ[log p(g(θ,ε)) − log q_θ(g(θ,ε))]: path + score term (6.72)
  sticking_the_landing,  // the score term dropped by stop_gradient on θ inside log q (6.77)
};
GradientEstimate elbo_gradient(const ElboModel& model, const Tensor& theta, ElboGradient kind, int64_t samples,
                               Rng& rng);

}  // namespace descent::estimators
