#pragma once
// Model: a sequence of layers and the one contiguous parameter buffer θ ∈ R^P they share.
//
// The layout of θ is the concatenation of every layer's parameters in declaration order
// (row-major within each); `parameter_views` cuts any flat [P] buffer — θ itself, a
// gradient, a direction v for a Hessian-vector product — into per-parameter views of
// that layout, so nothing is ever copied to go from "model parameters" to "a vector".
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "descent/core/parameter_layout.hpp"
#include "descent/nn/layer.hpp"
#include "descent/nn/layers.hpp"

namespace descent::nn {

struct ParameterInfo {
  std::string name;  // "2.weight": layer index and local name
  int layer = 0;
  int64_t offset = 0;  // into θ
  Shape shape;
  int64_t numel() const { return shape.numel(); }
};

class Model {
 public:
  // input_shape excludes the batch axis ([784] for flat images, [1, 28, 28] for a CNN).
  Model(Shape input_shape, std::vector<LayerPtr> layers, DType dtype = DType::f32);
  Model(Model&&) = default;
  Model& operator=(Model&&) = default;

  int64_t num_parameters() const { return num_parameters_; }
  DType dtype() const { return dtype_; }
  const Shape& input_shape() const { return input_shape_; }
  const Shape& output_shape() const { return output_shape_; }
  const std::vector<ParameterInfo>& parameters_info() const { return info_; }
  // The same blocks as a core ParameterLayout (one group per layer with parameters, named by
  // the layer's index): what model-agnostic code (probes, K-FAC, masks) reads.
  const ParameterLayout& layout() const { return layout_; }
  const std::vector<LayerPtr>& layers() const { return layers_; }
  std::string describe() const;

  // θ, [P]. Mutable: optimizers update it in place.
  Tensor& parameters() { return theta_; }
  const Tensor& parameters() const { return theta_; }
  // Draws every parameter from its initialization, from `seed` alone.
  void initialize(uint64_t seed);

  // Per-parameter views of a flat [P] buffer of this model's dtype, in layout order.
  std::vector<Tensor> parameter_views(const Tensor& flat) const;

  // The forward pass for a batch x [B, input_shape...] with the given parameter Vars
  // (one per ParameterInfo, e.g. leaves over parameter_views(θ)).
  // With `layer_outputs`, also records every layer's output Var in it (one per layer, in
  // order): the pre-activations of Linear layers, for per-example gradients by outer products.
  Var forward(const Var& x, std::span<const Var> params, ForwardContext& ctx,
              std::vector<Var>* layer_outputs = nullptr);
  // Evaluation-mode outputs for inputs x at the current θ, without recording a graph.
  Tensor predict(const Tensor& x);

  // Non-trained state (BatchNorm running statistics): "layer.name" → tensor.
  std::vector<std::pair<std::string, Tensor*>> buffers();

 private:
  Shape input_shape_, output_shape_;
  std::vector<LayerPtr> layers_;
  DType dtype_;
  std::vector<ParameterSpec> specs_;
  std::vector<ParameterInfo> info_;
  ParameterLayout layout_;
  std::vector<size_t> first_param_of_layer_;  // index into info_, size layers + 1
  int64_t num_parameters_ = 0;
  Tensor theta_;
};

// ---- builders for the models the seeds and the CLI use ----
struct MlpOptions {
  std::vector<int64_t> hidden = {256, 256};
  Activation activation = Activation::relu;
  Parameterization parameterization = Parameterization::standard;
  double weight_std = 0.0;  // 0 = the parameterization's default
  double bias_std = 0.0;
  bool bias = true;
  double dropout = 0.0;
};
// input_dim → hidden... → outputs.
Model mlp(int64_t input_dim, int64_t outputs, const MlpOptions& options = {}, DType dtype = DType::f32);

// A small CNN for 28×28 images: conv(c1,5,pad 2)-relu-maxpool2-conv(c2,5,pad 2)-relu-
// maxpool2-flatten-linear(hidden)-relu-linear(outputs).
struct CnnOptions {
  int64_t channels1 = 32, channels2 = 64, hidden = 256;
  bool batch_norm = false;
  double dropout = 0.0;
};
Model small_cnn(const Shape& image_shape, int64_t outputs, const CnnOptions& options = {},
                DType dtype = DType::f32);

}  // namespace descent::nn
