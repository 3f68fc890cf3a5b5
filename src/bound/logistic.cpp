#include "descent/bound/logistic.hpp"

#include <cmath>

#include <Eigen/Cholesky>

#include "descent/bound/em.hpp"
#include "descent/core/error.hpp"

namespace descent::bound {

namespace {

// log(1 + e^t) without overflow.
double log1pexp(double t) { return t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t)); }

void check_data(const Eigen::MatrixXd& X, int64_t rows, const char* who) {
  DESCENT_CHECK(X.rows() == rows && X.rows() > 0 && X.cols() > 0, ShapeError,
                "{}: X is {}x{} but there are {} labels", who, X.rows(), X.cols(), rows);
  DESCENT_CHECK(X.allFinite(), InputError, "{}: X holds NaN or infinite values; remove or impute them first", who);
}

Eigen::LLT<Eigen::MatrixXd> gram_cholesky(const Eigen::MatrixXd& X, const char* who) {
  const Eigen::MatrixXd gram = X.transpose() * X;
  Eigen::LLT<Eigen::MatrixXd> llt(gram);
  // A pivot at rounding level is a dependent column that LLT let through.
  const double floor = 1e-10 * gram.diagonal().maxCoeff();
  DESCENT_CHECK(llt.info() == Eigen::Success && llt.matrixL().toDenseMatrix().diagonal().cwiseAbs2().minCoeff() > floor,
                InputError,
                "{}: XᵀX is singular (a constant or duplicated column, or fewer rows than columns); drop the "
                "dependent columns",
                who);
  return llt;
}

bool small_step(const Eigen::MatrixXd& step, const Eigen::MatrixXd& w, double tol) {
  return step.cwiseAbs().maxCoeff() <= tol * (1.0 + w.cwiseAbs().maxCoeff());
}

}  // namespace

double logistic_log_likelihood(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Eigen::VectorXd& w) {
  const Eigen::VectorXd eta = X * w;
  double ll = 0;
  for (int64_t n = 0; n < eta.size(); ++n) ll += y[n] * eta[n] - log1pexp(eta[n]);
  return ll;
}

double multinomial_log_likelihood(const Eigen::MatrixXd& X, const Eigen::VectorXi& labels, const Eigen::MatrixXd& W) {
  const Eigen::MatrixXd eta = X * W;  // class C−1 has η = 0
  double ll = 0;
  for (int64_t n = 0; n < X.rows(); ++n) {
    const double m = std::max(0.0, eta.row(n).maxCoeff());
    const double lse = m + std::log(std::exp(-m) + (eta.row(n).array() - m).exp().sum());
    ll += (labels[n] < W.cols() ? eta(n, labels[n]) : 0.0) - lse;
  }
  return ll;
}

LogisticFit logistic_mm(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const LogisticOptions& options) {
  check_data(X, y.size(), "logistic_mm");
  const Eigen::LLT<Eigen::MatrixXd> gram = gram_cholesky(X, "logistic_mm");
  LogisticFit fit;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(X.cols());
  fit.log_likelihood.push_back(logistic_log_likelihood(X, y, w));
  for (; fit.iterations < options.max_iterations;) {
    Eigen::VectorXd p(X.rows());
    const Eigen::VectorXd eta = X * w;
    for (int64_t n = 0; n < p.size(); ++n) p[n] = 1.0 / (1.0 + std::exp(-eta[n]));
    // w ← w − B⁻¹g with B = −¼XᵀX: the ascent step +4(XᵀX)⁻¹Xᵀ(y − μ) (6.135, sign corrected).
    const Eigen::VectorXd step = 4.0 * gram.solve(X.transpose() * (y - p));
    w += step;
    ++fit.iterations;
    fit.log_likelihood.push_back(logistic_log_likelihood(X, y, w));
    check_monotone_step("logistic_mm", fit.iterations, fit.log_likelihood[fit.log_likelihood.size() - 2],
                        fit.log_likelihood.back(), options.monotone_slack);
    if (small_step(step, w, options.tolerance)) {
      fit.converged = true;
      break;
    }
  }
  DESCENT_CHECK(w.allFinite(), NonFiniteError,
                "logistic_mm: the weights diverged (are the classes linearly separable? the MLE does not exist then)");
  fit.weights = w;
  return fit;
}

LogisticFit logistic_irls(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const LogisticOptions& options) {
  check_data(X, y.size(), "logistic_irls");
  LogisticFit fit;
  Eigen::VectorXd w = Eigen::VectorXd::Zero(X.cols());
  fit.log_likelihood.push_back(logistic_log_likelihood(X, y, w));
  Eigen::MatrixXd XtSX(X.cols(), X.cols());
  for (; fit.iterations < options.max_iterations;) {
    const Eigen::VectorXd eta = X * w;
    Eigen::VectorXd p(X.rows()), s(X.rows());
    for (int64_t n = 0; n < p.size(); ++n) {
      p[n] = 1.0 / (1.0 + std::exp(-eta[n]));
      s[n] = p[n] * (1.0 - p[n]);
    }
    XtSX.setZero();
    XtSX.selfadjointView<Eigen::Lower>().rankUpdate((X.array().colwise() * s.array().sqrt()).matrix().transpose());
    const Eigen::LLT<Eigen::MatrixXd> llt(XtSX.selfadjointView<Eigen::Lower>());
    DESCENT_CHECK(llt.info() == Eigen::Success, InputError,
                  "logistic_irls: XᵀSX is singular at iteration {} (separable classes or dependent columns)",
                  fit.iterations);
    // Newton ascent step +(XᵀSX)⁻¹Xᵀ(y − μ) (6.136, sign corrected).
    const Eigen::VectorXd step = llt.solve(X.transpose() * (y - p));
    w += step;
    ++fit.iterations;
    fit.log_likelihood.push_back(logistic_log_likelihood(X, y, w));
    // Newton is not an MM method (a full step may overshoot far from the optimum), so its
    // trace is recorded, not checked.
    if (small_step(step, w, options.tolerance)) {
      fit.converged = true;
      break;
    }
  }
  fit.weights = w;
  return fit;
}

LogisticFit multinomial_logistic_mm(const Eigen::MatrixXd& X, const Eigen::VectorXi& labels, int classes,
                                    const LogisticOptions& options) {
  check_data(X, labels.size(), "multinomial_logistic_mm");
  DESCENT_CHECK(classes >= 2, InputError, "multinomial_logistic_mm: need at least 2 classes, got {}", classes);
  DESCENT_CHECK(labels.minCoeff() >= 0 && labels.maxCoeff() < classes, InputError,
                "multinomial_logistic_mm: labels must lie in [0, {}], found [{}, {}]", classes - 1, labels.minCoeff(),
                labels.maxCoeff());
  const Eigen::LLT<Eigen::MatrixXd> gram = gram_cholesky(X, "multinomial_logistic_mm");
  const int64_t N = X.rows(), C1 = classes - 1;
  Eigen::MatrixXd Y = Eigen::MatrixXd::Zero(N, C1);
  for (int64_t n = 0; n < N; ++n)
    if (labels[n] < C1) Y(n, labels[n]) = 1.0;
  LogisticFit fit;
  Eigen::MatrixXd W = Eigen::MatrixXd::Zero(X.cols(), C1);
  fit.log_likelihood.push_back(multinomial_log_likelihood(X, labels, W));
  const Eigen::MatrixXd A = Eigen::MatrixXd::Identity(C1, C1) + Eigen::MatrixXd::Ones(C1, C1);  // (I − 11ᵀ/C)⁻¹
  Eigen::MatrixXd P(N, C1);
  for (; fit.iterations < options.max_iterations;) {
    const Eigen::MatrixXd eta = X * W;
    for (int64_t n = 0; n < N; ++n) {
      const double m = std::max(0.0, eta.row(n).maxCoeff());
      const Eigen::ArrayXd e = (eta.row(n).array() - m).exp();
      P.row(n) = (e / (e.sum() + std::exp(-m))).matrix();
    }
    const Eigen::MatrixXd step = 2.0 * gram.solve(X.transpose() * (Y - P)) * A;  // −B⁻¹g (6.134)
    W += step;
    ++fit.iterations;
    fit.log_likelihood.push_back(multinomial_log_likelihood(X, labels, W));
    check_monotone_step("multinomial_logistic_mm", fit.iterations, fit.log_likelihood[fit.log_likelihood.size() - 2],
                        fit.log_likelihood.back(), options.monotone_slack);
    if (small_step(step, W, options.tolerance)) {
      fit.converged = true;
      break;
    }
  }
  DESCENT_CHECK(W.allFinite(), NonFiniteError, "multinomial_logistic_mm: the weights diverged (separable classes?)");
  fit.weights = W;
  return fit;
}

}  // namespace descent::bound
