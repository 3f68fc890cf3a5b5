#include "descent/bound/student_t.hpp"

#include <cmath>

#include <Eigen/Cholesky>

#include "descent/core/error.hpp"

namespace descent::bound {

double student_t_log_likelihood(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Eigen::VectorXd& w,
                                double sigma2, double nu) {
  const Eigen::VectorXd r = y - X * w;
  const double c = std::lgamma(0.5 * (nu + 1)) - std::lgamma(0.5 * nu) - 0.5 * std::log(nu * M_PI * sigma2);
  double ll = 0;
  for (int64_t n = 0; n < r.size(); ++n) ll += c - 0.5 * (nu + 1) * std::log1p(r[n] * r[n] / (sigma2 * nu));
  return ll;
}

StudentTFit fit_student_t_regression(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                                     const StudentTOptions& options) {
  const int64_t N = X.rows(), D = X.cols();
  DESCENT_CHECK(N > D && D > 0 && y.size() == N, InputError,
                "fit_student_t_regression: need more rows than columns and one y per row, got X {}x{} and {} y", N,
                D, y.size());
  DESCENT_CHECK(X.allFinite() && y.allFinite(), InputError,
                "fit_student_t_regression: X or y holds NaN or infinite values; remove those rows first");
  DESCENT_CHECK(options.nu > 0, InputError, "fit_student_t_regression: ν must be positive, got {}", options.nu);
  StudentTFit fit;
  fit.nu = options.nu;
  const Eigen::LDLT<Eigen::MatrixXd> ls(X.transpose() * X);
  DESCENT_CHECK(ls.info() == Eigen::Success && ls.isPositive() && ls.vectorD().minCoeff() > 0, InputError,
                "fit_student_t_regression: XᵀX is singular (a constant column besides the intercept, or dependent "
                "columns); drop them");
  fit.weights = ls.solve(X.transpose() * y);
  fit.sigma2 = (y - X * fit.weights).squaredNorm() / static_cast<double>(N);
  DESCENT_CHECK(fit.sigma2 > 0, InputError,
                "fit_student_t_regression: least squares fits y exactly (zero residual); nothing to make robust");
  fit.lambda = Eigen::VectorXd::Ones(N);
  auto e_step = [&] {
    const Eigen::VectorXd r = y - X * fit.weights;
    for (int64_t n = 0; n < N; ++n) fit.lambda[n] = (fit.nu + 1) / (fit.nu + r[n] * r[n] / fit.sigma2);  // (6.170)
    return student_t_log_likelihood(X, y, fit.weights, fit.sigma2, fit.nu);
  };
  auto m_step = [&] {
    const Eigen::MatrixXd XtL = X.transpose() * fit.lambda.asDiagonal();
    const Eigen::LLT<Eigen::MatrixXd> llt(XtL * X);
    DESCENT_CHECK(llt.info() == Eigen::Success, InputError,
                  "fit_student_t_regression: the weighted normal equations XᵀΛX are singular");
    fit.weights = llt.solve(XtL * y);
    const Eigen::VectorXd r = y - X * fit.weights;
    fit.sigma2 = fit.lambda.dot(r.cwiseAbs2()) / static_cast<double>(N);
    DESCENT_CHECK(fit.sigma2 > 0, NonFiniteError, "fit_student_t_regression: σ² collapsed to 0 (an exact fit)");
    if (options.estimate_nu) {
      // ECME: ν ← argmax ℓ(w, σ², ν) by golden-section search on log ν. The current ν is
      // kept unless the search finds a better value, so ℓ cannot decrease.
      auto objective = [&](double log_nu) {
        return student_t_log_likelihood(X, y, fit.weights, fit.sigma2, std::exp(log_nu));
      };
      double a = std::log(options.nu_min), b = std::log(options.nu_max);
      const double g = 0.5 * (std::sqrt(5.0) - 1);
      double c = b - g * (b - a), d = a + g * (b - a);
      double fc = objective(c), fd = objective(d);
      for (int i = 0; i < 100 && b - a > 1e-10; ++i) {
        if (fc > fd) {
          b = d, d = c, fd = fc;
          c = b - g * (b - a), fc = objective(c);
        } else {
          a = c, c = d, fc = fd;
          d = a + g * (b - a), fd = objective(d);
        }
      }
      const double best = 0.5 * (a + b);
      if (objective(best) > objective(std::log(fit.nu))) fit.nu = std::exp(best);
    }
    return 0.0;  // exact M-step (and a CM-step for ν that cannot lower ℓ)
  };
  fit.trace = run_em(e_step, m_step, options.em, "fit_student_t_regression");
  return fit;
}

}  // namespace descent::bound
