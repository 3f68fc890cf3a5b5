#include "descent/nn/objective.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/nn/conv_chain_hessian.hpp"
#include "descent/nn/dense_chain_hessian.hpp"

namespace descent::nn {

namespace {
// A buffer for `rows` rows shaped like x's, reallocated only when the batch size changes (or
// when the buffer is a view of x itself, left by a contiguous batch).
void ensure_rows(const Tensor& x, int64_t rows, Tensor& buffer) {
  Shape shape = x.shape();
  shape[0] = rows;
  if (!buffer.defined() || !(buffer.shape() == shape) || buffer.dtype() != x.dtype() || buffer.shares_storage(x))
    buffer = Tensor::empty(shape, x.dtype());
}

// True when the indices are first, first + 1, ..., first + b - 1 (sequential batches).
bool consecutive(std::span<const int64_t> indices) {
  for (size_t i = 1; i < indices.size(); ++i)
    if (indices[i] != indices[0] + int64_t(i)) return false;
  return true;
}
}  // namespace

ModelObjective::ModelObjective(Model& model, Loss loss, Tensor inputs, Tensor targets, int64_t chunk_size)
    : model_(model), loss_(loss), inputs_(std::move(inputs)), targets_(std::move(targets)), chunk_size_(chunk_size) {
  DESCENT_CHECK(inputs_.defined() && inputs_.rank() >= 1 && inputs_.dim(0) > 0, InputError,
                "ModelObjective: needs at least one example");
  DESCENT_CHECK(targets_.defined() && targets_.dim(0) == inputs_.dim(0), InputError,
                "ModelObjective: {} inputs but {} targets", inputs_.dim(0), targets_.defined() ? targets_.dim(0) : 0);
  DESCENT_CHECK(inputs_.dtype() == model_.dtype(), InputError,
                "ModelObjective: inputs are {} but the model's parameters are {}", dtype_name(inputs_.dtype()),
                dtype_name(model_.dtype()));
  DESCENT_CHECK(chunk_size_ > 0, InputError, "ModelObjective: chunk size must be positive, got {}", chunk_size_);
  if (inputs_.rank() == 2 && DenseChainHessian::supports(model_)) fused_.emplace(model_, loss_);
}

double ModelObjective::accumulate(const Tensor& theta, const Tensor& x, const Tensor& y, double weight,
                                  Tensor* gradient) {
  if (fused_ && gradient) return fused_->value_and_gradient(theta, x, y, weight, *gradient, true, &last_outputs_);
  const std::vector<Tensor> views = model_.parameter_views(theta);
  std::vector<Var> params;
  params.reserve(views.size());
  const bool want_grad = gradient != nullptr;
  for (const Tensor& t : views) params.emplace_back(t, want_grad);
  ForwardContext ctx{training_, rng_};
  std::optional<NoGradGuard> no_grad;
  if (!want_grad) no_grad.emplace();
  Var outputs = model_.forward(Var(x), params, ctx);
  last_outputs_ = outputs.value();
  Var total = sum(per_example_loss(loss_, outputs, y));
  const double value = total.item();
  if (want_grad) {
    const VarList grads = grad(total * weight, params);
    const std::vector<Tensor> out = model_.parameter_views(*gradient);
    for (size_t i = 0; i < grads.size(); ++i) {
      Tensor dst = out[i];
      axpy(dst, 1.0, grads[i].value());
    }
  }
  return value;
}

double ModelObjective::value(const Tensor& theta) {
  const int64_t n = num_examples();
  double total = 0.0;
  for (int64_t begin = 0; begin < n; begin += chunk_size_) {
    const int64_t end = std::min(n, begin + chunk_size_);
    total += accumulate(theta, inputs_.rows(begin, end), targets_.rows(begin, end), 1.0, nullptr);
  }
  return total / static_cast<double>(n);
}

double ModelObjective::value_and_gradient(const Tensor& theta, Tensor& gradient) {
  const int64_t n = num_examples();
  gradient.fill(0.0);
  double total = 0.0;
  for (int64_t begin = 0; begin < n; begin += chunk_size_) {
    const int64_t end = std::min(n, begin + chunk_size_);
    total += accumulate(theta, inputs_.rows(begin, end), targets_.rows(begin, end), 1.0 / static_cast<double>(n),
                        &gradient);
  }
  return total / static_cast<double>(n);
}

void ModelObjective::gather_batch(std::span<const int64_t> indices) {
  DESCENT_CHECK(!indices.empty(), InputError, "ModelObjective: a batch needs at least one example");
  const auto b = static_cast<int64_t>(indices.size());
  if (consecutive(indices) && indices[0] >= 0 && indices[0] + b <= inputs_.dim(0)) {
    // Rows of the data set as they are: views, no copy (a small network's step spends more
    // time copying a gathered batch than in some of its matrix products).
    batch_x_ = inputs_.rows(indices[0], indices[0] + b);
    batch_y_ = targets_.rows(indices[0], indices[0] + b);
    return;
  }
  ensure_rows(inputs_, b, batch_x_);
  ensure_rows(targets_, b, batch_y_);
  gather_rows(inputs_, indices, batch_x_);
  gather_rows(targets_, indices, batch_y_);
}

double ModelObjective::batch_value_and_gradient(const Tensor& theta, std::span<const int64_t> indices,
                                                Tensor& gradient) {
  gather_batch(indices);
  const double b = static_cast<double>(indices.size());
  if (fused_)  // writes the gradient (no zeroing pass)
    return fused_->value_and_gradient(theta, batch_x_, batch_y_, 1.0 / b, gradient, false, &last_outputs_) / b;
  gradient.fill(0.0);
  return accumulate(theta, batch_x_, batch_y_, 1.0 / b, &gradient) / b;
}

void ModelObjective::hessian_vector_product(const Tensor& theta, const Tensor& v, Tensor& hv) {
  if (DenseChainHessian::supports(model_)) {
    DenseChainHessian(model_, loss_, inputs_, targets_, theta, chunk_size_).apply(v, hv);
    return;
  }
  if (ConvChainHessian::supports(model_)) {
    ConvChainHessian(model_, loss_, inputs_, targets_, theta, chunk_size_).apply(v, hv);
    return;
  }
  const int64_t n = num_examples();
  hv.fill(0.0);
  const std::vector<Tensor> out = model_.parameter_views(hv);
  const std::vector<Tensor> primals = model_.parameter_views(theta);
  const std::vector<Tensor> tangents = model_.parameter_views(v);
  for (int64_t begin = 0; begin < n; begin += chunk_size_) {
    const int64_t end = std::min(n, begin + chunk_size_);
    const Tensor x = inputs_.rows(begin, end), y = targets_.rows(begin, end);
    const double weight = 1.0 / static_cast<double>(n);
    auto f = [&](const VarList& params) {
      ForwardContext ctx{false, nullptr};
      return sum(per_example_loss(loss_, model_.forward(Var(x), params, ctx), y)) * weight;
    };
    const std::vector<Tensor> chunk_hv = descent::hessian_vector_product(f, primals, tangents);
    for (size_t i = 0; i < out.size(); ++i) {
      Tensor dst = out[i];
      axpy(dst, 1.0, chunk_hv[i]);
    }
  }
}

namespace {
// Writes s · δ_i a_iᵀ (flattened [out, in], row-major like W) into row i of `out` at `offset`.
template <typename T>
void outer_rows(const Tensor& delta, const Tensor* input, double scale, Tensor& out, int64_t offset) {
  const int64_t b = delta.dim(0), m = delta.dim(1), k = input ? input->dim(1) : 1, P = out.dim(1);
  const T* d = delta.data<T>();
  const T* a = input ? input->data<T>() : nullptr;
  T* g = out.data<T>();
  for (int64_t i = 0; i < b; ++i) {
    T* row = g + i * P + offset;
    for (int64_t o = 0; o < m; ++o) {
      const T s = T(scale) * d[i * m + o];
      if (!a) {
        row[o] = s;
        continue;
      }
      const T* ai = a + i * k;
      T* w = row + o * k;
      for (int64_t j = 0; j < k; ++j) w[j] = s * ai[j];
    }
  }
}
}  // namespace

bool ModelObjective::linear_per_example_gradients(const Tensor& theta, std::span<const int64_t> indices,
                                                  Tensor& gradients) {
  // Only chains of Linear and activation layers: there ∂ℓ_i/∂W = s_w δ_i a_iᵀ and ∂ℓ_i/∂b = s_b δ_i,
  // with a_i the layer's input and δ_i = ∂ℓ_i/∂y_i its pre-activation gradient for example i
  // (example i's loss depends on row i alone, so one backward pass of Σ_i ℓ_i gives every δ_i).
  for (const auto& layer : model_.layers())
    if (!dynamic_cast<const Linear*>(layer.get()) && !dynamic_cast<const ActivationLayer*>(layer.get())) return false;
  gather_batch(indices);
  std::vector<Var> params;
  for (const Tensor& t : model_.parameter_views(theta)) params.emplace_back(t, true);
  ForwardContext ctx{false, nullptr};
  std::vector<Var> layer_outputs;
  const Var x(batch_x_);
  Var outputs = model_.forward(x, params, ctx, &layer_outputs);
  Var total = sum(per_example_loss(loss_, outputs, batch_y_));
  VarList pre_activations;
  std::vector<size_t> linear_layers;
  for (size_t l = 0; l < model_.layers().size(); ++l)
    if (dynamic_cast<const Linear*>(model_.layers()[l].get())) {
      pre_activations.push_back(layer_outputs[l]);
      linear_layers.push_back(l);
    }
  const VarList deltas = grad(total, pre_activations);
  const auto& info = model_.parameters_info();
  size_t p = 0;  // index into info, in layout order
  for (size_t j = 0; j < linear_layers.size(); ++j) {
    const size_t l = linear_layers[j];
    const auto& linear = dynamic_cast<const Linear&>(*model_.layers()[l]);
    const Tensor input = l == 0 ? batch_x_ : layer_outputs[l - 1].value();
    const Tensor delta = deltas[j].value();
    while (p < info.size() && info[p].layer != int(l)) ++p;
    const bool f64 = theta.dtype() == DType::f64;
    (f64 ? outer_rows<double> : outer_rows<float>)(delta, &input, linear.weight_scale(), gradients, info[p].offset);
    if (linear.has_bias())
      (f64 ? outer_rows<double> : outer_rows<float>)(delta, nullptr, linear.bias_scale(), gradients, info[p + 1].offset);
  }
  return true;
}

void ModelObjective::per_example_gradients(const Tensor& theta, std::span<const int64_t> indices, Tensor& gradients) {
  const int64_t b = static_cast<int64_t>(indices.size());
  DESCENT_CHECK(gradients.rank() == 2 && gradients.dim(0) == b && gradients.dim(1) == dimension() &&
                    gradients.dtype() == dtype(),
                ShapeError, "per_example_gradients: output is {}, expected [{}, {}]", gradients.shape(), b,
                dimension());
  if (!training_ && linear_per_example_gradients(theta, indices, gradients)) return;
  Objective::per_example_gradients(theta, indices, gradients);
}

ModelObjective::Evaluation ModelObjective::evaluate(const Tensor& theta) {
  const int64_t n = num_examples();
  NoGradGuard no_grad;
  std::vector<Var> params;
  for (const Tensor& t : model_.parameter_views(theta)) params.emplace_back(t);
  Evaluation e;
  e.examples = n;
  int64_t correct = 0;
  for (int64_t begin = 0; begin < n; begin += chunk_size_) {
    const int64_t end = std::min(n, begin + chunk_size_);
    const Tensor x = inputs_.rows(begin, end), y = targets_.rows(begin, end);
    ForwardContext ctx{false, nullptr};
    Var out = model_.forward(Var(x), params, ctx);
    e.loss += sum(per_example_loss(loss_, out, y)).item();
    correct += count_correct(out.value(), y);
  }
  e.loss /= static_cast<double>(n);
  e.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  return e;
}

}  // namespace descent::nn
