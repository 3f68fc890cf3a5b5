#include "descent/probe/model_hessian.hpp"

namespace descent::probe {

ModelHessianOperator::ModelHessianOperator(nn::ModelObjective& objective, const Tensor& theta, size_t cache_bytes,
                                           int64_t chunk_size)
    : fallback_(objective, theta) {
  if (nn::DenseChainHessian::supports(objective.model()))
    chain_.emplace(objective.model(), objective.loss(), objective.inputs(), objective.targets(), theta, chunk_size,
                   cache_bytes);
  else if (nn::ConvChainHessian::supports(objective.model()))
    conv_.emplace(objective.model(), objective.loss(), objective.inputs(), objective.targets(), theta, chunk_size,
                  cache_bytes);
}

void ModelHessianOperator::apply(const Tensor& v, Tensor& out) {
  if (chain_) return chain_->apply(v, out);
  if (conv_) return conv_->apply(v, out);
  fallback_.apply(v, out);
}

}  // namespace descent::probe
