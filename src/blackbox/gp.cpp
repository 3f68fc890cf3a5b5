#include "descent/blackbox/gp.hpp"

#include <cmath>
#include <limits>
#include <numbers>

#include "descent/core/error.hpp"
#include "descent/optim/lbfgs.hpp"

namespace descent::blackbox {
namespace {

constexpr double kSqrt5 = 2.23606797749978969641;
constexpr double kJitter = 1e-10;

// Box on theta, enforced by a quadratic penalty during the fit and by clamping after it.
struct ThetaBox {
  Vector lo, hi;
};
ThetaBox theta_box(Eigen::Index d, double min_noise) {
  ThetaBox b{Vector(d + 2), Vector(d + 2)};
  b.lo.head(d).setConstant(std::log(1e-3));
  b.hi.head(d).setConstant(std::log(1e2));
  b.lo[d] = std::log(1e-3);
  b.hi[d] = std::log(1e3);
  b.lo[d + 1] = std::log(min_noise);
  b.hi[d + 1] = std::log(2.0);
  return b;
}

}  // namespace

GaussianProcess::GaussianProcess(Kernel kernel, Eigen::Index dim) : kind_(kernel), dim_(dim) {
  DESCENT_CHECK(dim >= 1, InputError, "gaussian process: input dimension must be >= 1, got {}", dim);
  theta_ = Vector::Zero(dim + 2);
  theta_.head(dim).setConstant(std::log(0.5));
  theta_[dim + 1] = std::log(1e-4);
  X_.resize(dim, 0);
}

void GaussianProcess::set_data(Matrix X, const Vector& y) {
  DESCENT_CHECK(X.rows() == dim_ && X.cols() == y.size(), ShapeError,
                "gaussian process: inputs are {}x{} but expected {} rows and one column per target ({})", X.rows(),
                X.cols(), dim_, y.size());
  DESCENT_CHECK(y.allFinite(), InputError, "gaussian process: targets must be finite (drop failed evaluations)");
  X_ = std::move(X);
  const Eigen::Index n = y.size();
  y_shift_ = n > 0 ? y.mean() : 0.0;
  const double var = n > 1 ? (y.array() - y_shift_).square().sum() / double(n - 1) : 0.0;
  y_scale_ = var > 1e-300 ? std::sqrt(var) : 1.0;
  y_ = (y.array() - y_shift_) / y_scale_;
  set_hyperparameters(theta_);
}

double GaussianProcess::kernel(const Vector& theta, const Eigen::Ref<const Vector>& a,
                               const Eigen::Ref<const Vector>& b) const {
  const double r2 = ((a - b).array() * (-theta.head(dim_).array()).exp()).square().sum();
  const double sf2 = std::exp(theta[dim_]);
  if (kind_ == Kernel::squared_exponential) return sf2 * std::exp(-0.5 * r2);
  const double r = std::sqrt(r2);
  return sf2 * (1.0 + kSqrt5 * r + 5.0 / 3.0 * r2) * std::exp(-kSqrt5 * r);
}

Matrix GaussianProcess::kernel_matrix(const Vector& theta, const Matrix& A, const Matrix& B) const {
  const Vector inv_l = (-theta.head(dim_).array()).exp();
  const Matrix As = inv_l.asDiagonal() * A, Bs = inv_l.asDiagonal() * B;
  Matrix R2 = -2.0 * As.transpose() * Bs;
  R2.colwise() += As.colwise().squaredNorm().transpose();
  R2.rowwise() += Bs.colwise().squaredNorm();
  R2 = R2.cwiseMax(0.0);
  const double sf2 = std::exp(theta[dim_]);
  if (kind_ == Kernel::squared_exponential) return sf2 * (-0.5 * R2.array()).exp().matrix();
  const Eigen::ArrayXXd r = R2.array().sqrt();
  return (sf2 * (1.0 + kSqrt5 * r + 5.0 / 3.0 * R2.array()) * (-kSqrt5 * r).exp()).matrix();
}

void GaussianProcess::set_hyperparameters(const Vector& theta) {
  DESCENT_CHECK(theta.size() == dim_ + 2, ShapeError, "gaussian process: theta needs {} entries, got {}", dim_ + 2,
                theta.size());
  theta_ = theta;
  factorized_ = false;
  const Eigen::Index n = X_.cols();
  if (n == 0) return;
  Matrix K = kernel_matrix(theta_, X_, X_);
  double jitter = kJitter;
  for (int attempt = 0; attempt < 8; ++attempt) {
    Matrix Kn = K;
    Kn.diagonal().array() += std::exp(theta_[dim_ + 1]) + jitter;
    chol_.compute(Kn);
    if (chol_.info() == Eigen::Success) {
      alpha_ = chol_.solve(y_);
      factorized_ = true;
      return;
    }
    jitter *= 100.0;
  }
  fail<Error>("gaussian process: K + noise I is not positive definite even with jitter (duplicate inputs?)");
}

double GaussianProcess::log_marginal_likelihood(const Vector& theta, Vector* grad) const {
  const Eigen::Index n = X_.cols(), d = dim_;
  DESCENT_CHECK(n > 0, InputError, "gaussian process: no data to compute a marginal likelihood of");
  const Matrix Kf = kernel_matrix(theta, X_, X_);
  const double sn2 = std::exp(theta[d + 1]);
  Matrix K = Kf;
  K.diagonal().array() += sn2 + kJitter;
  const Eigen::LLT<Matrix> llt(K);
  if (llt.info() != Eigen::Success) {
    if (grad) grad->setZero(d + 2);
    return -std::numeric_limits<double>::infinity();
  }
  const Vector alpha = llt.solve(y_);
  const double log_det_half = llt.matrixLLT().diagonal().array().log().sum();
  const double lml = -0.5 * y_.dot(alpha) - log_det_half - 0.5 * double(n) * std::log(2.0 * std::numbers::pi);
  if (!grad) return lml;

  // d lml / d theta_j = 0.5 tr(W dK/dtheta_j), W = alpha alpha^T - K^{-1} (R&W eq. 5.9).
  Matrix W = -llt.solve(Matrix::Identity(n, n));
  W.noalias() += alpha * alpha.transpose();
  grad->resize(d + 2);
  // Length-scales: dK_ab/dlog l_i = g(r_ab) (x_ai - x_bi)^2 / l_i^2, where g = k for SE and
  // g = s_f^2 (5/3)(1 + sqrt5 r) exp(-sqrt5 r) for Matérn-5/2.
  Matrix G;
  if (kind_ == Kernel::squared_exponential) {
    G = Kf;
  } else {
    const Vector inv_l = (-theta.head(d).array()).exp();
    const Matrix Xs = inv_l.asDiagonal() * X_;
    Matrix R2 = -2.0 * Xs.transpose() * Xs;
    R2.colwise() += Xs.colwise().squaredNorm().transpose();
    R2.rowwise() += Xs.colwise().squaredNorm();
    const Eigen::ArrayXXd r = R2.cwiseMax(0.0).array().sqrt();
    G = (std::exp(theta[d]) * 5.0 / 3.0 * (1.0 + kSqrt5 * r) * (-kSqrt5 * r).exp()).matrix();
  }
  const Matrix M = W.cwiseProduct(G);  // symmetric
  const Vector row_sums = M.rowwise().sum();
  for (Eigen::Index i = 0; i < d; ++i) {
    const Vector xi = X_.row(i).transpose();
    // sum_ab M_ab (x_ai - x_bi)^2 = 2 sum_a x_ai^2 (M 1)_a - 2 x_i^T M x_i
    const double s = 2.0 * xi.cwiseProduct(xi).dot(row_sums) - 2.0 * xi.dot(M * xi);
    (*grad)[i] = 0.5 * s * std::exp(-2.0 * theta[i]);
  }
  (*grad)[d] = 0.5 * W.cwiseProduct(Kf).sum();
  (*grad)[d + 1] = 0.5 * sn2 * W.trace();
  return lml;
}

double GaussianProcess::fit(Rng& rng, const GpFitOptions& options) {
  const Eigen::Index d = dim_;
  DESCENT_CHECK(X_.cols() > 0, InputError, "gaussian process: fit needs at least one data point");
  const ThetaBox box = theta_box(d, options.min_noise);
  // Weak prior: log l ~ N(log 0.5, 1), log s_f^2 ~ N(0, 1.5^2), log s_n^2 ~ N(log 1e-3, 3^2).
  Vector prior_mean(d + 2), prior_sd(d + 2);
  prior_mean.head(d).setConstant(std::log(0.5));
  prior_sd.head(d).setConstant(1.0);
  prior_mean[d] = 0.0;
  prior_sd[d] = 1.5;
  prior_mean[d + 1] = std::log(1e-3);
  prior_sd[d + 1] = 3.0;

  auto objective = [&](const Vector& theta, Vector& g) {
    double v = log_marginal_likelihood(theta, &g);
    if (!std::isfinite(v)) return std::numeric_limits<double>::infinity();
    if (options.use_prior) {
      const Vector z = (theta - prior_mean).cwiseQuotient(prior_sd);
      v -= 0.5 * z.squaredNorm();
      g -= z.cwiseQuotient(prior_sd);
    }
    for (Eigen::Index j = 0; j < d + 2; ++j) {  // quadratic wall outside the box
      const double below = box.lo[j] - theta[j], above = theta[j] - box.hi[j];
      if (below > 0) { v -= 100.0 * below * below; g[j] += 200.0 * below; }
      if (above > 0) { v -= 100.0 * above * above; g[j] -= 200.0 * above; }
    }
    g = -g;
    return -v;
  };
  optim::LbfgsOptions lo;
  lo.max_iterations = options.max_iterations;
  lo.gradient_tolerance = 1e-6;
  lo.function_tolerance = 1e-10;

  std::vector<Vector> starts{theta_.cwiseMax(box.lo).cwiseMin(box.hi)};
  for (int s = 0; s < options.restarts; ++s) {
    Vector t(d + 2);
    for (Eigen::Index j = 0; j < d; ++j) t[j] = rng.uniform(std::log(0.05), std::log(2.0));
    t[d] = rng.uniform(std::log(0.3), std::log(3.0));
    t[d + 1] = rng.uniform(std::log(options.min_noise), std::log(0.1));
    starts.push_back(t);
  }
  double best = std::numeric_limits<double>::infinity();
  Vector best_theta = starts.front();
  for (const auto& t0 : starts) {
    const auto r = optim::lbfgs(objective, t0, lo);
    if (std::isfinite(r.f) && r.f < best) {
      best = r.f;
      best_theta = r.x;
    }
  }
  set_hyperparameters(best_theta.cwiseMax(box.lo).cwiseMin(box.hi));
  return -best;
}

void GaussianProcess::predict(const Matrix& Xs, Vector& mean, Vector& variance) const {
  const Eigen::Index m = Xs.cols();
  const double sf2 = std::exp(theta_[dim_]);
  if (!factorized_) {
    mean = Vector::Constant(m, y_shift_);
    variance = Vector::Constant(m, sf2 * y_scale_ * y_scale_);
    return;
  }
  const Matrix Ks = kernel_matrix(theta_, X_, Xs);
  mean = (Ks.transpose() * alpha_).array() * y_scale_ + y_shift_;
  const Matrix V = chol_.matrixL().solve(Ks);
  variance = ((sf2 - V.colwise().squaredNorm().transpose().array()).max(0.0) * y_scale_ * y_scale_).matrix();
}

Matrix GaussianProcess::posterior_covariance(const Matrix& Xs) const {
  Matrix S = kernel_matrix(theta_, Xs, Xs);
  if (factorized_) {
    const Matrix V = chol_.matrixL().solve(kernel_matrix(theta_, X_, Xs));
    S.noalias() -= V.transpose() * V;
  }
  return S * (y_scale_ * y_scale_);
}

Vector GaussianProcess::posterior_cross_covariance(const Vector& a, const Matrix& B) const {
  Vector c = kernel_matrix(theta_, a, B).transpose();
  if (factorized_) {
    const Vector va = chol_.matrixL().solve(kernel_matrix(theta_, X_, a));
    const Matrix VB = chol_.matrixL().solve(kernel_matrix(theta_, X_, B));
    c.noalias() -= VB.transpose() * va;
  }
  return c * (y_scale_ * y_scale_);
}

Matrix GaussianProcess::sample_posterior(const Matrix& Xs, int samples, Rng& rng) const {
  const Eigen::Index m = Xs.cols();
  Vector mean, var;
  predict(Xs, mean, var);
  const Matrix S = posterior_covariance(Xs);
  // Jitter only when the factorization needs it: it would inflate tiny variances (near
  // queried points) and bias what the samples estimate.
  double jitter = 0.0;
  Eigen::LLT<Matrix> llt;
  for (int attempt = 0; attempt < 12; ++attempt) {
    Matrix Sj = S;
    Sj.diagonal().array() += jitter;
    llt.compute(Sj);
    if (llt.info() == Eigen::Success) break;
    jitter = jitter == 0.0 ? 1e-12 * std::max(1.0, S.diagonal().maxCoeff()) : jitter * 10.0;
  }
  DESCENT_CHECK(llt.info() == Eigen::Success, Error, "gaussian process: posterior covariance is not PSD");
  Matrix Z(m, samples);
  for (auto& v : Z.reshaped()) v = rng.normal();
  Matrix F = llt.matrixL() * Z;
  F.colwise() += mean;
  return F.transpose();
}

}  // namespace descent::blackbox
