#pragma once
// Score-function gradients of L(θ) = E_{q_θ(z)}[f(z)] (Murphy §6.3.3, eqs. 6.57–6.59:
// ∇L = E[f(z) ∇_θ log q_θ(z)]), with the variance reductions of §6.3.4: a baseline,
// control variates (6.60) with the variance-optimal coefficient, and Rao–Blackwellization
// over an enumerated set of likely values (6.61, with the seed's missing factor restored).
// These need q only to be differentiable in θ; f is a black box.
#include <cstdint>
#include <functional>

#include <Eigen/Core>

#include "descent/core/rng.hpp"
#include "descent/estimators/estimate.hpp"

namespace descent::estimators {

// A user distribution q_θ over z ∈ R^d: a sampler and the score ∇_θ log q_θ(z).
struct Distribution {
  std::function<Eigen::VectorXd(const Eigen::VectorXd& theta, Rng& rng)> sample;
  std::function<Eigen::VectorXd(const Eigen::VectorXd& theta, const Eigen::VectorXd& z)> score;
};
using Integrand = std::function<double(const Eigen::VectorXd& z)>;

// Diagonal Gaussian N(μ, diag v) in d dimensions, θ = (μ_1..μ_d, v_1..v_d) with v the
// variances (the parameterization of Murphy eq. 6.65).
Distribution diagonal_gaussian(int64_t d);
// Categorical over {0..K-1} with logits θ ∈ R^K (p = softmax θ); z is the index as a
// one-element vector.
Distribution categorical(int64_t K);

enum class Baseline {
  none,           // f(z_s) ∇log q(z_s)
  constant,       // (f(z_s) − b) ∇log q(z_s): unbiased since E[∇log q] = 0
  leave_one_out,  // b_s = mean of the other samples' f: unbiased, no tuning (RLOO)
};
struct ScoreFunctionOptions {
  int64_t samples = 1000;
  Baseline baseline = Baseline::none;
  double baseline_value = 0.0;  // b for Baseline::constant
};
// REINFORCE (6.59). Per-sample terms are independent except with the leave-one-out
// baseline, whose reported variance is that of its (weakly dependent) terms.
GradientEstimate score_function_gradient(const Distribution& q, const Eigen::VectorXd& theta,
                                         const Integrand& f, const ScoreFunctionOptions& options,
                                         Rng& rng);

// A control variate for the score-function terms (Murphy eq. 6.60): w(z) = h(z) ∇log q(z)
// − ∇_θ E_q[h], which has mean zero. The estimator is f s − c ⊙ w, per coordinate c.
// Without h (empty), h ≡ 1 and ∇E[h] = 0: the per-coordinate optimal baseline.
struct ControlVariate {
  std::function<double(const Eigen::VectorXd& z)> h;
  std::function<Eigen::VectorXd(const Eigen::VectorXd& theta)> grad_expectation;  // ∇_θ E_q[h]
};
enum class CoefficientFit {
  same_samples,  // c from the estimator's own samples: O(1/S) bias, lowest variance
  held_out,      // c from separate draws: unbiased
};
struct ControlVariateOptions {
  int64_t samples = 1000;
  CoefficientFit fit = CoefficientFit::same_samples;
  int64_t held_out_samples = 200;  // for CoefficientFit::held_out
};
struct ControlVariateEstimate {
  GradientEstimate estimate;
  // The variance-optimal coefficient c_j = Cov(f s_j, w_j) / Var(w_j) as estimated
  // (0 where Var(w_j) = 0).
  Eigen::VectorXd coefficient;
};
ControlVariateEstimate control_variate_gradient(const Distribution& q, const Eigen::VectorXd& theta,
                                                const Integrand& f, const ControlVariate& cv,
                                                const ControlVariateOptions& options, Rng& rng);

// A user distribution over the finite set {0..K-1}.
struct DiscreteDistribution {
  int64_t support = 0;
  std::function<Eigen::VectorXd(const Eigen::VectorXd& theta)> probabilities;  // [K], sums to 1
  std::function<Eigen::VectorXd(const Eigen::VectorXd& theta, int64_t k)> score;  // ∇_θ log q_θ(k)
};
// Categorical with logits θ ∈ R^K.
DiscreteDistribution categorical_discrete(int64_t K);
using DiscreteIntegrand = std::function<double(int64_t k)>;

struct RaoBlackwellOptions {
  int64_t samples = 1000;  // draws from q(z | z ∈ S₂)
  int64_t enumerate = 1;   // |S₁|: the values of highest probability, summed exactly
};
struct RaoBlackwellEstimate {
  GradientEstimate estimate;
  double mass_enumerated = 0;  // q_θ(S₁)
};
// Murphy eq. (6.61), corrected (⚠ the seed drops the factor q_θ(S₂) = P(z ∈ S₂)):
//   ∇L = Σ_{z∈S₁} f(z) q_θ(z) ∇log q_θ(z) + q_θ(S₂) E_{q_θ(z|z∈S₂)}[f(z) ∇log q_θ(z)].
// The seed draws from q(z | S₂) by rejection; with the pmf at hand we draw from the
// renormalized pmf on S₂, the same distribution without the wasted draws.
RaoBlackwellEstimate rao_blackwell_gradient(const DiscreteDistribution& q, const Eigen::VectorXd& theta,
                                            const DiscreteIntegrand& f, const RaoBlackwellOptions& options,
                                            Rng& rng);
// The exact gradient Σ_k f(k) q_θ(k) ∇log q_θ(k), for checks.
Eigen::VectorXd exact_discrete_gradient(const DiscreteDistribution& q, const Eigen::VectorXd& theta,
                                        const DiscreteIntegrand& f);
// One draw by inverse CDF from probabilities p (sums to 1).
int64_t sample_index(const Eigen::VectorXd& p, Rng& rng);

}  // namespace descent::estimators
