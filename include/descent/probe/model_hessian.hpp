#pragma once
// The Hessian of a model's mean loss at a fixed θ, for instruments that apply it many times
// (Lanczos, SLQ, Hutch++). For MLPs (nn::DenseChainHessian::supports) and CNNs
// (nn::ConvChainHessian::supports) each product reuses the activations and back-propagated
// signals of the previous ones, kept up to a memory cap, so that a product costs only its
// v-dependent GEMMs and convolutions; other models go through the objective's own
// Hessian-vector product (hessian_operator).
#include <cstddef>
#include <optional>
#include <string>

#include "descent/nn/conv_chain_hessian.hpp"
#include "descent/nn/dense_chain_hessian.hpp"
#include "descent/nn/objective.hpp"
#include "descent/probe/linear_operator.hpp"

namespace descent::probe {

class ModelHessianOperator final : public LinearOperator {
 public:
  // θ is copied; the objective (its model and data) must outlive the operator.
  ModelHessianOperator(nn::ModelObjective& objective, const Tensor& theta, size_t cache_bytes = size_t(1) << 30,
                       int64_t chunk_size = 1024);
  int64_t dimension() const override { return fallback_.dimension(); }
  DType dtype() const override { return fallback_.dtype(); }
  void apply(const Tensor& v, Tensor& out) override;
  std::string name() const override { return "Hessian"; }
  // Bytes of v-independent state kept between products (0 for models on the generic path).
  size_t cached_bytes() const { return chain_ ? chain_->cached_bytes() : conv_ ? conv_->cached_bytes() : 0; }

 private:
  HessianOperator fallback_;
  std::optional<nn::DenseChainHessian> chain_;
  std::optional<nn::ConvChainHessian> conv_;
};

}  // namespace descent::probe
