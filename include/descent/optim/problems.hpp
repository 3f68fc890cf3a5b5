#pragma once
// Standard test problems (the ensmallen problems/ idea, STYLE.md): Objectives with known
// minimizers and exact derivatives that every optimizer's tests, benches and experiments
// reuse. All work in float64.
#include <cstdint>

#include <Eigen/Core>

#include "descent/core/objective.hpp"

namespace descent::optim::problems {

// Extended Rosenbrock Σ_i 100 (θ_{i+1} − θ_i²)² + (1 − θ_i)², minimum 0 at (1, …, 1).
class Rosenbrock final : public Objective {
 public:
  explicit Rosenbrock(int64_t dimension = 2);
  int64_t dimension() const override { return n_; }
  double value_and_gradient(const Tensor& theta, Tensor& gradient) override;
  void hessian_vector_product(const Tensor& theta, const Tensor& v, Tensor& hv) override;
  bool has_exact_hessian_vector_product() const override { return true; }
  Tensor minimizer() const;
  // The classic start (−1.2, 1, −1.2, 1, …).
  Tensor classic_start() const;

 private:
  int64_t n_;
};

// f(θ) = ½ (θ − θ*)ᵀ A (θ − θ*), A = Q diag(λ) Qᵀ with a seeded random rotation Q (or Q = I).
class Quadratic final : public Objective {
 public:
  // A = Q diag(eigenvalues) Qᵀ (eigenvalues > 0); minimizer θ*.
  Quadratic(const Eigen::VectorXd& eigenvalues, const Eigen::VectorXd& minimizer, uint64_t seed, bool rotate = true);
  // Eigenvalues log-spaced from 1 to κ (so the condition number is exactly κ), θ* ~ N(0, I).
  static Quadratic with_condition_number(int64_t dimension, double condition_number, uint64_t seed,
                                         bool rotate = true);
  int64_t dimension() const override { return static_cast<int64_t>(minimizer_.size()); }
  double value_and_gradient(const Tensor& theta, Tensor& gradient) override;
  void hessian_vector_product(const Tensor& theta, const Tensor& v, Tensor& hv) override;
  bool has_exact_hessian_vector_product() const override { return true; }
  const Eigen::MatrixXd& hessian() const { return a_; }
  const Eigen::VectorXd& eigenvalues() const { return eigenvalues_; }
  Tensor minimizer() const;

 private:
  Eigen::VectorXd eigenvalues_, minimizer_;
  Eigen::MatrixXd a_;
};

// Least squares as a finite sum: f(θ) = (1/n) Σ_i ½ (x_iᵀθ − y_i)².
class LeastSquares final : public Objective {
 public:
  // X [n, d], y [n] (float64).
  LeastSquares(const Tensor& x, const Tensor& y);
  // X = U diag(s) Vᵀ with singular values log-spaced so that XᵀX has condition number κ,
  // y = X θ_true + noise·N(0, 1).
  static LeastSquares ill_conditioned(int64_t examples, int64_t dimension, double condition_number,
                                      uint64_t seed, double noise = 0.0);
  int64_t dimension() const override { return x_.cols(); }
  double value_and_gradient(const Tensor& theta, Tensor& gradient) override;
  void hessian_vector_product(const Tensor& theta, const Tensor& v, Tensor& hv) override;
  bool has_exact_hessian_vector_product() const override { return true; }
  int64_t num_examples() const override { return x_.rows(); }
  double batch_value_and_gradient(const Tensor& theta, std::span<const int64_t> indices, Tensor& gradient) override;
  // The exact minimizer (normal equations, by a QR solve).
  Tensor minimizer() const;

 private:
  Eigen::MatrixXd x_;
  Eigen::VectorXd y_;
};

// Binary logistic regression as a finite sum: labels y_i ∈ {0, 1}, p_i = σ(x_iᵀθ),
// f(θ) = (1/n) Σ_i [log(1 + e^{z_i}) − y_i z_i] + (l2/2)‖θ‖², z_i = x_iᵀθ. No intercept:
// append a column of ones to X for one.
class LogisticRegression final : public Objective {
 public:
  // X [n, d] and y [n] (any float dtype; y values must be 0 or 1).
  LogisticRegression(const Tensor& x, const Tensor& y, double l2 = 0.0);
  int64_t dimension() const override { return x_.cols(); }
  double value_and_gradient(const Tensor& theta, Tensor& gradient) override;
  void hessian_vector_product(const Tensor& theta, const Tensor& v, Tensor& hv) override;
  bool has_exact_hessian_vector_product() const override { return true; }
  int64_t num_examples() const override { return x_.rows(); }
  double batch_value_and_gradient(const Tensor& theta, std::span<const int64_t> indices, Tensor& gradient) override;
  // Fraction of examples with (x_iᵀθ > 0) == y_i.
  double accuracy(const Tensor& theta) const;

 private:
  Eigen::MatrixXd x_;
  Eigen::VectorXd y_;
  double l2_;
};

}  // namespace descent::optim::problems
