#include "dense_chain.hpp"

namespace descent::nn::detail {

std::vector<DenseBlock> dense_chain(const Model& model) {
  if (model.input_shape().rank() != 1) return {};
  std::vector<DenseBlock> blocks;
  const auto& info = model.parameters_info();
  for (size_t l = 0; l < model.layers().size(); ++l) {
    const Layer* layer = model.layers()[l].get();
    if (const auto* linear = dynamic_cast<const Linear*>(layer)) {
      DenseBlock b;
      b.linear = linear;
      size_t p = 0;
      while (p < info.size() && info[p].layer != int(l)) ++p;
      if (p == info.size()) return {};
      b.weight = p;
      if (linear->has_bias()) b.bias = int64_t(p + 1);
      blocks.push_back(b);
    } else if (const auto* act = dynamic_cast<const ActivationLayer*>(layer)) {
      if (blocks.empty() || blocks.back().activation) return {};
      // ActivationLayer::describe() is the activation's name (layers.hpp).
      const Activation a = parse_activation(act->describe());
      if (a != Activation::identity) blocks.back().activation = a;
    } else {
      return {};
    }
  }
  return blocks;
}

}  // namespace descent::nn::detail
