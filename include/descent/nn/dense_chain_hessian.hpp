#pragma once
// Exact Hessian-vector products of the mean loss of a chain of Linear layers, each followed by
// at most one activation (an MLP), by R-propagation (Pearlmutter 1994): a dozen large GEMMs per
// chunk of examples instead of a forward-over-reverse autodiff graph. θ is fixed per object, so
// everything that does not depend on v (activations, σ', the back-propagated signals δ) can be
// kept between products, up to a memory cap: what a Krylov eigensolver, which applies the same
// Hessian tens of times, wants. ModelObjective::hessian_vector_product uses it without a cache.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "descent/core/tensor.hpp"
#include "descent/nn/losses.hpp"
#include "descent/nn/model.hpp"

namespace descent::nn {

class DenseChainHessian {
 public:
  // Whether `model` is such a chain on flat inputs (Linear, optional activation, Linear, ...).
  static bool supports(const Model& model);
  // The Hessian at θ (copied) of (1/n) Σ_i ℓ(model(x_i), y_i) over inputs [n, d] and targets,
  // streamed in chunks of `chunk_size` rows. The v-independent state of the first chunks is
  // cached up to `cache_bytes` (0: recomputed on every product). `model`, `inputs` and
  // `targets` must outlive the object.
  DenseChainHessian(const Model& model, Loss loss, const Tensor& inputs, const Tensor& targets, const Tensor& theta,
                    int64_t chunk_size = 1024, size_t cache_bytes = 0);
  ~DenseChainHessian();
  DenseChainHessian(DenseChainHessian&&) noexcept;
  DenseChainHessian& operator=(DenseChainHessian&&) noexcept;

  int64_t dimension() const;
  // hv = H(θ) v; v and hv are [P] of the model's dtype.
  void apply(const Tensor& v, Tensor& hv);
  // Bytes held by the cache, and how many of the chunks it holds.
  size_t cached_bytes() const;
  int64_t cached_chunks() const;
  int64_t num_chunks() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace descent::nn
