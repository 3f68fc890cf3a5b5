#pragma once
// Private to nn: a model read as a chain of Linear layers, each followed by at most one
// activation, on flat inputs (an MLP). What the fused gradient (dense_chain_gradient.cpp) and the
// R-propagation Hessian (dense_chain_hessian.cpp) walk instead of the generic autodiff graph.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "descent/nn/layers.hpp"
#include "descent/nn/model.hpp"

namespace descent::nn::detail {

struct DenseBlock {
  const Linear* linear = nullptr;
  std::optional<Activation> activation;  // none: the block's output is z itself
  size_t weight = 0;                     // index of W_l in the model's parameter list
  int64_t bias = -1;                     // index of b_l, or -1
};

// The blocks of `model`, or empty when it is anything else.
std::vector<DenseBlock> dense_chain(const Model& model);

}  // namespace descent::nn::detail
