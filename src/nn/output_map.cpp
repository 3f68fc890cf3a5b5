#include "descent/nn/output_map.hpp"

#include <cstring>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/nn/layers.hpp"

namespace descent::nn {
namespace {

// θ cut into one Var per parameter tensor (of θ's dtype, which may differ from the model's).
std::vector<Var> parameter_vars(const Model& model, const Tensor& theta, bool requires_grad) {
  std::vector<Var> vars;
  for (const Tensor& t : model.layout().views(theta)) vars.emplace_back(t, requires_grad);
  return vars;
}

// z as the model shapes it ([b, output_shape...]) from [b, C], and back.
Tensor model_shaped(const Model& model, const Tensor& z) {
  std::vector<int64_t> dims{z.dim(0)};
  for (int i = 0; i < model.output_shape().rank(); ++i) dims.push_back(model.output_shape()[i]);
  return z.reshape(Shape(dims));
}
Tensor flat_rows(const Tensor& z) { return z.reshape({z.dim(0), z.numel() / z.dim(0)}); }

// The flat [P] concatenation of per-parameter tensors.
Tensor concatenate(const std::vector<Tensor>& parts, int64_t p, DType dtype) {
  Tensor out = Tensor::empty({p}, dtype);
  const size_t elem = dtype_size(dtype);
  char* dst = static_cast<char*>(out.raw());
  int64_t at = 0;
  for (const Tensor& part : parts) {
    const Tensor t = contiguous_copy(part);
    std::memcpy(dst + size_t(at) * elem, t.raw(), size_t(t.numel()) * elem);
    at += t.numel();
  }
  DESCENT_CHECK(at == p, ShapeError, "output map: the parameter gradients hold {} values, θ {}", at, p);
  return out;
}

}  // namespace

std::vector<DenseLayer> dense_layers(const Model& model, std::vector<size_t>* model_layers) {
  std::vector<DenseLayer> dense;
  const auto& info = model.parameters_info();
  for (size_t l = 0; l < model.layers().size(); ++l) {
    const auto* linear = dynamic_cast<const Linear*>(model.layers()[l].get());
    if (!linear) continue;
    size_t p = 0;
    while (p < info.size() && info[p].layer != static_cast<int>(l)) ++p;
    DenseLayer d;
    d.in = linear->in_features();
    d.out = linear->out_features();
    d.weight_offset = info[p].offset;
    d.weight_scale = linear->weight_scale();
    if (linear->has_bias()) {
      d.bias_offset = info[p + 1].offset;
      d.bias_scale = linear->bias_scale();
    }
    dense.push_back(d);
    if (model_layers) model_layers->push_back(l);
  }
  return dense;
}

ModelOutputMap::ModelOutputMap(Model& model, std::optional<Loss> loss)
    : model_(model), loss_(loss), dense_(nn::dense_layers(model, &dense_model_layer_)) {}

std::shared_ptr<ModelOutputMap> output_map(Model& model, std::optional<Loss> loss) {
  return std::make_shared<ModelOutputMap>(model, loss);
}

void ModelOutputMap::check(const Tensor& theta, const Tensor& x) const {
  DESCENT_CHECK(theta.numel() == model_.num_parameters() && is_floating(theta.dtype()), ShapeError,
                "{}: θ must be a float [{}], got {} {}", model_.describe(), model_.num_parameters(),
                dtype_name(theta.dtype()), theta.shape());
  DESCENT_CHECK(x.dtype() == theta.dtype(), ShapeError, "output map: inputs are {} but θ is {}",
                dtype_name(x.dtype()), dtype_name(theta.dtype()));
}

Tensor ModelOutputMap::outputs(const Tensor& theta, const Tensor& x) {
  check(theta, x);
  NoGradGuard no_grad;
  const std::vector<Var> params = parameter_vars(model_, theta, false);
  ForwardContext ctx{false, nullptr};
  return flat_rows(model_.forward(Var(x), params, ctx).value());
}

std::pair<Tensor, Tensor> ModelOutputMap::jvp(const Tensor& theta, const Tensor& x, const Tensor& v) {
  check(theta, x);
  const Function f = [&](const VarList& params) {
    ForwardContext ctx{false, nullptr};
    return model_.forward(Var(x), params, ctx);
  };
  auto [z, jv] = descent::jvp(f, layout().views(theta), layout().views(v));
  return {flat_rows(z), flat_rows(jv)};
}

Tensor ModelOutputMap::vjp(const Tensor& theta, const Tensor& x, const Tensor& u) {
  check(theta, x);
  const Function f = [&](const VarList& params) {
    ForwardContext ctx{false, nullptr};
    return model_.forward(Var(x), params, ctx);
  };
  const auto [z, parts] = descent::vjp(f, layout().views(theta), model_shaped(model_, u));
  return concatenate(parts, model_.num_parameters(), theta.dtype());
}

Tensor ModelOutputMap::jacobian(const Tensor& theta, const Tensor& x) {
  // One forward pass per example and one backward pass per output.
  check(theta, x);
  const int64_t b = x.dim(0), C = num_outputs(), P = model_.num_parameters();
  Tensor J = Tensor::zeros({b, C, P}, theta.dtype());
  const size_t elem = dtype_size(theta.dtype());
  char* dst = static_cast<char*>(J.raw());
  const std::vector<Var> params = parameter_vars(model_, theta, true);
  ForwardContext ctx;
  for (int64_t i = 0; i < b; ++i) {
    const Var f = model_.forward(Var(x.rows(i, i + 1)), params, ctx);
    for (int64_t c = 0; c < C; ++c) {
      Tensor e = Tensor::zeros(f.shape(), f.dtype());
      e.set(c, 1.0);
      const VarList g = descent::vjp(f, params, Var(e));
      int64_t col = 0;
      for (const Var& gi : g) {
        const Tensor t = contiguous_copy(gi.value());
        std::memcpy(dst + ((i * C + c) * P + col) * elem, t.raw(), size_t(t.numel()) * elem);
        col += t.numel();
      }
    }
  }
  return J;
}

Loss ModelOutputMap::require_loss() const {
  DESCENT_CHECK(loss_.has_value(), InputError, "output map of {}: no loss was given", model_.describe());
  return *loss_;
}

std::string ModelOutputMap::loss_name() const { return loss_ ? nn::loss_name(*loss_) : "(none)"; }

Tensor ModelOutputMap::loss_values(const Tensor& z, const Tensor& y) {
  const Loss loss = require_loss();
  NoGradGuard no_grad;
  return per_example_loss(loss, Var(model_shaped(model_, z)), y).value();
}

Tensor ModelOutputMap::loss_gradient(const Tensor& z, const Tensor& y) {
  const Loss loss = require_loss();
  const Function total = [&](const VarList& zs) { return sum(per_example_loss(loss, zs[0], y)); };
  return flat_rows(descent::grad(total, {model_shaped(model_, z)})[0]);
}

Tensor ModelOutputMap::loss_hessian_product(const Tensor& z, const Tensor& y, const Tensor& u) {
  // H = ∂²/∂z² Σ_i ℓ(z_i, y_i) is block diagonal over examples, so one HVP in output space
  // applies every H_i; the loss's own autodiff rules give it (softmax-CE: p ⊙ w − p (pᵀw) per
  // row), one definition of each loss for every curvature matrix.
  const Loss loss = require_loss();
  const Function total = [&](const VarList& zs) { return sum(per_example_loss(loss, zs[0], y)); };
  return flat_rows(hessian_vector_product(total, {model_shaped(model_, z)}, {model_shaped(model_, u)})[0]);
}

bool ModelOutputMap::loss_is_natural_likelihood() const {
  // Martens 2020 §9.2: softmax-CE (categorical), ½‖z − y‖² (Gaussian, unit variance) and the
  // logistic loss (Bernoulli) are negative log-likelihoods in natural parameters.
  const Loss loss = require_loss();
  return loss == Loss::softmax_cross_entropy || loss == Loss::mean_squared_error || loss == Loss::binary_logistic;
}

bool ModelOutputMap::can_sample_targets() const {
  return loss_ == Loss::softmax_cross_entropy || loss_ == Loss::mean_squared_error;
}

Tensor ModelOutputMap::sample_targets(const Tensor& z, const Tensor& like, Rng& rng) {
  // Targets drawn from the model's predictive distribution p(y | x, θ), for the true Fisher:
  // a class from softmax(logits), or f + N(0, I) for the Gaussian likelihood of ½‖f − y‖².
  DESCENT_CHECK(can_sample_targets(), InputError,
                "the {} loss has no predictive distribution to sample from (softmax_cross_entropy and "
                "mean_squared_error have)",
                loss_name());
  if (loss_ == Loss::softmax_cross_entropy) {
    const Tensor p = softmax(z.astype(DType::f64), 1);
    const int64_t b = p.dim(0), k = p.dim(1);
    Tensor labels = Tensor::empty({b}, DType::i64);
    for (int64_t i = 0; i < b; ++i) {
      const double u = rng.uniform();
      double c = 0.0;
      int64_t label = k - 1;
      for (int64_t j = 0; j < k; ++j) {
        c += p.data<double>()[i * k + j];
        if (u < c) {
          label = j;
          break;
        }
      }
      labels.data<int64_t>()[i] = label;
    }
    return labels;
  }
  Tensor noisy = z.clone().reshape(like.shape());
  Tensor noise = rng.normal_tensor(noisy.shape(), noisy.dtype());
  axpy(noisy, 1.0, noise);
  return noisy;
}

DenseActivity ModelOutputMap::dense_activity(const Tensor& theta, const Tensor& x,
                                             const std::function<std::vector<Tensor>(const Tensor& z)>& cotangents) {
  check(theta, x);
  DESCENT_CHECK(!dense_.empty(), InputError, "{}: the model has no Linear layer", model_.describe());
  const std::vector<Var> params = parameter_vars(model_, theta, false);
  const auto& info = model_.parameters_info();
  ForwardContext ctx;  // evaluation mode
  DenseActivity out;
  VarList ys;  // each dense layer's output, in the graph from the first one on
  Var h(x);
  size_t first = 0, next_dense = 0;
  for (size_t l = 0; l < model_.layers().size(); ++l) {
    size_t count = 0;
    while (first + count < info.size() && info[first + count].layer == static_cast<int>(l)) ++count;
    const std::span<const Var> layer_params(params.data() + first, count);
    first += count;
    const bool dense = next_dense < dense_model_layer_.size() && dense_model_layer_[next_dense] == l;
    // a_ℓ·a_ℓ' and ā āᵀ sums need one row per example: a Linear layer on [b, T, in] (tokens)
    // would need sums over T that the callers do not form.
    DESCENT_CHECK(!dense || h.rank() == 2, InputError,
                  "dense_activity: Linear layer {} gets a {} input; only [batch, features] is supported", l,
                  h.shape());
    if (dense) out.inputs.push_back(h.value());
    h = model_.layers()[l]->forward(h, layer_params, ctx);
    if (!dense) continue;
    // The first y is a leaf: nothing before it is differentiated (no ∂f/∂x is computed).
    if (ys.empty()) h = Var(h.value(), true);
    ys.push_back(h);
    ++next_dense;
  }
  const Var f = h;
  out.outputs = flat_rows(f.value());
  for (const Tensor& c : cotangents(out.outputs)) {
    DESCENT_CHECK(c.numel() == f.numel(), ShapeError, "dense_activity: a cotangent is {}, the outputs {}", c.shape(),
                  f.shape());
    const VarList deltas = descent::vjp(f, ys, Var(c.reshape(f.shape())));
    std::vector<Tensor> signals;
    for (const Var& d : deltas) signals.push_back(d.value());
    out.signals.push_back(std::move(signals));
  }
  return out;
}

}  // namespace descent::nn
