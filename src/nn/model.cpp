#include "descent/nn/model.hpp"

#include <fmt/format.h>

#include "descent/core/error.hpp"

namespace descent::nn {

Model::Model(Shape input_shape, std::vector<LayerPtr> layers, DType dtype)
    : input_shape_(input_shape), layers_(std::move(layers)), dtype_(dtype) {
  DESCENT_CHECK(is_floating(dtype), InputError, "Model: parameters must be float32 or float64, got {}",
                dtype_name(dtype));
  DESCENT_CHECK(!layers_.empty(), InputError, "Model: needs at least one layer");
  Shape s = input_shape_;
  first_param_of_layer_.push_back(0);
  for (size_t l = 0; l < layers_.size(); ++l) {
    layers_[l]->dtype = dtype_;
    const size_t before = specs_.size();
    s = layers_[l]->build(s, specs_);
    for (size_t i = before; i < specs_.size(); ++i) {
      info_.push_back({fmt::format("{}.{}", l, specs_[i].name), static_cast<int>(l), num_parameters_, specs_[i].shape});
      num_parameters_ += specs_[i].shape.numel();
    }
    first_param_of_layer_.push_back(specs_.size());
  }
  output_shape_ = s;
  std::vector<LayoutBlock> blocks;
  std::vector<LayoutGroup> groups;
  for (size_t l = 0; l < layers_.size(); ++l)
    groups.push_back({fmt::format("{}", l), layers_[l]->describe(), 0, 0});
  for (const ParameterInfo& p : info_) blocks.push_back({p.name, p.offset, p.shape, p.layer});
  layout_ = ParameterLayout(std::move(blocks), std::move(groups));
  theta_ = Tensor::zeros({num_parameters_}, dtype_);
}

std::string Model::describe() const {
  std::string s = fmt::format("input {} →", input_shape_.str());
  for (const auto& l : layers_) s += " " + l->describe() + " →";
  return s + fmt::format(" output {}; {} parameters", output_shape_.str(), num_parameters_);
}

void Model::initialize(uint64_t seed) {
  // Stream i of the seed draws parameter i, so adding a layer does not change the others.
  std::vector<Tensor> views = parameter_views(theta_);
  for (size_t i = 0; i < specs_.size(); ++i) {
    Rng rng(seed, i);
    specs_[i].init.apply(views[i], specs_[i].fan_in, specs_[i].fan_out, rng);
  }
  for (auto& [name, t] : buffers()) {
    if (name.ends_with("running_var")) t->fill(1.0);
    else t->fill(0.0);
  }
}

std::vector<Tensor> Model::parameter_views(const Tensor& flat) const {
  DESCENT_CHECK(flat.numel() == num_parameters_ && flat.dtype() == dtype_, ShapeError,
                "Model: a flat parameter buffer must be {} [{}], got {} {}", dtype_name(dtype_), num_parameters_,
                dtype_name(flat.dtype()), flat.shape());
  std::vector<Tensor> views;
  views.reserve(info_.size());
  for (const auto& p : info_) views.push_back(flat.view(p.offset, p.shape));
  return views;
}

Var Model::forward(const Var& x, std::span<const Var> params, ForwardContext& ctx, std::vector<Var>* layer_outputs) {
  DESCENT_CHECK(params.size() == info_.size(), ShapeError, "Model: forward needs {} parameter variables, got {}",
                info_.size(), params.size());
  DESCENT_CHECK(x.rank() == input_shape_.rank() + 1, ShapeError,
                "Model: input of shape {} does not match [batch, {}] (per-example shape {})", x.shape(),
                input_shape_.str(), input_shape_.str());
  for (int i = 0; i < input_shape_.rank(); ++i)
    DESCENT_CHECK(x.shape()[i + 1] == input_shape_[i], ShapeError,
                  "Model: input of shape {} does not match the per-example shape {}", x.shape(), input_shape_);
  Var h = x;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const size_t first = first_param_of_layer_[l], count = first_param_of_layer_[l + 1] - first;
    h = layers_[l]->forward(h, params.subspan(first, count), ctx);
    if (layer_outputs) layer_outputs->push_back(h);
  }
  return h;
}

Tensor Model::predict(const Tensor& x) {
  NoGradGuard no_grad;
  std::vector<Var> params;
  for (Tensor& t : parameter_views(theta_)) params.emplace_back(t);
  ForwardContext ctx;
  return forward(Var(x), params, ctx).value();
}

std::vector<std::pair<std::string, Tensor*>> Model::buffers() {
  std::vector<std::pair<std::string, Tensor*>> all;
  for (size_t l = 0; l < layers_.size(); ++l)
    for (auto& [name, t] : layers_[l]->buffers()) all.emplace_back(fmt::format("{}.{}", l, name), t);
  return all;
}

Model mlp(int64_t input_dim, int64_t outputs, const MlpOptions& o, DType dtype) {
  std::vector<LayerPtr> layers;
  for (int64_t width : o.hidden) {
    layers.push_back(std::make_unique<Linear>(
        width, Linear::Options{o.bias, o.parameterization, LayerRole::hidden, o.weight_std, o.bias_std}));
    layers.push_back(std::make_unique<ActivationLayer>(o.activation));
    if (o.dropout > 0) layers.push_back(std::make_unique<Dropout>(o.dropout));
  }
  layers.push_back(std::make_unique<Linear>(
      outputs, Linear::Options{o.bias, o.parameterization, LayerRole::output, o.weight_std, o.bias_std}));
  return Model(Shape{input_dim}, std::move(layers), dtype);
}

Model small_cnn(const Shape& image_shape, int64_t outputs, const CnnOptions& o, DType dtype) {
  std::vector<LayerPtr> layers;
  auto conv_block = [&](int64_t channels) {
    layers.push_back(std::make_unique<Conv2d>(channels, 5, Conv2d::Options{.stride = 1, .padding = 2}));
    if (o.batch_norm) layers.push_back(std::make_unique<BatchNorm>());
    layers.push_back(std::make_unique<ActivationLayer>(Activation::relu));
    layers.push_back(std::make_unique<Pool2d>(Pool2d::Kind::max, 2));
  };
  conv_block(o.channels1);
  conv_block(o.channels2);
  layers.push_back(std::make_unique<Flatten>());
  layers.push_back(std::make_unique<Linear>(o.hidden));
  layers.push_back(std::make_unique<ActivationLayer>(Activation::relu));
  if (o.dropout > 0) layers.push_back(std::make_unique<Dropout>(o.dropout));
  layers.push_back(std::make_unique<Linear>(outputs, Linear::Options{.role = LayerRole::output}));
  return Model(image_shape, std::move(layers), dtype);
}

}  // namespace descent::nn
