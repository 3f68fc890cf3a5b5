#include "descent/dynamics/diffusion.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "descent/probe/gradient_noise.hpp"

namespace descent::dynamics {
namespace {

void check_vectors(const Diffusion& d, const Tensor& x, const Tensor& z, const Tensor& out) {
  const int64_t p = d.dimension();
  DESCENT_CHECK(x.dtype() == DType::f64 && z.dtype() == DType::f64 && out.dtype() == DType::f64 && x.numel() == p &&
                    z.numel() == p && out.numel() == p,
                ShapeError, "diffusion '{}': x, z and out must be float64 vectors of {} elements", d.name(), p);
}

}  // namespace

Tensor to_tensor(const Eigen::VectorXd& v) {
  Tensor t = Tensor::empty({int64_t(v.size())}, DType::f64);
  as_vector(t) = v;
  return t;
}

Eigen::MatrixXd symmetric_sqrt(const Eigen::MatrixXd& sigma) {
  DESCENT_CHECK(sigma.rows() == sigma.cols() && sigma.rows() >= 1, ShapeError,
                "symmetric_sqrt: Σ must be square, got {}×{}", sigma.rows(), sigma.cols());
  DESCENT_CHECK(sigma.allFinite(), NonFiniteError, "symmetric_sqrt: Σ has non-finite entries");
  const double asym = (sigma - sigma.transpose()).cwiseAbs().maxCoeff();
  const double scale = std::max(sigma.cwiseAbs().maxCoeff(), 1e-300);
  DESCENT_CHECK(asym <= 1e-10 * scale, InputError, "symmetric_sqrt: Σ is not symmetric (max |Σ − Σᵀ| = {:.3g})", asym);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(0.5 * (sigma + sigma.transpose()));
  const Eigen::VectorXd& lambda = eig.eigenvalues();
  DESCENT_CHECK(lambda.minCoeff() >= -1e-10 * std::max(lambda.cwiseAbs().maxCoeff(), 1e-300), InputError,
                "symmetric_sqrt: Σ is not positive semidefinite (eigenvalue {:.6g})", lambda.minCoeff());
  const Eigen::VectorXd root = lambda.cwiseMax(0.0).cwiseSqrt();
  return eig.eigenvectors() * root.asDiagonal() * eig.eigenvectors().transpose();
}

MatrixDiffusion::MatrixDiffusion(const Eigen::MatrixXd& sigma) : sqrt_(symmetric_sqrt(sigma)) {}

void MatrixDiffusion::apply_sqrt(const Tensor& x, const Tensor& z, Tensor& out) {
  check_vectors(*this, x, z, out);
  as_vector(out).noalias() = sqrt_ * as_vector(z);
}

IsotropicDiffusion::IsotropicDiffusion(int64_t dimension, double variance) : dimension_(dimension) {
  DESCENT_CHECK(dimension >= 1 && variance >= 0 && std::isfinite(variance), InputError,
                "isotropic diffusion: need dimension ≥ 1 and a finite variance ≥ 0 (got {}, {})", dimension, variance);
  sd_ = std::sqrt(variance);
}

void IsotropicDiffusion::apply_sqrt(const Tensor& x, const Tensor& z, Tensor& out) {
  check_vectors(*this, x, z, out);
  as_vector(out) = sd_ * as_vector(z);
}

std::string IsotropicDiffusion::name() const { return fmt::format("isotropic σ² = {:.6g}", sd_ * sd_); }

FunctionDiffusion::FunctionDiffusion(int64_t dimension, Covariance sigma, std::string name)
    : dimension_(dimension), sigma_(std::move(sigma)), name_(std::move(name)) {
  DESCENT_CHECK(dimension >= 1 && sigma_, InputError, "function diffusion: needs dimension ≥ 1 and a callable Σ(x)");
}

void FunctionDiffusion::apply_sqrt(const Tensor& x, const Tensor& z, Tensor& out) {
  check_vectors(*this, x, z, out);
  const Eigen::MatrixXd sigma = sigma_(as_vector(x));
  DESCENT_CHECK(sigma.rows() == dimension_ && sigma.cols() == dimension_, ShapeError,
                "function diffusion '{}': Σ(x) must be {}×{}, got {}×{}", name_, dimension_, dimension_, sigma.rows(),
                sigma.cols());
  if (dimension_ == 1) {  // the common scalar case without an eigensolver
    DESCENT_CHECK(sigma(0, 0) >= 0, InputError, "function diffusion '{}': Σ(x) = {} < 0", name_, sigma(0, 0));
    out.data<double>()[0] = std::sqrt(sigma(0, 0)) * z.data<double>()[0];
    return;
  }
  as_vector(out).noalias() = symmetric_sqrt(sigma) * as_vector(z);
}

ModelNoiseDiffusion::ModelNoiseDiffusion(Objective& objective, ModelNoiseOptions options)
    : objective_(&objective), options_(options) {
  DESCENT_CHECK(objective.num_examples() >= 2, InputError,
                "model-noise diffusion: the objective must be a finite sum of at least 2 examples (it has {})",
                objective.num_examples());
  DESCENT_CHECK(options.batch_size >= 1, InputError, "model-noise diffusion: batch size must be ≥ 1, got {}",
                options.batch_size);
  if (objective.dtype() != DType::f64) x_cast_ = Tensor::empty({objective.dimension()}, objective.dtype());
}

std::string ModelNoiseDiffusion::name() const {
  return fmt::format("gradient-noise covariance Σ(x)/{} over {} examples (Lanczos square root)", options_.batch_size,
                     objective_->num_examples());
}

void ModelNoiseDiffusion::apply_sqrt(const Tensor& x, const Tensor& z, Tensor& out) {
  check_vectors(*this, x, z, out);
  const Tensor* theta = &x;
  if (x_cast_.defined()) {
    x_cast_.copy_from(x.astype(x_cast_.dtype()));
    theta = &x_cast_;
  }
  auto sigma = probe::gradient_noise_covariance_operator(*objective_, *theta, {}, options_.memory_cap_bytes);
  last_ = probe::lanczos_sqrt(sigma, z, out, options_.lanczos);
  if (!last_.converged) ++unconverged_;
  // (Σ/B)^{1/2} = Σ^{1/2}/√B.
  as_vector(out) /= std::sqrt(double(options_.batch_size));
}

}  // namespace descent::dynamics
