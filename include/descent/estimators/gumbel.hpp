#pragma once
// Gumbel-max sampling, the Gumbel-softmax (Concrete) relaxation and straight-through
// estimators (Murphy §6.3.6–6.3.7, eqs. 6.78–6.81).
#include <cstdint>

#include <Eigen/Core>

#include "descent/autodiff/var.hpp"
#include "descent/core/rng.hpp"
#include "descent/estimators/estimate.hpp"

namespace descent::estimators {

// One standard Gumbel draw −log(−log u), u ~ U(0, 1) (u = 0 redrawn).
double gumbel(Rng& rng);
// A tensor of standard Gumbel draws.
Tensor gumbel_tensor(const Shape& shape, DType dtype, Rng& rng);

// argmax_k (log α_k + ε_k): an exact draw from Cat(α / Σα) (6.78).
int64_t gumbel_max_sample(const Eigen::VectorXd& log_alpha, Rng& rng);
// softmax((log α + ε) / τ) (6.79), τ > 0: approaches the one-hot of gumbel_max_sample
// (with the same ε) as τ → 0.
Eigen::VectorXd gumbel_softmax_sample(const Eigen::VectorXd& log_alpha, double tau, Rng& rng);

// Differentiable forms. logits [..., K]; `gumbel_noise` the same shape (gumbel_tensor).
Var gumbel_softmax(const Var& logits, double tau, const Tensor& gumbel_noise);
// Forward the one-hot of argmax over the last axis of `soft`, backward the identity to
// `soft` (straight-through Gumbel-softmax): one_hot + soft − stop_gradient(soft).
Var straight_through_one_hot(const Var& soft);
// Forward 1[x > 0], backward the identity (6.80–6.81; ⚠ the seed's "replace f' by x" read
// as: treat f as the identity in the backward pass).
Var straight_through_step(const Var& x);
// Forward 1[x > 0], backward 1[|x| ≤ 1], the derivative of HardTanh (Murphy Fig. 6.4).
Var straight_through_hardtanh(const Var& x);

// Gradient with respect to `logits` [K] of E_{d ~ Cat(softmax logits)}[f(d)] through the
// Gumbel-softmax relaxation at temperature τ: per sample ∇ f(x(logits, ε_s)) with x the
// relaxed sample, or, with straight_through, f evaluated at the one-hot and the gradient
// taken through the soft sample. Biased for the discrete objective (unbiased for the
// relaxed one when not straight-through); the bias vanishes as τ → 0 and the variance grows.
struct GumbelSoftmaxOptions {
  double tau = 0.5;
  bool straight_through = false;
  int64_t samples = 1000;
};
GradientEstimate gumbel_softmax_gradient(const Eigen::VectorXd& logits, const std::function<Var(const Var& x)>& f,
                                         const GumbelSoftmaxOptions& options, Rng& rng);

}  // namespace descent::estimators
