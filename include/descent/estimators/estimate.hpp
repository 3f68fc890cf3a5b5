#pragma once
// What every gradient estimator of descent/estimators returns: the Monte-Carlo mean of S
// per-sample terms and their sample variance, so that a caller can judge an estimate by
// its standard error (variance / S)^{1/2} and compare estimators by variance per sample
// (Murphy §6.3, the diagnostics of the estimators: mean, variance, bias).
#include <cstdint>

#include <Eigen/Core>

namespace descent::estimators {

struct GradientEstimate {
  Eigen::VectorXd gradient;  // mean of the per-sample terms
  Eigen::VectorXd variance;  // per coordinate: unbiased sample variance of one term
  int64_t samples = 0;

  // Standard error of `gradient`, per coordinate.
  Eigen::VectorXd standard_error() const;
};

// Mean and unbiased per-column variance of the rows of `terms` [S, P] (S ≥ 2).
GradientEstimate summarize(const Eigen::MatrixXd& terms);

}  // namespace descent::estimators
