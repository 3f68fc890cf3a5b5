// Kernel ridge regression, gradient-flow predictions, Gram spectrum (kernel_regression.hpp).
#include "descent/probe/kernel_regression.hpp"

#include <Eigen/Dense>
#include <cmath>
#include <limits>

#include "descent/core/error.hpp"

namespace descent::probe {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<const Matrix>;

Matrix to_matrix(const Tensor& t) {
  const Tensor d = t.astype(DType::f64);
  const int64_t rows = t.dim(0), cols = t.rank() == 1 ? 1 : t.dim(1);
  return MatrixMap(d.data<double>(), rows, cols);
}

Tensor to_tensor(const Matrix& m, bool as_vector) {
  Tensor t = as_vector ? Tensor::empty({m.rows()}, DType::f64) : Tensor::empty({m.rows(), m.cols()}, DType::f64);
  Eigen::Map<Matrix>(t.data<double>(), m.rows(), m.cols()) = m;
  return t;
}

Matrix checked_gram(const Tensor& gram, const char* who) {
  DESCENT_CHECK(gram.defined() && gram.rank() == 2 && gram.dim(0) == gram.dim(1), ShapeError,
                "{}: the Gram matrix must be square [n, n], got {}", who,
                gram.defined() ? gram.shape().str() : std::string("an undefined tensor"));
  Matrix K = to_matrix(gram);
  DESCENT_CHECK(K.allFinite(), InputError, "{}: the Gram matrix holds NaN or infinite values", who);
  const double scale = K.cwiseAbs().maxCoeff();
  const double asymmetry = (K - K.transpose()).cwiseAbs().maxCoeff();
  DESCENT_CHECK(asymmetry <= 1e-10 * scale, InputError,
                "{}: the Gram matrix is not symmetric (max |K − Kᵀ| = {:.3g}, max |K| = {:.3g})", who, asymmetry,
                scale);
  return K;
}

Matrix checked_targets(const Tensor& targets, int64_t n, const char* who) {
  DESCENT_CHECK(targets.defined() && (targets.rank() == 1 || targets.rank() == 2) && targets.dim(0) == n,
                ShapeError, "{}: targets must be [n] or [n, k] with n = {}, got {}", who, n,
                targets.defined() ? targets.shape().str() : std::string("an undefined tensor"));
  Matrix Y = to_matrix(targets);
  DESCENT_CHECK(Y.allFinite(), InputError, "{}: the targets hold NaN or infinite values", who);
  return Y;
}

Matrix checked_cross(const Tensor& cross, int64_t n, const char* who) {
  DESCENT_CHECK(cross.defined() && cross.rank() == 2 && cross.dim(1) == n, ShapeError,
                "{}: the cross kernel must be K(X*, X) [m, n] with n = {} training points, got {}", who, n,
                cross.defined() ? cross.shape().str() : std::string("an undefined tensor"));
  return to_matrix(cross);
}

}  // namespace

KernelRidge::KernelRidge(const Tensor& gram, const Tensor& targets, double ridge) : ridge_(ridge) {
  DESCENT_CHECK(std::isfinite(ridge) && ridge >= 0.0, InputError, "KernelRidge: ridge = {} must be finite and >= 0",
                ridge);
  Matrix K = checked_gram(gram, "KernelRidge");
  n_ = K.rows();
  const Matrix Y = checked_targets(targets, n_, "KernelRidge");
  const double max_diagonal = n_ > 0 ? K.diagonal().cwiseAbs().maxCoeff() : 0.0;
  K.diagonal().array() += ridge;
  Eigen::LLT<Matrix> llt(K);
  double smallest_pivot_squared = std::numeric_limits<double>::infinity();
  if (llt.info() == Eigen::Success && n_ > 0)
    smallest_pivot_squared = llt.matrixLLT().diagonal().cwiseAbs2().minCoeff();
  // A pivot² at the rounding level of the diagonal means K is singular to working precision.
  const bool singular = llt.info() != Eigen::Success ||
                        smallest_pivot_squared <= double(n_) * std::numeric_limits<double>::epsilon() * max_diagonal;
  if (singular && ridge == 0.0)
    fail<InputError>(
        "KernelRidge: the Gram matrix [{0}, {0}] is singular to working precision (smallest Cholesky pivot² "
        "{1:.3g}, largest diagonal {2:.3g}); duplicate inputs or a kernel of rank < n do that; set a ridge > 0 "
        "(e.g. {3:.1g}) to regularize, instead of interpolating",
        n_, llt.info() == Eigen::Success ? smallest_pivot_squared : 0.0, max_diagonal, 1e-8 * max_diagonal);
  if (llt.info() != Eigen::Success)
    fail<InputError>(
        "KernelRidge: K + ridge I [{0}, {0}] is not positive definite with ridge = {1:.3g} (is the kernel positive "
        "semi-definite?); raise the ridge",
        n_, ridge);
  dual_weights_ = to_tensor(llt.solve(Y), targets.rank() == 1);
}

Tensor KernelRidge::predict(const Tensor& cross_kernel) const {
  const Matrix Ks = checked_cross(cross_kernel, n_, "KernelRidge::predict");
  return to_tensor(Ks * to_matrix(dual_weights_), dual_weights_.rank() == 1);
}

GramSpectrum gram_spectrum(const Tensor& gram) {
  const Matrix K = checked_gram(gram, "gram_spectrum");
  const int64_t n = K.rows();
  Eigen::SelfAdjointEigenSolver<Matrix> eig(K);
  DESCENT_CHECK(eig.info() == Eigen::Success, Error, "gram_spectrum: the eigensolver did not converge (n = {})", n);
  // Eigen sorts ascending; reverse to descending.
  const Eigen::VectorXd values = eig.eigenvalues().reverse();
  const Matrix vectors = eig.eigenvectors().rowwise().reverse();
  GramSpectrum s;
  s.eigenvalues = to_tensor(values, true);
  s.eigenvectors = to_tensor(vectors, false);
  if (n > 0) {
    const double scale = std::max(values.cwiseAbs().maxCoeff(), std::numeric_limits<double>::min());
    const Matrix residual = K * vectors - vectors * values.asDiagonal();
    s.relative_residual = residual.colwise().norm().maxCoeff() / scale;
  }
  return s;
}

Tensor label_projections(const GramSpectrum& spectrum, const Tensor& targets) {
  const int64_t n = spectrum.eigenvalues.dim(0);
  const Matrix Y = checked_targets(targets, n, "label_projections");
  const Matrix P = to_matrix(spectrum.eigenvectors).transpose() * Y;
  return to_tensor(P.rowwise().squaredNorm(), true);
}

GradientFlow::GradientFlow(const Tensor& gram, const Tensor& targets, double learning_rate)
    : learning_rate_(learning_rate) {
  DESCENT_CHECK(std::isfinite(learning_rate) && learning_rate > 0.0, InputError,
                "GradientFlow: learning_rate η = {} must be finite and > 0", learning_rate);
  spectrum_ = gram_spectrum(gram);
  const Matrix Y = checked_targets(targets, spectrum_.eigenvalues.dim(0), "GradientFlow");
  vector_targets_ = targets.rank() == 1;
  targets_ = to_tensor(Y, false);
  projected_targets_ = to_tensor(to_matrix(spectrum_.eigenvectors).transpose() * Y, false);
}

Tensor GradientFlow::apply_in_eigenbasis(const std::vector<double>& factors) const {
  const Matrix V = to_matrix(spectrum_.eigenvectors);
  Matrix P = to_matrix(projected_targets_);
  for (int64_t i = 0; i < P.rows(); ++i) P.row(i) *= factors[size_t(i)];
  return to_tensor(V * P, false);
}

Tensor GradientFlow::train_predictions(double t) const {
  DESCENT_CHECK(t >= 0.0, InputError, "GradientFlow: time t = {} must be >= 0", t);
  const int64_t n = spectrum_.eigenvalues.dim(0);
  const double* lambda = spectrum_.eigenvalues.data<double>();
  const double tol = n > 0 ? double(n) * std::numeric_limits<double>::epsilon() * std::abs(lambda[0]) : 0.0;
  std::vector<double> factors(size_t(n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    if (lambda[i] > tol) factors[size_t(i)] = std::isinf(t) ? 1.0 : -std::expm1(-learning_rate_ * lambda[i] * t);
  Tensor f = apply_in_eigenbasis(factors);
  return vector_targets_ ? f.reshape({n}) : f;
}

Tensor GradientFlow::test_predictions(const Tensor& cross_kernel, double t) const {
  DESCENT_CHECK(t >= 0.0, InputError, "GradientFlow: time t = {} must be >= 0", t);
  const int64_t n = spectrum_.eigenvalues.dim(0);
  const Matrix Ks = checked_cross(cross_kernel, n, "GradientFlow::test_predictions");
  const double* lambda = spectrum_.eigenvalues.data<double>();
  const double tol = n > 0 ? double(n) * std::numeric_limits<double>::epsilon() * std::abs(lambda[0]) : 0.0;
  // (1 − e^{−ηλt})/λ: −expm1 keeps it exact for small ηλt, where it tends to ηt.
  std::vector<double> factors(size_t(n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    if (lambda[i] > tol)
      factors[size_t(i)] = (std::isinf(t) ? 1.0 : -std::expm1(-learning_rate_ * lambda[i] * t)) / lambda[i];
  const Matrix f = Ks * to_matrix(apply_in_eigenbasis(factors));
  return to_tensor(f, vector_targets_);
}

double GradientFlow::train_loss(double t) const {
  const Matrix r = to_matrix(train_predictions(t)) - to_matrix(targets_);
  return 0.5 * r.squaredNorm();
}

}  // namespace descent::probe
