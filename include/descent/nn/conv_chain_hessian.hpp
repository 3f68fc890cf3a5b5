#pragma once
// Exact Hessian-vector products of the mean loss of a CNN — a chain of Conv2d, Linear,
// activation, max/average pooling and Flatten layers (Dropout: the identity, as in
// evaluation) — by R-propagation (Pearlmutter 1994), as nn::DenseChainHessian does for MLPs:
// a few convolutions and GEMMs per layer and chunk of examples instead of a forward-over-reverse
// autodiff graph. θ is fixed per object; the v-independent state of a chunk (every layer's
// input, σ', σ'', the max-pooling choices and the back-propagated gradients) is kept between
// products up to a memory cap, for Krylov eigensolvers that apply the same Hessian many times.
// probe::ModelHessianOperator and ModelObjective::hessian_vector_product use it for CNNs.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "descent/core/tensor.hpp"
#include "descent/nn/losses.hpp"
#include "descent/nn/model.hpp"

namespace descent::nn {

class ConvChainHessian {
 public:
  // Whether `model` is such a chain with at least one Conv2d (MLPs: DenseChainHessian).
  static bool supports(const Model& model);
  // The Hessian at θ (copied) of (1/n) Σ_i ℓ(model(x_i), y_i) over inputs [n, C, H, W] and
  // targets, streamed in chunks of `chunk_size` examples; the v-independent state of the
  // first chunks is cached up to `cache_bytes` (0: recomputed on every product). `model`,
  // `inputs` and `targets` must outlive the object.
  ConvChainHessian(const Model& model, Loss loss, const Tensor& inputs, const Tensor& targets, const Tensor& theta,
                   int64_t chunk_size = 256, size_t cache_bytes = 0);
  ~ConvChainHessian();
  ConvChainHessian(ConvChainHessian&&) noexcept;
  ConvChainHessian& operator=(ConvChainHessian&&) noexcept;

  int64_t dimension() const;
  // hv = H(θ) v; v and hv are [P] of the model's dtype.
  void apply(const Tensor& v, Tensor& hv);
  size_t cached_bytes() const;
  int64_t cached_chunks() const;
  int64_t num_chunks() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace descent::nn
