#pragma once
// SVAG, the stochastic variance-amplified gradient (Arora Def. 12.4.1; Li, Malladi & Arora,
// NeurIPS 2021): with two independent mini-batch gradients g_{γ1}, g_{γ2},
//     ĝ = ((1 + √(2l−1))/2) g_{γ1} + ((1 − √(2l−1))/2) g_{γ2},
// whose coefficients sum to 1 (same mean ∇f) and whose squares sum to l (noise covariance
// ×l), taken with learning rate η/l for l steps per SGD step: per unit of time t = kη the
// drift and the diffusion equal SGD's, and as l → ∞ SVAG converges weakly to the SDE
//     dX = −∇f dt + √(η/B) Σ(X)^{1/2} dW   with error O(η/l) (Thm 12.4.2).
// l = 1 is SGD itself. Mini-batches of B examples are drawn with replacement, so the noise of
// one mini-batch gradient has covariance exactly Σ(x)/B.
#include <cstdint>
#include <vector>

#include "descent/core/objective.hpp"

namespace descent::dynamics {

struct SvagOptions {
  double learning_rate = 0.01;  // η of the SGD being amplified
  int64_t batch_size = 1;       // B
  int64_t l = 1;                // variance amplification (≥ 1)
  int64_t sgd_steps = 100;      // K: SVAG runs K·l updates, reaching time t = Kη
  int64_t record_every = 0;     // in SGD steps; 0: end point only
  uint64_t seed = 0;
};

struct SvagResult {
  Tensor final_state;          // θ's dtype, [P]
  Tensor path;                 // float64 [records, P] at times kη (θ_0 first), when recording
  std::vector<double> times;
  bool finite = true;
};

// The two SVAG coefficients ((1 ± √(2l−1))/2).
std::pair<double, double> svag_coefficients(int64_t l);

SvagResult svag(Objective& objective, const Tensor& theta0, const SvagOptions& options);

}  // namespace descent::dynamics
