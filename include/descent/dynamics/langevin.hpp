#pragma once
// The Langevin family beyond optim's SGLD (optim/langevin.hpp: θ ← θ − η∇f̂ + √(2η/β) ξ,
// stationary law ≈ ∝ e^{−βf}, Suzuki §2.6; reused, not repeated here):
//
//   underdamped_langevin   dX = V dt, dV = −∇f(X) dt − γV dt + √(2γ/β) dW, integrated by BAOAB
//                          (Leimkuhler & Matthews 2013), whose X-marginal is exact for a
//                          quadratic f at any stable Δt; stationary law ∝ e^{−β(f(x) + ½|v|²)}.
//   particle_gradient_descent
//                          two-layer net f(x) = s(M) Σ_j a_j σ(w_jᵀx) trained on the squared
//                          loss. Mean-field scaling s = 1/M with every particle θ_j = (a_j, w_j)
//                          moved along v_t(θ_j) = −(1/n) Σ_i ℓ'(y_i, f(x_i)) ∇_θ(aσ(wᵀx_i))
//                          (Suzuki §2.5; Nitanda & Suzuki 2017; Mei, Montanari & Nguyen 2018),
//                          the particle form of the Wasserstein gradient flow, optionally with
//                          weight decay and the noise √(2η/β)ξ of the McKean–Vlasov/mean-field
//                          Langevin dynamics (§2.6); NTK scaling s = 1/√M with plain GD on the loss.
//   infinite_dimensional_langevin
//                          the semi-implicit Euler scheme of Suzuki §2.7 (Muzellec, Sato, Massias
//                          & Suzuki 2020) on J modes:
//                          X_{n+1} = S_η (X_n − η∇L(X_n) + √(2η/β) ξ_n),  S_η = (I + ηλA)⁻¹,
//                          A = diag(1/μ_j), whose invariant law approximates
//                          π ∝ exp(−βL(x) − (βλ/2) Σ_j x_j²/μ_j) (a posterior under the GP
//                          prior N(0, (βλ)⁻¹ diag μ)).
#include <cstdint>
#include <limits>
#include <vector>

#include <Eigen/Dense>

#include "descent/core/objective.hpp"

namespace descent::dynamics {

struct UnderdampedOptions {
  double step = 0.01;                // Δt
  double friction = 1.0;             // γ
  double inverse_temperature = 1.0;  // β
  int64_t steps = 1000;
  int64_t burn_in = 0;
  int64_t thin = 1;
  uint64_t seed = 0;
};
// Kept positions as rows of a float64 [samples, P] tensor (V starts at 0).
Tensor underdamped_langevin(Objective& objective, const Tensor& x0, const UnderdampedOptions& options);

// ---- mean-field particles of a two-layer network ----
enum class Scaling { mean_field, ntk };
enum class ParticleActivation { tanh, relu };
struct TwoLayerParticles {
  Eigen::VectorXd a;  // output weights, [M]
  Eigen::MatrixXd w;  // input weights, [M, d] (one particle per row)
  int64_t count() const { return a.size(); }
};
// a_j, w_jk ~ N(0, 1) i.i.d. (w scaled by 1/√d so that wᵀx = O(1) for |x| = O(√d)).
TwoLayerParticles random_particles(int64_t m, int64_t input_dimension, uint64_t seed);

struct ParticleGdOptions {
  double learning_rate = 0.1;
  int64_t steps = 1000;
  Scaling scaling = Scaling::mean_field;
  ParticleActivation activation = ParticleActivation::tanh;
  double weight_decay = 0.0;  // λ: adds (λ/2)|θ_j|² per particle (mean field) / to the loss (NTK)
  double inverse_temperature = std::numeric_limits<double>::infinity();  // β; ∞: noiseless
  int64_t record_every = 1;   // loss trace stride
  uint64_t seed = 0;          // for the noise
};
struct ParticleGdResult {
  TwoLayerParticles particles;
  std::vector<double> losses;  // (1/2n) Σ (f(x_i) − y_i)² at steps 0, record_every, …
  std::vector<int64_t> loss_steps;
  bool finite = true;
};
// f(x_i) for the rows of x ([n, d]).
Eigen::VectorXd two_layer_output(const TwoLayerParticles& p, const Eigen::MatrixXd& x, Scaling scaling,
                                 ParticleActivation activation);
// ∂/∂(a, w) of the squared loss (1/2n)Σ(f − y)² as [M, 1 + d] (column 0: a), times M for the
// mean-field scaling (the particle velocity is −that) and plain for NTK.
Eigen::MatrixXd particle_velocity_field(const TwoLayerParticles& p, const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                        Scaling scaling, ParticleActivation activation);
ParticleGdResult particle_gradient_descent(TwoLayerParticles particles, const Eigen::MatrixXd& x,
                                           const Eigen::VectorXd& y, const ParticleGdOptions& options);

// ---- infinite-dimensional Langevin, truncated to J modes ----
struct InfiniteLangevinOptions {
  double step = 0.01;                // η
  double inverse_temperature = 1.0;  // β
  double regularization = 1.0;       // λ
  std::vector<double> prior_eigenvalues;  // μ_1 ≥ μ_2 ≥ … > 0 (J modes), e.g. μ_j = j^{−2}
  int64_t steps = 1000;
  int64_t burn_in = 0;
  int64_t thin = 1;
  uint64_t seed = 0;
};
// Kept iterates as rows of a float64 [samples, J] tensor; `objective` is L on the J coefficients.
Tensor infinite_dimensional_langevin(Objective& objective, const Tensor& x0, const InfiniteLangevinOptions& options);

// For a quadratic L(x) = ½ xᵀQx − bᵀx the scheme is linear-Gaussian: X_{n+1} = M X_n + c + noise
// with M = S(I − ηQ), c = ηSb, noise covariance (2η/β)S². These give its exact law.
struct GaussianLaw {
  Eigen::VectorXd mean;
  Eigen::MatrixXd covariance;
};
// The law of X_n from X_0 ~ law0, for n = 0 … steps (one entry per step).
std::vector<GaussianLaw> semi_implicit_langevin_laws(const Eigen::MatrixXd& q, const Eigen::VectorXd& b,
                                                     const InfiniteLangevinOptions& options, const GaussianLaw& law0,
                                                     int64_t steps);
// The scheme's invariant law μ_η (discrete Lyapunov equation).
GaussianLaw semi_implicit_langevin_invariant_law(const Eigen::MatrixXd& q, const Eigen::VectorXd& b,
                                                 const InfiniteLangevinOptions& options);
// The target π ∝ exp(−β(½xᵀQx − bᵀx) − (βλ/2)xᵀA x): precision β(Q + λA), mean (Q + λA)⁻¹ b.
GaussianLaw gaussian_process_posterior(const Eigen::MatrixXd& q, const Eigen::VectorXd& b,
                                       const InfiniteLangevinOptions& options);
// Spectral gap (i) of Suzuki §2.7 Lemma 1 under strict dissipativity λ/μ_1 > M:
//     Λ*_η = (λ/μ_1 − M) / (1 + ηλ/μ_1),   M: the Lipschitz constant of ∇L.
double semi_implicit_spectral_gap(double lipschitz, const InfiniteLangevinOptions& options);

}  // namespace descent::dynamics
