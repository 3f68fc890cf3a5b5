#include "descent/nn/layers.hpp"

#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "descent/core/error.hpp"
#include "descent/autodiff/autodiff.hpp"
#include "descent/core/ops.hpp"

namespace descent::nn {

// ---- activations ----

Activation parse_activation(const std::string& name) {
  for (Activation a : {Activation::identity, Activation::relu, Activation::tanh, Activation::sigmoid,
                       Activation::gelu, Activation::softplus, Activation::erf})
    if (name == activation_name(a)) return a;
  fail<InputError>("unknown activation '{}' (choose identity, relu, tanh, sigmoid, gelu, softplus, erf)", name);
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::identity: return "identity";
    case Activation::relu: return "relu";
    case Activation::tanh: return "tanh";
    case Activation::sigmoid: return "sigmoid";
    case Activation::gelu: return "gelu";
    case Activation::softplus: return "softplus";
    case Activation::erf: return "erf";
  }
  return "?";
}

Var apply_activation(Activation a, const Var& x) {
  switch (a) {
    case Activation::identity: return x;
    case Activation::relu: return relu(x);
    case Activation::tanh: return tanh(x);
    case Activation::sigmoid: return sigmoid(x);
    // GELU(x) = x Φ(x) = ½ x (1 + erf(x/√2)) (Hendrycks & Gimpel 2016, exact form).
    case Activation::gelu: return x * (erf(x * (1.0 / std::numbers::sqrt2)) + 1.0) * 0.5;
    case Activation::softplus: return softplus(x);
    case Activation::erf: return erf(x);
  }
  return x;
}

// ---- Linear ----

Linear::Linear(int64_t out_features, Options options) : out_(out_features), options_(options) {
  DESCENT_CHECK(out_features > 0, InputError, "Linear: out_features must be positive, got {}", out_features);
}

std::string Linear::describe() const {
  const char* p = options_.parameterization == Parameterization::standard ? ""
                  : options_.parameterization == Parameterization::ntk  ? ", ntk"
                                                                         : ", mean-field";
  return fmt::format("Linear({} -> {}{}{})", in_, out_, options_.bias ? "" : ", no bias", p);
}

Shape Linear::build(const Shape& input, std::vector<ParameterSpec>& params) {
  DESCENT_CHECK(input.rank() == 1, ShapeError,
                "Linear: expects a flat input [batch, features], got per-example shape {} (add a Flatten)", input);
  in_ = input[0];
  const double in = static_cast<double>(in_);
  const bool output = options_.role == LayerRole::output;
  const double sigma_w = options_.weight_std > 0 ? options_.weight_std : (output ? 1.0 : std::sqrt(2.0));
  bool bias = options_.bias;
  Init weight_init, bias_init = Init::zeros();
  switch (options_.parameterization) {
    case Parameterization::standard:
      weight_init = Init::normal(sigma_w / std::sqrt(in));
      if (options_.bias_std > 0) bias_init = Init::normal(options_.bias_std);
      break;
    case Parameterization::ntk:
    case Parameterization::mean_field: {
      // Arora §9.4 / Suzuki: W ~ N(0, 1) and the scale in the forward pass.
      weight_init = Init::normal(1.0);
      const bool mean_field_output = options_.parameterization == Parameterization::mean_field && output;
      weight_scale_ = mean_field_output ? sigma_w / in : sigma_w / std::sqrt(in);
      // A bias of scale σ_b (σ_b = 0: none, as in neural-tangents' Dense(b_std=0)).
      bias_scale_ = options_.bias_std;
      bias = bias && options_.bias_std > 0;
      bias_init = Init::normal(1.0);
      break;
    }
  }
  options_.bias = bias;
  params.push_back({"weight", Shape{out_, in_}, weight_init, in_, out_});
  if (bias) params.push_back({"bias", Shape{out_}, bias_init, in_, out_});
  return Shape{out_};
}

Var Linear::forward(const Var& x, std::span<const Var> params, ForwardContext&) {
  Var y = matmul(x, params[0], false, true);
  if (weight_scale_ != 1.0) y = y * weight_scale_;
  if (options_.bias) y = y + (bias_scale_ != 1.0 ? params[1] * bias_scale_ : params[1]);
  return y;
}

// ---- Conv2d ----

Conv2d::Conv2d(int64_t out_channels, int64_t kernel_size, Options options)
    : out_(out_channels), kernel_(kernel_size), options_(options) {
  DESCENT_CHECK(out_channels > 0 && kernel_size > 0 && options.stride > 0 && options.padding >= 0 &&
                    options.dilation > 0 && options.groups > 0,
                InputError,
                "Conv2d: out_channels {}, kernel {}, stride {}, dilation {} and groups {} must be positive and "
                "padding {} non-negative",
                out_channels, kernel_size, options.stride, options.dilation, options.groups, options.padding);
  DESCENT_CHECK(out_channels % options.groups == 0, InputError,
                "Conv2d: {} output channels do not split into {} groups", out_channels, options.groups);
}

std::string Conv2d::describe() const {
  std::string extra;
  if (options_.dilation != 1) extra += fmt::format(", dilation {}", options_.dilation);
  if (options_.groups != 1) extra += fmt::format(", groups {}", options_.groups);
  return fmt::format("Conv2d({} -> {}, {}x{}, stride {}, padding {}{})", in_, out_, kernel_, kernel_, options_.stride,
                     options_.padding, extra);
}

ConvSpec Conv2d::spec() const {
  const int64_t s = options_.stride, p = options_.padding, d = options_.dilation;
  return ConvSpec{.sh = s, .sw = s, .ph = p, .pw = p, .dh = d, .dw = d, .groups = options_.groups};
}

Shape Conv2d::build(const Shape& input, std::vector<ParameterSpec>& params) {
  DESCENT_CHECK(input.rank() == 3, ShapeError, "Conv2d: expects images [batch, channels, height, width], got {}",
                input);
  in_ = input[0];
  height_ = input[1];
  width_ = input[2];
  DESCENT_CHECK(in_ % options_.groups == 0, ShapeError, "Conv2d: {} input channels do not split into {} groups", in_,
                options_.groups);
  const ConvSpec s = spec();
  out_height_ = s.out_h(height_, kernel_);
  out_width_ = s.out_w(width_, kernel_);
  DESCENT_CHECK(out_height_ > 0 && out_width_ > 0, ShapeError,
                "Conv2d: a {}x{} kernel (dilation {}) does not fit a {}x{} image with padding {}", kernel_, kernel_,
                options_.dilation, height_, width_, options_.padding);
  const int64_t fan_in = in_ / options_.groups * kernel_ * kernel_;
  const double sigma_w = options_.weight_std > 0 ? options_.weight_std : std::sqrt(2.0);
  Init weight_init = Init::normal(sigma_w / std::sqrt(static_cast<double>(fan_in)));
  if (options_.parameterization != Parameterization::standard) {
    weight_init = Init::normal(1.0);
    weight_scale_ = sigma_w / std::sqrt(static_cast<double>(fan_in));
  }
  // [out, in/groups · k · k]: row-major, the same memory as PyTorch's [out, in/groups, k, k].
  params.push_back({"weight", Shape{out_, fan_in}, weight_init, fan_in, out_ / options_.groups * kernel_ * kernel_});
  if (options_.bias) params.push_back({"bias", Shape{out_}, Init::zeros(), fan_in, out_});
  return Shape{out_, out_height_, out_width_};
}

Var Conv2d::forward(const Var& x, std::span<const Var> params, ForwardContext&) {
  // s · conv(x, W) + b = conv(x, s·W) + b: the scale goes on the (small) weights.
  Var weight = reshape(params[0], Shape{out_, in_ / options_.groups, kernel_, kernel_});
  if (weight_scale_ != 1.0) weight = weight * weight_scale_;
  return conv2d(x, weight, options_.bias ? params[1] : Var(), spec());
}

// ---- pooling ----

std::string Pool2d::describe() const {
  return fmt::format("{}Pool2d({}x{})", kind_ == Kind::max ? "Max" : "Avg", kernel_, kernel_);
}

Shape Pool2d::build(const Shape& input, std::vector<ParameterSpec>&) {
  DESCENT_CHECK(input.rank() == 3, ShapeError, "Pool2d: expects [batch, channels, height, width], got {}", input);
  DESCENT_CHECK(kernel_ > 0 && input[1] >= kernel_ && input[2] >= kernel_, ShapeError,
                "Pool2d: a {}x{} window does not fit a {}x{} image", kernel_, kernel_, input[1], input[2]);
  input_ = input;
  // Windows of stride k; a last partial window is dropped (PyTorch's floor mode).
  return Shape{input[0], input[1] / kernel_, input[2] / kernel_};
}

Var Pool2d::forward(const Var& x, std::span<const Var>, ForwardContext&) {
  const Window2d window{kernel_, kernel_, kernel_, kernel_, 0, 0};
  return kind_ == Kind::max ? max_pool2d(x, window) : avg_pool2d(x, window);
}

// ---- Flatten ----

Shape Flatten::build(const Shape& input, std::vector<ParameterSpec>&) { return Shape{input.numel()}; }

Var Flatten::forward(const Var& x, std::span<const Var>, ForwardContext&) {
  return reshape(x, Shape{x.shape()[0], x.numel() / std::max<int64_t>(x.shape()[0], 1)});
}

// ---- Dropout ----

Dropout::Dropout(double p) : p_(p) {
  DESCENT_CHECK(p >= 0.0 && p < 1.0, InputError, "Dropout: p must be in [0, 1), got {}", p);
}

std::string Dropout::describe() const { return fmt::format("Dropout({})", p_); }

Var Dropout::forward(const Var& x, std::span<const Var>, ForwardContext& ctx) {
  if (!ctx.training || p_ == 0.0) return x;
  DESCENT_CHECK(ctx.rng != nullptr, InputError, "Dropout: training mode needs a random generator in the context");
  Tensor mask = ctx.rng->bernoulli_tensor(x.shape(), 1.0 - p_, x.dtype());
  scale_inplace(mask, 1.0 / (1.0 - p_));
  return x * Var(mask);
}

// ---- LayerNorm ----

Shape LayerNorm::build(const Shape& input, std::vector<ParameterSpec>& params) {
  DESCENT_CHECK(input.rank() >= 1, ShapeError, "LayerNorm: needs at least one feature axis");
  if (affine_) {
    const int64_t f = input[input.rank() - 1];
    params.push_back({"gain", Shape{f}, Init::ones(), f, f});
    params.push_back({"bias", Shape{f}, Init::zeros(), f, f});
  }
  return input;
}

Var LayerNorm::forward(const Var& x, std::span<const Var> params, ForwardContext&) {
  const int last = x.rank() - 1;
  Var centred = x - mean(x, {last}, true);
  Var variance = mean(square(centred), {last}, true);
  Var y = centred / sqrt(variance + eps_);
  if (affine_) y = y * params[0] + params[1];
  return y;
}

// ---- BatchNorm ----

Shape BatchNorm::build(const Shape& input, std::vector<ParameterSpec>& params) {
  DESCENT_CHECK(input.rank() == 1 || input.rank() == 3, ShapeError,
                "BatchNorm: expects [batch, features] or [batch, channels, height, width], got per-example {}",
                input);
  input_ = input;
  const int64_t c = input[0];
  params.push_back({"gain", Shape{c}, Init::ones(), c, c});
  params.push_back({"bias", Shape{c}, Init::zeros(), c, c});
  running_mean_ = Tensor::zeros({c}, dtype);
  running_var_ = Tensor::ones({c}, dtype);
  return input;
}

Var BatchNorm::forward(const Var& x, std::span<const Var> params, ForwardContext& ctx) {
  const bool images = input_.rank() == 3;
  const Axes axes = images ? Axes{0, 2, 3} : Axes{0};
  const int64_t c = input_[0];
  const Shape per_channel = images ? Shape{1, c, 1, 1} : Shape{1, c};
  Var gain = reshape(params[0], per_channel), bias = reshape(params[1], per_channel);
  if (!ctx.training) {
    Var mu(running_mean_.reshape(per_channel)), var(running_var_.reshape(per_channel));
    return (x - mu) / sqrt(var + eps_) * gain + bias;
  }
  Var mu = mean(x, axes, true);
  Var centred = x - mu;
  Var var = mean(square(centred), axes, true);
  {
    // Running statistics (no gradient): r ← (1 − m) r + m·batch, unbiased variance.
    NoGradGuard no_grad;
    const double n = static_cast<double>(x.numel() / c);
    const double unbias = n > 1 ? n / (n - 1) : 1.0;
    Tensor batch_mean = mu.value().reshape({c}), batch_var = var.value().reshape({c});
    scale_inplace(running_mean_, 1.0 - momentum_);
    axpy(running_mean_, momentum_, batch_mean);
    scale_inplace(running_var_, 1.0 - momentum_);
    axpy(running_var_, momentum_ * unbias, batch_var);
  }
  return centred / sqrt(var + eps_) * gain + bias;
}

// ---- Residual ----

std::string Residual::describe() const {
  std::string s = "Residual(";
  for (size_t i = 0; i < block_.size(); ++i) s += (i ? ", " : "") + block_[i]->describe();
  return s + ")";
}

Shape Residual::build(const Shape& input, std::vector<ParameterSpec>& params) {
  Shape s = input;
  param_counts_.clear();
  for (auto& layer : block_) {
    layer->dtype = dtype;
    const size_t before = params.size();
    s = layer->build(s, params);
    param_counts_.push_back(params.size() - before);
  }
  DESCENT_CHECK(s == input, ShapeError, "Residual: the block maps {} to {}; x + block(x) needs them equal", input, s);
  return s;
}

Var Residual::forward(const Var& x, std::span<const Var> params, ForwardContext& ctx) {
  Var h = x;
  size_t offset = 0;
  for (size_t i = 0; i < block_.size(); ++i) {
    h = block_[i]->forward(h, params.subspan(offset, param_counts_[i]), ctx);
    offset += param_counts_[i];
  }
  return x + h;
}

std::vector<std::pair<std::string, Tensor*>> Residual::buffers() {
  std::vector<std::pair<std::string, Tensor*>> all;
  for (size_t i = 0; i < block_.size(); ++i)
    for (auto& [name, t] : block_[i]->buffers()) all.emplace_back(fmt::format("{}.{}", i, name), t);
  return all;
}

}  // namespace descent::nn
