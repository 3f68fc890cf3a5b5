#pragma once
// The diffusion of dX = −∇f(X) dt + √η Σ(X)^{1/2} dW (Arora eq. 12.4): what an SDE simulation
// needs from Σ is the product Σ(x)^{1/2} z. Σ may be
//   - a fixed matrix                   (MatrixDiffusion: symmetric square root once, by eigh),
//   - a function of x returning Σ(x)   (FunctionDiffusion: eigh at every x; small P),
//   - isotropic σ²·I                   (IsotropicDiffusion),
//   - the model's own gradient-noise covariance Σ(x)/B of mini-batches of B examples
//     (ModelNoiseDiffusion: probe's GradientCovarianceOperator at x, its square root applied
//     by Lanczos, never a P×P matrix).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <Eigen/Dense>

#include "descent/core/objective.hpp"
#include "descent/probe/matrix_function.hpp"

namespace descent::dynamics {

class Diffusion {
 public:
  virtual ~Diffusion() = default;
  virtual int64_t dimension() const = 0;
  // out = Σ(x)^{1/2} z; x, z, out: float64 [P] (out never aliases x or z).
  virtual void apply_sqrt(const Tensor& x, const Tensor& z, Tensor& out) = 0;
  // False when Σ does not depend on x (Milstein then coincides with Euler–Maruyama).
  virtual bool state_dependent() const { return true; }
  virtual std::string name() const = 0;
};

// Σ^{1/2} of a symmetric positive semidefinite matrix by its eigendecomposition (eigenvalues
// below 0 by round-off are clamped; a clearly negative one is an input error).
Eigen::MatrixXd symmetric_sqrt(const Eigen::MatrixXd& sigma);

class MatrixDiffusion final : public Diffusion {
 public:
  explicit MatrixDiffusion(const Eigen::MatrixXd& sigma);
  int64_t dimension() const override { return sqrt_.rows(); }
  void apply_sqrt(const Tensor& x, const Tensor& z, Tensor& out) override;
  bool state_dependent() const override { return false; }
  std::string name() const override { return "constant matrix"; }
  const Eigen::MatrixXd& sqrt_matrix() const { return sqrt_; }

 private:
  Eigen::MatrixXd sqrt_;
};

class IsotropicDiffusion final : public Diffusion {
 public:
  IsotropicDiffusion(int64_t dimension, double variance);
  int64_t dimension() const override { return dimension_; }
  void apply_sqrt(const Tensor& x, const Tensor& z, Tensor& out) override;
  bool state_dependent() const override { return false; }
  std::string name() const override;

 private:
  int64_t dimension_;
  double sd_;
};

class FunctionDiffusion final : public Diffusion {
 public:
  using Covariance = std::function<Eigen::MatrixXd(const Eigen::VectorXd& x)>;
  FunctionDiffusion(int64_t dimension, Covariance sigma, std::string name = "Σ(x)");
  int64_t dimension() const override { return dimension_; }
  void apply_sqrt(const Tensor& x, const Tensor& z, Tensor& out) override;
  std::string name() const override { return name_; }

 private:
  int64_t dimension_;
  Covariance sigma_;
  std::string name_;
};

struct ModelNoiseOptions {
  int64_t batch_size = 1;  // B: the diffusion is Σ(x)/B, the noise of a mean over B examples
  size_t memory_cap_bytes = size_t(256) << 20;  // per-example gradients held at once
  probe::MatrixFunctionOptions lanczos = {.max_steps = 40, .tolerance = 1e-6};
};
// Σ(x) = (1/n) Σ_i (g_i − ḡ)(g_i − ḡ)ᵀ of the objective's finite sum (Arora Problem 12.1.1),
// rebuilt at every x. Each apply_sqrt costs one pass of per-example gradients plus
// ≤ lanczos.max_steps products with Σ.
class ModelNoiseDiffusion final : public Diffusion {
 public:
  ModelNoiseDiffusion(Objective& objective, ModelNoiseOptions options = {});
  int64_t dimension() const override { return objective_->dimension(); }
  void apply_sqrt(const Tensor& x, const Tensor& z, Tensor& out) override;
  std::string name() const override;
  // Of the last apply_sqrt: Lanczos steps and whether they met the tolerance.
  const probe::MatrixFunctionResult& last_lanczos() const { return last_; }
  int64_t unconverged_applications() const { return unconverged_; }

 private:
  Objective* objective_;
  ModelNoiseOptions options_;
  probe::MatrixFunctionResult last_;
  int64_t unconverged_ = 0;
  Tensor x_cast_;
};

// Eigen views of float64 vectors (no copy).
inline Eigen::Map<const Eigen::VectorXd> as_vector(const Tensor& t) { return {t.data<double>(), t.numel()}; }
inline Eigen::Map<Eigen::VectorXd> as_vector(Tensor& t) { return {t.data<double>(), t.numel()}; }
Tensor to_tensor(const Eigen::VectorXd& v);

}  // namespace descent::dynamics
