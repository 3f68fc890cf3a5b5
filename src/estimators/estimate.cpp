#include "descent/estimators/estimate.hpp"

#include "descent/core/error.hpp"

namespace descent::estimators {

Eigen::VectorXd GradientEstimate::standard_error() const {
  return (variance / static_cast<double>(samples)).cwiseSqrt();
}

GradientEstimate summarize(const Eigen::MatrixXd& terms) {
  DESCENT_CHECK(terms.rows() >= 2, InputError, "gradient estimator: need at least 2 samples, got {}", terms.rows());
  GradientEstimate e;
  e.samples = terms.rows();
  e.gradient = terms.colwise().mean().transpose();
  const Eigen::MatrixXd centered = terms.rowwise() - e.gradient.transpose();
  e.variance = centered.colwise().squaredNorm().transpose() / static_cast<double>(terms.rows() - 1);
  DESCENT_CHECK(e.gradient.allFinite() && e.variance.allFinite(), NonFiniteError,
                "gradient estimator: a per-sample term is NaN or infinite (check the integrand and the "
                "distribution's parameters)");
  return e;
}

}  // namespace descent::estimators
