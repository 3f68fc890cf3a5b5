#include "descent/estimators/natural_gradient.hpp"

#include <Eigen/Cholesky>

#include "descent/core/error.hpp"

namespace descent::estimators {

GaussianNaturalGradient gaussian_natural_gradient(const Eigen::VectorXd& m, const Eigen::MatrixXd& V,
                                                  const IntegrandGradient& grad_f, const IntegrandHessian& hess_f,
                                                  int64_t samples, Rng& rng) {
  DESCENT_CHECK(samples >= 2, InputError, "gaussian_natural_gradient: samples must be at least 2, got {}", samples);
  const int64_t d = m.size();
  const Eigen::LLT<Eigen::MatrixXd> llt(V);
  DESCENT_CHECK(V.rows() == d && V.cols() == d && llt.info() == Eigen::Success, InputError,
                "gaussian_natural_gradient: V must be a {}x{} symmetric positive definite matrix", d, d);
  const Eigen::MatrixXd L = llt.matrixL();
  Eigen::MatrixXd first(samples, d), second(samples, d * d);
  for (int64_t s = 0; s < samples; ++s) {
    const Eigen::VectorXd z = sample_gaussian(m, L, rng);
    const Eigen::MatrixXd H = hess_f(z);
    first.row(s) = (grad_f(z) - H * m).transpose();  // (6.109)
    for (int64_t i = 0; i < d; ++i) second.row(s).segment(i * d, d) = 0.5 * H.row(i);  // (6.111)
  }
  return {summarize(first), summarize(second)};
}

Eigen::VectorXd categorical_natural_gradient(const Eigen::VectorXd& f_values) {
  const int64_t K = f_values.size();
  DESCENT_CHECK(K >= 2, InputError, "categorical_natural_gradient: need at least 2 categories, got {}", K);
  return f_values.head(K - 1).array() - f_values[K - 1];
}

Eigen::VectorXd entropy_natural_gradient(const Eigen::VectorXd& natural_parameters) { return -natural_parameters; }

}  // namespace descent::estimators
