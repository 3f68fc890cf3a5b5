#pragma once
// EM for a multivariate normal with entries missing at random (Murphy §6.5.4.4,
// eqs. 6.151–6.164). Missing entries are NaN.
#include <Eigen/Core>

#include "descent/bound/em.hpp"

namespace descent::bound {

struct MvnMissingOptions {
  EmOptions em;
  // Added to Σ's diagonal after each M-step; 0 (the default) makes a singular Σ an error.
  double reg_covar = 0.0;
};

struct MvnMissingFit {
  Eigen::VectorXd mean;
  Eigen::MatrixXd covariance;
  EmTrace trace;  // observed-data log-likelihood Σ_n log N(x_{n,v} | μ_v, Σ_vv)
};

// X [N, D] with NaN for missing entries. Start (the seed's §6.5.4.4): the MLE of the fully
// observed rows when there are more than D of them, else the observed means and a diagonal
// Σ of the observed variances. A column observed fewer than twice, or with zero observed
// variance, is an error (with reg_covar = 0).
MvnMissingFit fit_mvn_missing(const Eigen::MatrixXd& X, const MvnMissingOptions& options = {});

// E[x_h | x_v, θ] filled into the NaN entries (6.158): μ_h + Σ_hv Σ_vv⁻¹ (x_v − μ_v).
Eigen::MatrixXd impute_mvn(const Eigen::MatrixXd& X, const Eigen::VectorXd& mean, const Eigen::MatrixXd& covariance);

// Σ_n log N(x_{n,v} | μ_v, Σ_vv) over the observed entries.
double mvn_observed_log_likelihood(const Eigen::MatrixXd& X, const Eigen::VectorXd& mean,
                                   const Eigen::MatrixXd& covariance);

}  // namespace descent::bound
