#include "descent/bound/gmm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <cblas.h>
#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>

#include "descent/core/error.hpp"

namespace descent::bound {

namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
const double kLog2Pi = std::log(2.0 * M_PI);
// scikit-learn adds 10·eps to every component's mass so that an empty one stays finite.
const double kMassFloor = 10 * std::numeric_limits<double>::epsilon();

void check_data(const Eigen::MatrixXd& X, int components, const char* who) {
  DESCENT_CHECK(X.rows() > 0 && X.cols() > 0, InputError, "{}: the data are empty ({}x{})", who, X.rows(), X.cols());
  DESCENT_CHECK(components >= 1, InputError, "{}: components must be ≥ 1, got {}", who, components);
  DESCENT_CHECK(components <= X.rows(), InputError, "{}: {} components but only {} points; use at most {} components",
                who, components, X.rows(), X.rows());
  for (int64_t j = 0; j < X.cols(); ++j)
    for (int64_t n = 0; n < X.rows(); ++n)
      DESCENT_CHECK(std::isfinite(X(n, j)), InputError,
                    "{}: X[{}, {}] is {}; remove or impute missing values first (for a Gaussian with missing "
                    "entries use fit_mvn_missing)",
                    who, n, j, X(n, j));
}

void check_model(const GaussianMixture& m, int64_t D, const char* who) {
  const int64_t K = m.weights.size();
  DESCENT_CHECK(K >= 1 && m.means.rows() == K && m.means.cols() == D && static_cast<int64_t>(m.covariances.size()) == K,
                ShapeError, "{}: the mixture has {} weights, {}x{} means and {} covariances for {}-dimensional data",
                who, K, m.means.rows(), m.means.cols(), m.covariances.size(), D);
  for (const auto& c : m.covariances)
    DESCENT_CHECK(c.rows() == D && c.cols() == D, ShapeError, "{}: a covariance is {}x{}, expected {}x{}", who,
                  c.rows(), c.cols(), D, D);
}

// lp[n, k] = log π_k + log N(x_n | μ_k, Σ_k). Full covariances: with Σ_k = L Lᵀ,
// ‖L⁻¹(x − μ)‖² = ‖X L⁻ᵀ − (L⁻¹μ)ᵀ‖² row-wise, one GEMM per component; Y is scratch [N, D].
void log_joint(const RowMatrix& X, const GaussianMixture& m, RowMatrix& lp, RowMatrix& Y) {
  const int64_t N = X.rows(), D = X.cols(), K = m.weights.size();
  lp.resize(N, K);
  for (int64_t k = 0; k < K; ++k) {
    const double log_weight = std::log(m.weights[k]);
    if (m.type == CovarianceType::full) {
      const Eigen::LLT<Eigen::MatrixXd> llt(m.covariances[k]);
      DESCENT_CHECK(llt.info() == Eigen::Success, InputError,
                    "gaussian mixture: the covariance of component {} is singular (a constant column, or fewer than "
                    "D+1 points in the component); set reg_covar > 0 (scikit-learn's default is 1e-6)",
                    k);
      const Eigen::MatrixXd L = llt.matrixL();
      const Eigen::MatrixXd Linv = L.triangularView<Eigen::Lower>().solve(Eigen::MatrixXd::Identity(D, D));
      const RowMatrix LinvT = Linv.transpose();  // Y = X · L⁻ᵀ
      Y.resize(N, D);
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(N), static_cast<int>(D),
                  static_cast<int>(D), 1.0, X.data(), static_cast<int>(D), LinvT.data(), static_cast<int>(D), 0.0,
                  Y.data(), static_cast<int>(D));
      const Eigen::VectorXd b = Linv * m.means.row(k).transpose();
      const double constant = log_weight - 0.5 * D * kLog2Pi - L.diagonal().array().log().sum();
      for (int64_t n = 0; n < N; ++n) {
        const double* y = Y.data() + n * D;
        double sq = 0;
        for (int64_t j = 0; j < D; ++j) {
          const double r = y[j] - b[j];
          sq += r * r;
        }
        lp(n, k) = constant - 0.5 * sq;
      }
    } else {
      const Eigen::VectorXd var = m.covariances[k].diagonal();
      DESCENT_CHECK((var.array() > 0).all(), InputError,
                    "gaussian mixture: component {} has a zero variance (a constant column); set reg_covar > 0", k);
      const Eigen::VectorXd precision = var.cwiseInverse();
      const Eigen::VectorXd mu = m.means.row(k).transpose();
      const double constant = log_weight - 0.5 * D * kLog2Pi - 0.5 * var.array().log().sum();
      for (int64_t n = 0; n < N; ++n) {
        const double* x = X.data() + n * D;
        double sq = 0;
        for (int64_t j = 0; j < D; ++j) {
          const double r = x[j] - mu[j];
          sq += r * r * precision[j];
        }
        lp(n, k) = constant - 0.5 * sq;
      }
    }
  }
}

// Turns lp into responsibilities, row by row (log-sum-exp), and returns Σ_n log p(x_n).
double responsibilities(RowMatrix& lp) {
  const int64_t N = lp.rows(), K = lp.cols();
  double total = 0;
  for (int64_t n = 0; n < N; ++n) {
    double* row = lp.data() + n * K;
    const double mx = *std::max_element(row, row + K);
    double s = 0;
    for (int64_t k = 0; k < K; ++k) s += std::exp(row[k] - mx);
    const double lse = mx + std::log(s);
    total += lse;
    for (int64_t k = 0; k < K; ++k) row[k] = std::exp(row[k] - lse);
  }
  return total;
}

// The M-step from responsibilities R [N, K] (scikit-learn's _estimate_gaussian_parameters).
// Returns the bound on Q's shortfall due to reg_covar (regularization_shortfall).
double m_step(const RowMatrix& X, const RowMatrix& R, double reg_covar, GaussianMixture& m, RowMatrix& W) {
  double shortfall = 0;
  const int64_t N = X.rows(), D = X.cols(), K = R.cols();
  const Eigen::VectorXd nk = R.colwise().sum().transpose().array() + kMassFloor;
  m.weights = nk / nk.sum();
  RowMatrix sums(K, D);  // Rᵀ X
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(K), static_cast<int>(D), static_cast<int>(N),
              1.0, R.data(), static_cast<int>(K), X.data(), static_cast<int>(D), 0.0, sums.data(), static_cast<int>(D));
  m.means = sums.array().colwise() / nk.array();
  m.covariances.resize(K);
  if (m.type == CovarianceType::full) {
    W.resize(N, D);
    RowMatrix C(D, D);
    for (int64_t k = 0; k < K; ++k) {
      // Σ_k = Σ_n r_nk (x_n − μ_k)(x_n − μ_k)ᵀ / N_k as WᵀW, W_n = √r_nk (x_n − μ_k): one SYRK.
      const Eigen::VectorXd mu = m.means.row(k).transpose();
      for (int64_t n = 0; n < N; ++n) {
        const double s = std::sqrt(R(n, k));
        const double* x = X.data() + n * D;
        double* w = W.data() + n * D;
        for (int64_t j = 0; j < D; ++j) w[j] = s * (x[j] - mu[j]);
      }
      cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, static_cast<int>(D), static_cast<int>(N), 1.0 / nk[k],
                  W.data(), static_cast<int>(D), 0.0, C.data(), static_cast<int>(D));
      Eigen::MatrixXd cov = C.triangularView<Eigen::Lower>();
      cov.triangularView<Eigen::StrictlyUpper>() = cov.transpose().triangularView<Eigen::StrictlyUpper>();
      if (reg_covar > 0)
        shortfall += regularization_shortfall(
            Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(cov, Eigen::EigenvaluesOnly).eigenvalues(), reg_covar,
            nk[k]);
      cov.diagonal().array() += reg_covar;
      m.covariances[k] = std::move(cov);
    }
  } else {
    // E_r[x²] − μ² per coordinate (scikit-learn's diagonal form); spherical: their mean.
    RowMatrix X2 = X.array().square();
    RowMatrix sq(K, D);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(K), static_cast<int>(D),
                static_cast<int>(N), 1.0, R.data(), static_cast<int>(K), X2.data(), static_cast<int>(D), 0.0,
                sq.data(), static_cast<int>(D));
    for (int64_t k = 0; k < K; ++k) {
      Eigen::VectorXd var = sq.row(k).transpose() / nk[k] - m.means.row(k).transpose().cwiseAbs2();
      if (m.type == CovarianceType::spherical) var.setConstant(var.mean());
      shortfall += regularization_shortfall(var, reg_covar, nk[k]);
      var.array() += reg_covar;
      m.covariances[k] = var.asDiagonal();
    }
  }
  return shortfall;
}

RowMatrix to_rows(const Eigen::MatrixXd& X) { return X; }

}  // namespace

Eigen::VectorXd gmm_log_density(const Eigen::MatrixXd& X, const GaussianMixture& model) {
  check_model(model, X.cols(), "gmm_log_density");
  const RowMatrix Xr = to_rows(X);
  RowMatrix lp, Y;
  log_joint(Xr, model, lp, Y);
  Eigen::VectorXd out(X.rows());
  for (int64_t n = 0; n < X.rows(); ++n) {
    const double mx = lp.row(n).maxCoeff();
    out[n] = mx + std::log((lp.row(n).array() - mx).exp().sum());
  }
  return out;
}

double gmm_log_likelihood(const Eigen::MatrixXd& X, const GaussianMixture& model) {
  return gmm_log_density(X, model).sum();
}

GaussianMixture kmeans_plus_plus_init(const Eigen::MatrixXd& X, int components, CovarianceType type,
                                      double reg_covar, Rng& rng) {
  check_data(X, components, "kmeans_plus_plus_init");
  const int64_t N = X.rows(), K = components;
  std::vector<int64_t> centres{static_cast<int64_t>(rng.below(static_cast<uint64_t>(N)))};
  Eigen::VectorXd d2 = (X.rowwise() - X.row(centres[0])).rowwise().squaredNorm();
  while (static_cast<int64_t>(centres.size()) < K) {
    // D² sampling: the next centre is x_n with probability ∝ its squared distance to the
    // nearest centre so far (Arthur & Vassilvitskii 2007).
    const double total = d2.sum();
    int64_t pick = static_cast<int64_t>(rng.below(static_cast<uint64_t>(N)));
    if (total > 0) {
      const double u = rng.uniform() * total;
      double c = 0;
      for (int64_t n = 0; n < N; ++n) {
        c += d2[n];
        if (u < c) {
          pick = n;
          break;
        }
      }
    }
    centres.push_back(pick);
    d2 = d2.cwiseMin((X.rowwise() - X.row(pick)).rowwise().squaredNorm());
  }
  RowMatrix R = RowMatrix::Zero(N, K);
  for (int64_t n = 0; n < N; ++n) {
    int64_t best = 0;
    double best_d = INFINITY;
    for (int64_t k = 0; k < K; ++k) {
      const double d = (X.row(n) - X.row(centres[k])).squaredNorm();
      if (d < best_d) best_d = d, best = k;
    }
    R(n, best) = 1.0;
  }
  GaussianMixture m;
  m.type = type;
  RowMatrix W;
  m_step(to_rows(X), R, reg_covar, m, W);
  return m;
}

GmmFit fit_gmm(const Eigen::MatrixXd& X, const GmmOptions& options, const GaussianMixture* init) {
  check_data(X, options.components, "fit_gmm");
  DESCENT_CHECK(options.reg_covar >= 0, InputError, "fit_gmm: reg_covar must be ≥ 0, got {}", options.reg_covar);
  DESCENT_CHECK(options.e_step != EStep::monte_carlo || options.mc_samples >= 1, InputError,
                "fit_gmm: mc_samples must be ≥ 1, got {}", options.mc_samples);
  Rng rng(options.seed);
  GmmFit fit;
  if (init) {
    check_model(*init, X.cols(), "fit_gmm (initial mixture)");
    fit.model = *init;
  } else {
    fit.model = kmeans_plus_plus_init(X, options.components, options.type, options.reg_covar, rng);
  }
  fit.model.type = options.type;
  const RowMatrix Xr = to_rows(X);
  const int64_t N = X.rows(), K = fit.model.weights.size();
  RowMatrix R, Y;  // responsibilities and scratch, reused by every iteration
  auto e_step = [&]() -> double {
    log_joint(Xr, fit.model, R, Y);
    if (options.e_step == EStep::hard) {
      double objective = 0;
      for (int64_t n = 0; n < N; ++n) {
        int64_t best = 0;
        objective += R.row(n).maxCoeff(&best);
        R.row(n).setZero();
        R(n, best) = 1.0;
      }
      return objective;
    }
    const double ll = responsibilities(R);
    if (options.e_step == EStep::monte_carlo) {
      for (int64_t n = 0; n < N; ++n) {
        Eigen::VectorXd counts = Eigen::VectorXd::Zero(K);
        for (int s = 0; s < options.mc_samples; ++s) {
          const double u = rng.uniform();
          double c = 0;
          int64_t k = K - 1;
          for (int64_t j = 0; j < K; ++j) {
            c += R(n, j);
            if (u < c) {
              k = j;
              break;
            }
          }
          counts[k] += 1.0;
        }
        R.row(n) = counts.transpose() / options.mc_samples;
      }
    }
    return ll;
  };
  auto m = [&] { return m_step(Xr, R, options.reg_covar, fit.model, Y); };
  EmOptions em = options.em;
  if (options.e_step == EStep::monte_carlo) em.check_monotone = false;  // sampled statistics
  fit.trace = run_em(e_step, m, em, "fit_gmm");
  return fit;
}

OnlineEmFit fit_gmm_online(const Eigen::MatrixXd& X, const OnlineEmOptions& options, const GaussianMixture* init) {
  check_data(X, options.components, "fit_gmm_online");
  DESCENT_CHECK(options.batch_size >= 1 && options.epochs >= 1, InputError,
                "fit_gmm_online: batch_size and epochs must be ≥ 1, got {} and {}", options.batch_size, options.epochs);
  DESCENT_CHECK(options.alpha > 0.5 && options.alpha <= 1.0, InputError,
                "fit_gmm_online: alpha must lie in (0.5, 1] (so that Σ η_t = ∞ and Σ η_t² < ∞), got {}",
                options.alpha);
  Rng rng(options.seed);
  OnlineEmFit fit;
  fit.model = init ? *init : kmeans_plus_plus_init(X, options.components, options.type, options.reg_covar, rng);
  fit.model.type = options.type;
  const int64_t N = X.rows(), D = X.cols(), K = fit.model.weights.size();
  check_model(fit.model, D, "fit_gmm_online");
  // Sufficient statistics per point: s0 = E[r], s1 = E[r x], s2 = E[r x xᵀ].
  Eigen::VectorXd s0 = fit.model.weights;
  Eigen::MatrixXd s1 = fit.model.means.array().colwise() * s0.array();
  std::vector<Eigen::MatrixXd> s2(K);
  for (int64_t k = 0; k < K; ++k) {
    const Eigen::VectorXd mu = fit.model.means.row(k).transpose();
    s2[k] = s0[k] * (fit.model.covariances[k] + mu * mu.transpose());
  }
  const RowMatrix Xr = to_rows(X);
  RowMatrix batch, R, Y;
  int64_t t = 0;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    const std::vector<int64_t> order = rng.permutation(N);
    for (int64_t start = 0; start < N; start += options.batch_size) {
      const int64_t B = std::min<int64_t>(options.batch_size, N - start);
      batch.resize(B, D);
      for (int64_t i = 0; i < B; ++i) batch.row(i) = Xr.row(order[start + i]);
      log_joint(batch, fit.model, R, Y);
      responsibilities(R);
      const double eta = std::pow(static_cast<double>(t + 2), -options.alpha);
      ++t;
      s0 = (1 - eta) * s0 + eta * R.colwise().sum().transpose() / B;
      s1 = (1 - eta) * s1 + eta * (R.transpose() * batch) / B;
      for (int64_t k = 0; k < K; ++k) {
        const Eigen::MatrixXd weighted = batch.array().colwise() * R.col(k).array();
        s2[k] = (1 - eta) * s2[k] + eta * (weighted.transpose() * batch) / B;
      }
      // θ = θ̂(s): the M-step from the running statistics.
      const Eigen::VectorXd nk = s0.array() + kMassFloor;
      fit.model.weights = nk / nk.sum();
      for (int64_t k = 0; k < K; ++k) {
        const Eigen::VectorXd mu = s1.row(k).transpose() / nk[k];
        fit.model.means.row(k) = mu.transpose();
        Eigen::MatrixXd cov = s2[k] / nk[k] - mu * mu.transpose();
        cov.diagonal().array() += options.reg_covar;
        if (options.type != CovarianceType::full) {
          Eigen::VectorXd var = cov.diagonal();
          if (options.type == CovarianceType::spherical) var.setConstant(var.mean());
          cov = var.asDiagonal();
        }
        fit.model.covariances[k] = cov;
      }
    }
    const double ll = gmm_log_likelihood(X, fit.model);
    DESCENT_CHECK(std::isfinite(ll), NonFiniteError, "fit_gmm_online: the log-likelihood is {} after epoch {}", ll,
                  epoch + 1);
    fit.log_likelihood.push_back(ll);
  }
  return fit;
}

}  // namespace descent::bound
