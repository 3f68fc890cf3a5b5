#pragma once
// The layer catalogue: dense and convolutional layers, pooling, activations, dropout,
// normalization and residual blocks. Each is a few autodiff operations (layer.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include "descent/core/conv.hpp"
#include "descent/nn/layer.hpp"

namespace descent::nn {

enum class Activation { identity, relu, tanh, sigmoid, gelu, softplus, erf };
Activation parse_activation(const std::string& name);  // throws InputError naming the choices
const char* activation_name(Activation a);
Var apply_activation(Activation a, const Var& x);

// Which layer of a network a dense/conv layer is: the mean-field parameterization scales
// only the output layer differently (layer.hpp).
enum class LayerRole { hidden, output };

// y = s_w · x Wᵀ + s_b · b for x [B, in]. W [out, in], b [out]. The scales s_w, s_b are 1
// in the standard parameterization; NTK: s_w = σ_w/√in, s_b = σ_b; mean-field output layer:
// s_w = σ_w/in (Arora §9.4; Suzuki, mean-field vs NTK scaling).
class Linear final : public Layer {
 public:
  struct Options {
    bool bias = true;
    Parameterization parameterization = Parameterization::standard;
    LayerRole role = LayerRole::hidden;
    double weight_std = 0.0;  // σ_w; 0 = He (√2) for standard hidden layers, 1 for output/ntk
    double bias_std = 0.0;    // σ_b for the bias init (standard) or its scale (ntk)
  };
  explicit Linear(int64_t out_features) : Linear(out_features, Options{}) {}
  Linear(int64_t out_features, Options options);
  std::string describe() const override;
  Shape build(const Shape& input, std::vector<ParameterSpec>& params) override;
  Var forward(const Var& x, std::span<const Var> params, ForwardContext& ctx) override;
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  // The forward scales s_w, s_b of the formula above (valid after build), and whether b
  // exists: what a Jacobian with respect to W and b is multiplied by (probe/empirical_ntk).
  double weight_scale() const { return weight_scale_; }
  double bias_scale() const { return bias_scale_; }
  bool has_bias() const { return options_.bias; }

 private:
  int64_t in_ = 0, out_;
  Options options_;
  double weight_scale_ = 1.0, bias_scale_ = 1.0;
};

// 2-D convolution (autodiff's conv2d: oneDNN for float32). x [B, C, H, W] → [B, out, OH, OW];
// the weights are [out, C/groups · k · k] (PyTorch's [out, C/groups, k, k], flattened).
class Conv2d final : public Layer {
 public:
  struct Options {
    int64_t stride = 1, padding = 0;
    int64_t dilation = 1, groups = 1;
    bool bias = true;
    Parameterization parameterization = Parameterization::standard;
    double weight_std = 0.0;  // 0 = He
  };
  Conv2d(int64_t out_channels, int64_t kernel_size) : Conv2d(out_channels, kernel_size, Options{}) {}
  Conv2d(int64_t out_channels, int64_t kernel_size, Options options);
  std::string describe() const override;
  Shape build(const Shape& input, std::vector<ParameterSpec>& params) override;
  Var forward(const Var& x, std::span<const Var> params, ForwardContext& ctx) override;
  // The convolution's geometry, its weight scale s_w (y = conv(x, s_w W) + b) and whether b
  // exists (valid after build): what R-propagation through the layer needs (nn/conv_chain_hessian).
  ConvSpec spec() const;
  int64_t in_channels() const { return in_; }
  int64_t out_channels() const { return out_; }
  int64_t kernel_size() const { return kernel_; }
  double weight_scale() const { return weight_scale_; }
  bool has_bias() const { return options_.bias; }

 private:
  int64_t in_ = 0, out_, kernel_;
  Options options_;
  int64_t height_ = 0, width_ = 0, out_height_ = 0, out_width_ = 0;
  double weight_scale_ = 1.0;
};

// Max or average pooling over k×k windows with stride k (non-overlapping) on [B, C, H, W].
class Pool2d final : public Layer {
 public:
  enum class Kind { max, average };
  Pool2d(Kind kind, int64_t kernel_size) : kind_(kind), kernel_(kernel_size) {}
  Kind kind() const { return kind_; }
  int64_t kernel_size() const { return kernel_; }
  std::string describe() const override;
  Shape build(const Shape& input, std::vector<ParameterSpec>& params) override;
  Var forward(const Var& x, std::span<const Var> params, ForwardContext& ctx) override;

 private:
  Kind kind_;
  int64_t kernel_;
  Shape input_;
};

// [B, d1, d2, ...] → [B, d1·d2·...].
class Flatten final : public Layer {
 public:
  std::string describe() const override { return "Flatten"; }
  Shape build(const Shape& input, std::vector<ParameterSpec>& params) override;
  Var forward(const Var& x, std::span<const Var> params, ForwardContext& ctx) override;
};

class ActivationLayer final : public Layer {
 public:
  explicit ActivationLayer(Activation a) : activation_(a) {}
  std::string describe() const override { return activation_name(activation_); }
  Shape build(const Shape& input, std::vector<ParameterSpec>& params) override { return input; }
  Var forward(const Var& x, std::span<const Var> params, ForwardContext& ctx) override {
    return apply_activation(activation_, x);
  }

 private:
  Activation activation_;
};

// Inverted dropout: in training, zero each unit with probability p and scale the rest by
// 1/(1−p); the identity in evaluation.
class Dropout final : public Layer {
 public:
  explicit Dropout(double p);
  std::string describe() const override;
  Shape build(const Shape& input, std::vector<ParameterSpec>& params) override { return input; }
  Var forward(const Var& x, std::span<const Var> params, ForwardContext& ctx) override;

 private:
  double p_;
};

// Normalizes over the last axis, then y = γ x̂ + β (Ba et al. 2016).
class LayerNorm final : public Layer {
 public:
  explicit LayerNorm(double eps = 1e-5, bool affine = true) : eps_(eps), affine_(affine) {}
  std::string describe() const override { return "LayerNorm"; }
  Shape build(const Shape& input, std::vector<ParameterSpec>& params) override;
  Var forward(const Var& x, std::span<const Var> params, ForwardContext& ctx) override;

 private:
  double eps_;
  bool affine_;
};

// Batch normalization over the batch (and spatial) axes of [B, F] or [B, C, H, W]
// (Ioffe & Szegedy 2015). Training: batch statistics, and running statistics updated as
// r ← (1−m) r + m·batch (unbiased variance, as PyTorch); evaluation: running statistics.
class BatchNorm final : public Layer {
 public:
  explicit BatchNorm(double momentum = 0.1, double eps = 1e-5) : momentum_(momentum), eps_(eps) {}
  std::string describe() const override { return "BatchNorm"; }
  Shape build(const Shape& input, std::vector<ParameterSpec>& params) override;
  Var forward(const Var& x, std::span<const Var> params, ForwardContext& ctx) override;
  std::vector<std::pair<std::string, Tensor*>> buffers() override {
    return {{"running_mean", &running_mean_}, {"running_var", &running_var_}};
  }

 private:
  double momentum_, eps_;
  Shape input_;
  Tensor running_mean_, running_var_;
};

// y = x + block(x): the block's output shape must equal its input's.
class Residual final : public Layer {
 public:
  explicit Residual(std::vector<LayerPtr> block) : block_(std::move(block)) {}
  std::string describe() const override;
  Shape build(const Shape& input, std::vector<ParameterSpec>& params) override;
  Var forward(const Var& x, std::span<const Var> params, ForwardContext& ctx) override;
  std::vector<std::pair<std::string, Tensor*>> buffers() override;

 private:
  std::vector<LayerPtr> block_;
  std::vector<size_t> param_counts_;  // parameters declared by each block layer
};

}  // namespace descent::nn
