#pragma once
// Dense matrices with known spectra for the probe tests: A = Q diag(λ) Qᵀ with Q a seeded
// random orthogonal matrix (QR of a Gaussian matrix).
#include <vector>

#include <Eigen/Dense>

#include "descent/core/rng.hpp"
#include "descent/core/tensor.hpp"

namespace descent::probe::testing {

inline Eigen::MatrixXd random_orthogonal(int p, uint64_t seed) {
  Rng rng(seed);
  Eigen::MatrixXd g(p, p);
  for (int i = 0; i < p; ++i)
    for (int j = 0; j < p; ++j) g(i, j) = rng.normal();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
  return qr.householderQ() * Eigen::MatrixXd::Identity(p, p);
}

inline Eigen::MatrixXd with_spectrum(const std::vector<double>& eigenvalues, uint64_t seed) {
  const int p = int(eigenvalues.size());
  const Eigen::MatrixXd q = random_orthogonal(p, seed);
  const Eigen::VectorXd d = Eigen::Map<const Eigen::VectorXd>(eigenvalues.data(), p);
  Eigen::MatrixXd a = q * d.asDiagonal() * q.transpose();
  return 0.5 * (a + a.transpose());
}

inline Tensor to_tensor(const Eigen::MatrixXd& a) {
  Tensor t = Tensor::empty({a.rows(), a.cols()}, DType::f64);
  double* d = t.data<double>();
  for (Eigen::Index i = 0; i < a.rows(); ++i)
    for (Eigen::Index j = 0; j < a.cols(); ++j) d[i * a.cols() + j] = a(i, j);
  return t;
}

inline Eigen::MatrixXd to_eigen(const Tensor& t) {
  Eigen::MatrixXd a(t.dim(0), t.dim(1));
  for (int64_t i = 0; i < t.dim(0); ++i)
    for (int64_t j = 0; j < t.dim(1); ++j) a(i, j) = t.at(i * t.dim(1) + j);
  return a;
}

inline double relative_error(double estimate, double truth) {
  return std::abs(estimate - truth) / std::max(std::abs(truth), 1e-300);
}

}  // namespace descent::probe::testing
