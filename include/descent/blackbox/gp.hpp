#pragma once
// Gaussian-process regression for Bayesian optimization (Rasmussen & Williams 2006,
// Algorithms 2.1 and eq. 5.9; Murphy §6.6 states that the GP is used but gives no
// equations, spec §5). Kernels: Matérn-5/2 and squared exponential, both with one
// length-scale per input (ARD). Hyper-parameters theta = [log l_1..l_d, log s_f^2,
// log s_n^2] maximize the log marginal likelihood (plus a weak log-normal prior) by
// multi-start L-BFGS on its analytic gradient 0.5 tr((alpha alpha^T - K^-1) dK/dtheta).
#include <optional>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "descent/blackbox/problem.hpp"

namespace descent::blackbox {

enum class Kernel { matern52, squared_exponential };

struct GpFitOptions {
  int restarts = 3;            // L-BFGS starts besides the current hyper-parameters
  int max_iterations = 200;
  bool use_prior = true;       // weak log-normal prior on theta (stabilizes tiny data sets)
  double min_noise = 1e-6;     // lower bound on s_n^2 (targets are standardized)
};

class GaussianProcess {
 public:
  GaussianProcess(Kernel kernel, Eigen::Index dim);

  // Training data: X is d x n (one column per point), y has n entries. Targets are
  // standardized internally; predictions are returned in the original units.
  void set_data(Matrix X, const Vector& y);
  // Sets theta and factorizes K + s_n^2 I. Throws if the data are not set.
  void set_hyperparameters(const Vector& theta);
  // Fits theta by multi-start L-BFGS; returns the best (penalized) log marginal likelihood.
  double fit(Rng& rng, const GpFitOptions& options = {});

  // log p(y | X, theta) of the standardized targets; writes d/dtheta into grad if given.
  double log_marginal_likelihood(const Vector& theta, Vector* grad = nullptr) const;
  // k(a, b) under theta, and the covariance matrix between two sets of columns.
  double kernel(const Vector& theta, const Eigen::Ref<const Vector>& a, const Eigen::Ref<const Vector>& b) const;
  Matrix kernel_matrix(const Vector& theta, const Matrix& A, const Matrix& B) const;

  // Posterior of the latent f at the columns of Xs: means and variances (no noise).
  void predict(const Matrix& Xs, Vector& mean, Vector& variance) const;
  // Joint posterior covariance of f at the columns of Xs.
  Matrix posterior_covariance(const Matrix& Xs) const;
  // Cross-covariance Cov[f(a), f(B_j)] under the posterior.
  Vector posterior_cross_covariance(const Vector& a, const Matrix& B) const;
  // Joint samples of f at the columns of Xs: samples x m.
  Matrix sample_posterior(const Matrix& Xs, int samples, Rng& rng) const;

  Eigen::Index dim() const { return dim_; }
  Eigen::Index size() const { return X_.cols(); }
  const Vector& hyperparameters() const { return theta_; }
  Kernel kernel_kind() const { return kind_; }
  double noise_variance() const { return std::exp(theta_[dim_ + 1]) * y_scale_ * y_scale_; }
  const Matrix& inputs() const { return X_; }
  Vector targets() const { return y_ * y_scale_ + Vector::Constant(y_.size(), y_shift_); }

 private:
  Kernel kind_;
  Eigen::Index dim_;
  Matrix X_;
  Vector y_;  // standardized
  double y_shift_ = 0.0, y_scale_ = 1.0;
  Vector theta_;
  Eigen::LLT<Matrix> chol_;
  Vector alpha_;
  bool factorized_ = false;
};

}  // namespace descent::blackbox
