#pragma once
// Objective: the one abstraction that optimizers, probes and experiments share (DESIGN.md).
//
// Parameters θ ∈ R^P are one contiguous 1-D tensor; an Objective gives f(θ), ∇f(θ),
// and, where it can, Hessian-vector products and the finite-sum structure
// f(θ) = (1/n) Σ_i f_i(θ) that stochastic methods and gradient-noise probes need.
// Models (nn), analytic test problems (optim/problems) and user lambdas all implement it;
// none of the consumers knows what is inside.
#include <cstdint>
#include <functional>
#include <span>

#include "descent/core/error.hpp"
#include "descent/core/tensor.hpp"

namespace descent {

class Objective {
 public:
  virtual ~Objective() = default;

  // Number of parameters P.
  virtual int64_t dimension() const = 0;
  // Element type of θ (float32 or float64).
  virtual DType dtype() const { return DType::f64; }

  // f(θ) over the whole objective (for a finite sum: the mean over all n examples).
  // `gradient` has shape [P] and is overwritten with ∇f(θ).
  virtual double value_and_gradient(const Tensor& theta, Tensor& gradient) = 0;
  virtual double value(const Tensor& theta) {
    Tensor g = Tensor::empty({dimension()}, dtype());
    return value_and_gradient(theta, g);
  }

  // H(θ) v into `hv` (shape [P]). The default is a central difference of gradients with a
  // step scaled to ‖θ‖ and ‖v‖; objectives with autodiff override it with an exact HVP.
  virtual void hessian_vector_product(const Tensor& theta, const Tensor& v, Tensor& hv);
  // True when hessian_vector_product is exact (not a finite difference).
  virtual bool has_exact_hessian_vector_product() const { return false; }

  // ---- finite sums: f(θ) = (1/n) Σ_i f_i(θ) ----
  // n, or 0 when the objective is not a finite sum.
  virtual int64_t num_examples() const { return 0; }
  // Mean of f_i over `indices` and its gradient.
  virtual double batch_value_and_gradient(const Tensor& theta, std::span<const int64_t> indices,
                                          Tensor& gradient) {
    fail<InputError>("this objective is not a finite sum: it has no mini-batch gradients");
  }
  // Row b of `gradients` ([indices.size(), P]) set to ∇f_{indices[b]}(θ). The default
  // calls batch_value_and_gradient once per example; models override it with a batched
  // computation.
  virtual void per_example_gradients(const Tensor& theta, std::span<const int64_t> indices,
                                     Tensor& gradients);
};

// An Objective from a callable (value and gradient), for tests, problems and user code.
class FunctionObjective final : public Objective {
 public:
  using ValueAndGradient = std::function<double(const Tensor& theta, Tensor& gradient)>;
  using HessianVectorProduct = std::function<void(const Tensor& theta, const Tensor& v, Tensor& hv)>;
  FunctionObjective(int64_t dimension, ValueAndGradient f, HessianVectorProduct hvp = {},
                    DType dtype = DType::f64)
      : dimension_(dimension), dtype_(dtype), f_(std::move(f)), hvp_(std::move(hvp)) {}

  int64_t dimension() const override { return dimension_; }
  DType dtype() const override { return dtype_; }
  double value_and_gradient(const Tensor& theta, Tensor& gradient) override { return f_(theta, gradient); }
  void hessian_vector_product(const Tensor& theta, const Tensor& v, Tensor& hv) override {
    if (hvp_) return hvp_(theta, v, hv);
    Objective::hessian_vector_product(theta, v, hv);
  }
  bool has_exact_hessian_vector_product() const override { return static_cast<bool>(hvp_); }

 private:
  int64_t dimension_;
  DType dtype_;
  ValueAndGradient f_;
  HessianVectorProduct hvp_;
};

}  // namespace descent
