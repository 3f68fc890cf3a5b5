#pragma once
// Gaussian mixtures fitted by EM (Arora §14.1's two-Gaussian mixture; Murphy §6.5.3 defers
// the GMM to another book, so the E- and M-steps here are the standard ones, written as in
// scikit-learn's GaussianMixture so that the two agree from the same start): full,
// diagonal and spherical covariances, k-means++ initialization, a log-sum-exp E-step,
// and the variants of Murphy §6.5.6: hard EM, Monte-Carlo EM and online (stepwise) EM.
//
// Regularization: reg_covar is added to every covariance's diagonal after each M-step
// (scikit-learn's reg_covar, default 1e-6), which keeps a constant column or a component
// on fewer than D+1 points finite. With reg_covar = 0 a singular covariance is an error.
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "descent/bound/em.hpp"
#include "descent/core/rng.hpp"

namespace descent::bound {

enum class CovarianceType { full, diagonal, spherical };

struct GaussianMixture {
  Eigen::VectorXd weights;                   // [K], sums to 1
  Eigen::MatrixXd means;                     // [K, D]
  std::vector<Eigen::MatrixXd> covariances;  // K of [D, D] (diagonal / spherical: stored full)
  CovarianceType type = CovarianceType::full;
};

enum class EStep {
  exact,        // responsibilities r_nk = p(z_n = k | x_n, θ)
  hard,         // one-hot at argmax_k r_nk (hard EM; its objective is the classification
                // log-likelihood Σ_n max_k log π_k N(x_n | μ_k, Σ_k), which it never decreases)
  monte_carlo,  // mean of `mc_samples` one-hot draws z_n ~ r_n (MCEM; not monotone)
};

struct GmmOptions {
  int components = 1;
  CovarianceType type = CovarianceType::full;
  double reg_covar = 1e-6;
  EStep e_step = EStep::exact;
  int mc_samples = 10;  // for EStep::monte_carlo
  EmOptions em;
  uint64_t seed = 0;  // k-means++ initialization and Monte-Carlo draws
};

struct GmmFit {
  GaussianMixture model;
  EmTrace trace;  // total log-likelihood Σ_n log p(x_n) per iteration (hard EM: its objective)
};

// k-means++ seeding (D² sampling) of K centres, then the M-step from the hard assignment
// of each point to its nearest centre.
GaussianMixture kmeans_plus_plus_init(const Eigen::MatrixXd& X, int components, CovarianceType type,
                                      double reg_covar, Rng& rng);

// X [N, D] without NaN; init (optional) replaces the k-means++ start.
GmmFit fit_gmm(const Eigen::MatrixXd& X, const GmmOptions& options, const GaussianMixture* init = nullptr);

// Σ_n log p(x_n | θ), and the per-point log-densities.
double gmm_log_likelihood(const Eigen::MatrixXd& X, const GaussianMixture& model);
Eigen::VectorXd gmm_log_density(const Eigen::MatrixXd& X, const GaussianMixture& model);

// Online (stepwise) EM (Murphy §6.5.6; Sato & Ishii 2000, Liang & Klein 2009): after each
// minibatch, s ← (1 − η_t) s + η_t ŝ(batch) for the expected sufficient statistics
// (Σ r, Σ r x, Σ r x xᵀ, per point), η_t = (t + 2)^{−α}, then θ = θ̂(s).
struct OnlineEmOptions {
  int components = 1;
  CovarianceType type = CovarianceType::full;
  double reg_covar = 1e-6;
  int batch_size = 100;
  int epochs = 10;
  double alpha = 0.7;  // in (0.5, 1]: Σ η = ∞, Σ η² < ∞
  uint64_t seed = 0;
};
struct OnlineEmFit {
  GaussianMixture model;
  std::vector<double> log_likelihood;  // full-data Σ_n log p(x_n) after each epoch (not monotone)
};
OnlineEmFit fit_gmm_online(const Eigen::MatrixXd& X, const OnlineEmOptions& options,
                           const GaussianMixture* init = nullptr);

}  // namespace descent::bound
