#include "descent/bound/mvn_missing.hpp"

#include <cmath>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>

#include "descent/core/error.hpp"

namespace descent::bound {

namespace {

const double kLog2Pi = std::log(2.0 * M_PI);

struct Pattern {
  std::vector<int64_t> visible, hidden;
};

Pattern pattern_of(const Eigen::MatrixXd& X, int64_t n) {
  Pattern p;
  for (int64_t j = 0; j < X.cols(); ++j) (std::isnan(X(n, j)) ? p.hidden : p.visible).push_back(j);
  return p;
}

Eigen::MatrixXd block(const Eigen::MatrixXd& S, const std::vector<int64_t>& rows, const std::vector<int64_t>& cols) {
  Eigen::MatrixXd B(rows.size(), cols.size());
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < cols.size(); ++j) B(i, j) = S(rows[i], cols[j]);
  return B;
}

Eigen::VectorXd part(const Eigen::VectorXd& v, const std::vector<int64_t>& idx) {
  Eigen::VectorXd out(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) out[i] = v[idx[i]];
  return out;
}

// One row's posterior over its hidden block (6.157–6.159) and its observed log-density.
struct RowPosterior {
  Eigen::VectorXd y;        // E[y_n]: observed values and conditional means
  Eigen::MatrixXd V;        // Cov[y_n]: V_n in the hidden block, 0 elsewhere
  double log_density = 0;   // log N(x_v | μ_v, Σ_vv)
};

RowPosterior posterior(const Eigen::MatrixXd& X, int64_t n, const Eigen::VectorXd& mu, const Eigen::MatrixXd& S,
                       const Pattern& p) {
  const int64_t D = X.cols();
  RowPosterior r;
  r.y = X.row(n).transpose();
  r.V = Eigen::MatrixXd::Zero(D, D);
  if (p.visible.empty()) {
    r.y = mu;
    r.V = S;
    return r;
  }
  const Eigen::MatrixXd Svv = block(S, p.visible, p.visible);
  const Eigen::LLT<Eigen::MatrixXd> llt(Svv);
  DESCENT_CHECK(llt.info() == Eigen::Success, InputError,
                "fit_mvn_missing: Σ restricted to the observed entries of row {} is singular; a column is (nearly) "
                "constant or two are collinear; set reg_covar > 0",
                n);
  Eigen::VectorXd xv(p.visible.size());
  for (size_t i = 0; i < p.visible.size(); ++i) xv[i] = X(n, p.visible[i]);
  const Eigen::VectorXd dv = xv - part(mu, p.visible);
  const Eigen::VectorXd alpha = llt.solve(dv);
  const Eigen::MatrixXd L = llt.matrixL();
  r.log_density = -0.5 * (static_cast<double>(p.visible.size()) * kLog2Pi + dv.dot(alpha)) -
                  L.diagonal().array().log().sum();
  if (!p.hidden.empty()) {
    const Eigen::MatrixXd Shv = block(S, p.hidden, p.visible);
    const Eigen::VectorXd m = part(mu, p.hidden) + Shv * alpha;         // (6.158)
    const Eigen::MatrixXd Vh = block(S, p.hidden, p.hidden) - Shv * llt.solve(Shv.transpose());  // (6.159)
    for (size_t i = 0; i < p.hidden.size(); ++i) {
      r.y[p.hidden[i]] = m[i];
      for (size_t j = 0; j < p.hidden.size(); ++j) r.V(p.hidden[i], p.hidden[j]) = Vh(i, j);
    }
  }
  return r;
}

}  // namespace

double mvn_observed_log_likelihood(const Eigen::MatrixXd& X, const Eigen::VectorXd& mean,
                                   const Eigen::MatrixXd& covariance) {
  double ll = 0;
  for (int64_t n = 0; n < X.rows(); ++n) ll += posterior(X, n, mean, covariance, pattern_of(X, n)).log_density;
  return ll;
}

Eigen::MatrixXd impute_mvn(const Eigen::MatrixXd& X, const Eigen::VectorXd& mean, const Eigen::MatrixXd& covariance) {
  DESCENT_CHECK(mean.size() == X.cols() && covariance.rows() == X.cols() && covariance.cols() == X.cols(), ShapeError,
                "impute_mvn: X has {} columns, the mean {} entries and Σ is {}x{}", X.cols(), mean.size(),
                covariance.rows(), covariance.cols());
  Eigen::MatrixXd out(X.rows(), X.cols());
  for (int64_t n = 0; n < X.rows(); ++n) out.row(n) = posterior(X, n, mean, covariance, pattern_of(X, n)).y.transpose();
  return out;
}

MvnMissingFit fit_mvn_missing(const Eigen::MatrixXd& X, const MvnMissingOptions& options) {
  const int64_t N = X.rows(), D = X.cols();
  DESCENT_CHECK(N > 0 && D > 0, InputError, "fit_mvn_missing: the data are empty ({}x{})", N, D);
  DESCENT_CHECK(options.reg_covar >= 0, InputError, "fit_mvn_missing: reg_covar must be ≥ 0, got {}",
                options.reg_covar);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < D; ++j)
      DESCENT_CHECK(!std::isinf(X(n, j)), InputError, "fit_mvn_missing: X[{}, {}] is infinite (missing is NaN)", n, j);
  // Start: the observed marginals, or the complete rows' MLE when there are enough.
  MvnMissingFit fit;
  fit.mean = Eigen::VectorXd::Zero(D);
  fit.covariance = Eigen::MatrixXd::Zero(D, D);
  std::vector<int64_t> complete;
  for (int64_t n = 0; n < N; ++n)
    if (!X.row(n).array().isNaN().any()) complete.push_back(n);
  for (int64_t j = 0; j < D; ++j) {
    double s = 0, s2 = 0;
    int64_t c = 0;
    for (int64_t n = 0; n < N; ++n)
      if (!std::isnan(X(n, j))) s += X(n, j), s2 += X(n, j) * X(n, j), ++c;
    DESCENT_CHECK(c >= 2, InputError, "fit_mvn_missing: column {} has {} observed values; need at least 2", j, c);
    fit.mean[j] = s / c;
    const double var = s2 / c - fit.mean[j] * fit.mean[j];
    DESCENT_CHECK(var > 0 || options.reg_covar > 0, InputError,
                  "fit_mvn_missing: column {} is constant where observed (variance 0); drop it or set reg_covar > 0",
                  j);
    fit.covariance(j, j) = var + options.reg_covar;
  }
  if (static_cast<int64_t>(complete.size()) > D) {
    Eigen::MatrixXd C(complete.size(), D);
    for (size_t i = 0; i < complete.size(); ++i) C.row(i) = X.row(complete[i]);
    const Eigen::VectorXd mu = C.colwise().mean();
    const Eigen::MatrixXd centered = C.rowwise() - mu.transpose();
    Eigen::MatrixXd S = centered.transpose() * centered / static_cast<double>(C.rows());
    S.diagonal().array() += options.reg_covar;
    if (Eigen::LLT<Eigen::MatrixXd>(S).info() == Eigen::Success) fit.mean = mu, fit.covariance = S;
  }
  std::vector<Pattern> patterns(N);
  for (int64_t n = 0; n < N; ++n) patterns[n] = pattern_of(X, n);
  Eigen::VectorXd sum_y(D);
  Eigen::MatrixXd sum_yy(D, D);
  auto e_step = [&] {
    // Expected sufficient statistics (6.160–6.162): Σ E[y], Σ E[y yᵀ] = Σ (E[y]E[y]ᵀ + V_n).
    sum_y.setZero();
    sum_yy.setZero();
    double ll = 0;
    for (int64_t n = 0; n < N; ++n) {
      const RowPosterior r = posterior(X, n, fit.mean, fit.covariance, patterns[n]);
      sum_y += r.y;
      sum_yy += r.y * r.y.transpose() + r.V;  // V_n too: conditional means alone are wrong (the seed's warning)
      ll += r.log_density;
    }
    return ll;
  };
  auto m_step = [&] {
    fit.mean = sum_y / static_cast<double>(N);                                              // (6.163)
    fit.covariance = sum_yy / static_cast<double>(N) - fit.mean * fit.mean.transpose();    // (6.164)
    fit.covariance = 0.5 * (fit.covariance + fit.covariance.transpose());
    double shortfall = 0;
    if (options.reg_covar > 0)
      shortfall = regularization_shortfall(
          Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(fit.covariance, Eigen::EigenvaluesOnly).eigenvalues(),
          options.reg_covar, static_cast<double>(N));
    fit.covariance.diagonal().array() += options.reg_covar;
    return shortfall;
  };
  fit.trace = run_em(e_step, m_step, options.em, "fit_mvn_missing");
  return fit;
}

}  // namespace descent::bound
