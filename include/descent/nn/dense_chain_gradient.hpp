#pragma once
// The loss and its gradient for a chain of Linear layers, each followed by at most one
// activation (an MLP), in one fused forward and backward pass: the GEMMs write straight into
// the gradient's per-parameter views, bias, activation and its derivative share one loop, and
// softmax cross-entropy with its gradient is one pass over the logits. No autodiff graph is
// built (except for activations other than ReLU and losses other than softmax cross-entropy,
// whose element-wise derivatives come from autodiff), which is what a small network's
// training step spends most of its time on. ModelObjective uses it for its gradients whenever
// DenseChainHessian::supports(model) holds.
#include <cstdint>
#include <memory>
#include <vector>

#include "descent/core/tensor.hpp"
#include "descent/nn/losses.hpp"
#include "descent/nn/model.hpp"

namespace descent::nn {

class DenseChainGradient {
 public:
  // Throws InputError unless `model` is such a chain (DenseChainHessian::supports); `model`
  // must outlive the object.
  DenseChainGradient(const Model& model, Loss loss);
  ~DenseChainGradient();
  DenseChainGradient(DenseChainGradient&&) noexcept;
  DenseChainGradient& operator=(DenseChainGradient&&) noexcept;

  // Σ_i ℓ(model(x_i; θ), y_i) over the rows of x [B, d] (returned unweighted), and
  // weight · its gradient written to (accumulate = false) or added to (true) `gradient` [P].
  // The model outputs [B, K] are returned in `outputs` (a fresh tensor) when it is not null.
  double value_and_gradient(const Tensor& theta, const Tensor& x, const Tensor& y, double weight, Tensor& gradient,
                            bool accumulate, Tensor* outputs = nullptr);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace descent::nn
