#include "descent/nn/objective.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"

namespace descent::nn {

namespace {
// A buffer for `rows` rows shaped like x's, reallocated only when the batch size changes.
void ensure_rows(const Tensor& x, int64_t rows, Tensor& buffer) {
  Shape shape = x.shape();
  shape[0] = rows;
  if (!buffer.defined() || !(buffer.shape() == shape) || buffer.dtype() != x.dtype())
    buffer = Tensor::empty(shape, x.dtype());
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
}

double ModelObjective::accumulate(const Tensor& theta, const Tensor& x, const Tensor& y, double weight,
                                  Tensor* gradient) {
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
  ensure_rows(inputs_, b, batch_x_);
  ensure_rows(targets_, b, batch_y_);
  gather_rows(inputs_, indices, batch_x_);
  gather_rows(targets_, indices, batch_y_);
}

double ModelObjective::batch_value_and_gradient(const Tensor& theta, std::span<const int64_t> indices,
                                                Tensor& gradient) {
  gather_batch(indices);
  gradient.fill(0.0);
  const double b = static_cast<double>(indices.size());
  return accumulate(theta, batch_x_, batch_y_, 1.0 / b, &gradient) / b;
}

namespace {
// ---- Hessian-vector products of Linear/activation chains by R-propagation ----
//
// For a chain z_l = s_w a_{l-1} W_lᵀ + s_b b_l, a_l = σ_l(z_l) (a_0 = x) and a loss ℓ(a_L),
// H v is the R-operator R{∇θ} = d/dε ∇θ(θ + ε v)|₀ (Pearlmutter 1994, "Fast exact
// multiplication by the Hessian"), with v = (V_l, c_l) split like θ:
//   forward   R z_l = s_w (a_{l-1} V_lᵀ + R a_{l-1} W_lᵀ) + s_b c_l,  R a_l = σ'(z_l) ⊙ R z_l  (R a_0 = 0)
//   loss      g = ∂ℓ/∂a_L,  R g = ∇²ℓ(a_L) R a_L  (autodiff on the [B, K] outputs: any loss)
//   backward  δ_l = σ'(z_l) ⊙ g_l,  R δ_l = σ''(z_l) ⊙ R z_l ⊙ g_l + σ'(z_l) ⊙ R g_l
//             (H v)_{W_l} = s_w (R δ_lᵀ a_{l-1} + δ_lᵀ R a_{l-1}),  (H v)_{b_l} = s_b Σ_rows R δ_l
//             g_{l-1} = s_w δ_l W_l,  R g_{l-1} = s_w (R δ_l W_l + δ_l V_l)
// This is what forward-over-reverse autodiff computes, minus the weight-gradient products that
// H v does not need, as a dozen large GEMMs per chunk over reused buffers instead of a graph.
struct DenseBlock {
  const Linear* linear = nullptr;
  std::optional<Activation> activation;  // none: the block's output is z itself
  size_t weight = 0;                     // index of W_l in the model's parameter list
  int64_t bias = -1;                     // index of b_l, or -1
};

// The blocks of a model made only of Linear layers, each followed by at most one activation,
// on flat inputs; empty when the model is anything else.
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

// σ(z), σ'(z) and σ''(z) element-wise. ReLU is fused by hand (σ' = 1[z > 0], the convention of
// autodiff's relu rule; σ'' = 0); other activations take σ' and σ'' from autodiff, as the
// gradient and the Hessian-vector product (with v = 1) of Σ σ(z), which are diagonal.
struct ActivationValues {
  Tensor value, first, second;  // second undefined when σ'' = 0
};
ActivationValues activation_values(Activation a, const Tensor& z) {
  ActivationValues r;
  if (a == Activation::relu) {
    r.value = Tensor::empty(z.shape(), z.dtype());
    r.first = Tensor::empty(z.shape(), z.dtype());
    dispatch_floating(z.dtype(), "relu", [&](auto tag) {
      using T = decltype(tag);
      const T* zp = z.data<T>();
      T *vp = r.value.data<T>(), *dp = r.first.data<T>();
      for (int64_t i = 0, n = z.numel(); i < n; ++i) {
        const bool on = zp[i] > T(0);
        vp[i] = on ? zp[i] : T(0);
        dp[i] = on ? T(1) : T(0);
      }
      return 0;
    });
    return r;
  }
  const ValueGradHvp d = value_grad_and_hvp([a](const VarList& v) { return sum(apply_activation(a, v[0])); }, {z},
                                            {Tensor::ones(z.shape(), z.dtype())});
  NoGradGuard no_grad;
  r.value = apply_activation(a, Var(z)).value();
  r.first = d.grads[0];
  r.second = d.hvp[0];
  return r;
}

// y[i, :] += s · b for every row i.
void add_row(Tensor& y, const Tensor& b, double s) {
  dispatch_floating(y.dtype(), "bias", [&](auto tag) {
    using T = decltype(tag);
    const int64_t rows = y.dim(0), cols = y.dim(1);
    const T* bp = b.data<T>();
    T* yp = y.data<T>();
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) yp[i * cols + j] += T(s) * bp[j];
    return 0;
  });
}

// out += s · Σ_rows x.
void add_column_sums(Tensor& out, const Tensor& x, double s) {
  dispatch_floating(x.dtype(), "bias", [&](auto tag) {
    using T = decltype(tag);
    const int64_t rows = x.dim(0), cols = x.dim(1);
    const T* xp = x.data<T>();
    T* op = out.data<T>();
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) op[j] += T(s) * xp[i * cols + j];
    return 0;
  });
}

// δ = σ' ⊙ g and R δ = σ'' ⊙ R z ⊙ g + σ' ⊙ R g (new buffers: g and R g may belong to autodiff).
void activation_backward(const ActivationValues& act, const Tensor& rz, const Tensor& g, const Tensor& rg,
                         Tensor& delta, Tensor& rdelta) {
  delta = Tensor::empty(g.shape(), g.dtype());
  rdelta = Tensor::empty(g.shape(), g.dtype());
  dispatch_floating(g.dtype(), "activation", [&](auto tag) {
    using T = decltype(tag);
    const T* d1 = act.first.data<T>();
    const T* d2 = act.second.defined() ? act.second.data<T>() : nullptr;
    const T *rzp = rz.data<T>(), *gp = g.data<T>(), *rgp = rg.data<T>();
    T *dp = delta.data<T>(), *rdp = rdelta.data<T>();
    const int64_t n = g.numel();
    for (int64_t i = 0; i < n; ++i) {
      dp[i] = d1[i] * gp[i];
      rdp[i] = d2 ? d2[i] * rzp[i] * gp[i] + d1[i] * rgp[i] : d1[i] * rgp[i];
    }
    return 0;
  });
}

// Adds the chunk's (1/n-weighted) H v into the per-parameter views `out`.
void dense_chain_hvp_chunk(const std::vector<DenseBlock>& blocks, Loss loss, const Tensor& x, const Tensor& y,
                           double weight, const std::vector<Tensor>& theta, const std::vector<Tensor>& v,
                           std::vector<Tensor>& out) {
  const size_t L = blocks.size();
  const int64_t rows = x.dim(0);
  const DType dt = x.dtype();
  std::vector<Tensor> a(L + 1), ra(L + 1), rz(L);
  std::vector<ActivationValues> act(L);
  a[0] = x;
  for (size_t l = 0; l < L; ++l) {
    const DenseBlock& b = blocks[l];
    const double sw = b.linear->weight_scale(), sb = b.linear->bias_scale();
    const Tensor &w = theta[b.weight], &vw = v[b.weight];
    Tensor z = Tensor::empty({rows, b.linear->out_features()}, dt);
    gemm_into(z, a[l], w, false, true, sw, 0.0);
    rz[l] = Tensor::empty(z.shape(), dt);
    gemm_into(rz[l], a[l], vw, false, true, sw, 0.0);
    if (l > 0) gemm_into(rz[l], ra[l], w, false, true, sw, 1.0);
    if (b.bias >= 0) {
      add_row(z, theta[size_t(b.bias)], sb);
      add_row(rz[l], v[size_t(b.bias)], sb);
    }
    if (!b.activation) {
      a[l + 1] = z;
      ra[l + 1] = rz[l];
      continue;
    }
    act[l] = activation_values(*b.activation, z);
    a[l + 1] = act[l].value;
    ra[l + 1] = mul(act[l].first, rz[l]);
  }
  auto loss_of_outputs = [&](const VarList& o) { return sum(per_example_loss(loss, o[0], y)) * weight; };
  ValueGradHvp top = value_grad_and_hvp(loss_of_outputs, {a[L]}, {ra[L]});
  Tensor g = std::move(top.grads[0]), rg = std::move(top.hvp[0]);
  for (size_t l = L; l-- > 0;) {
    const DenseBlock& b = blocks[l];
    const double sw = b.linear->weight_scale(), sb = b.linear->bias_scale();
    if (b.activation) {  // g, rg become δ_l, R δ_l
      Tensor delta, rdelta;
      activation_backward(act[l], rz[l], g, rg, delta, rdelta);
      g = std::move(delta);
      rg = std::move(rdelta);
    }
    Tensor& hw = out[b.weight];
    gemm_into(hw, rg, a[l], true, false, sw, 1.0);
    if (l > 0) gemm_into(hw, g, ra[l], true, false, sw, 1.0);
    if (b.bias >= 0) add_column_sums(out[size_t(b.bias)], rg, sb);
    if (l == 0) break;
    Tensor g_in = Tensor::empty({rows, b.linear->in_features()}, dt), rg_in = Tensor::empty(g_in.shape(), dt);
    gemm_into(g_in, g, theta[b.weight], false, false, sw, 0.0);
    gemm_into(rg_in, rg, theta[b.weight], false, false, sw, 0.0);
    gemm_into(rg_in, g, v[b.weight], false, false, sw, 1.0);
    g = std::move(g_in);
    rg = std::move(rg_in);
  }
}
}  // namespace

void ModelObjective::hessian_vector_product(const Tensor& theta, const Tensor& v, Tensor& hv) {
  const int64_t n = num_examples();
  hv.fill(0.0);
  const std::vector<Tensor> out = model_.parameter_views(hv);
  const std::vector<Tensor> primals = model_.parameter_views(theta);
  const std::vector<Tensor> tangents = model_.parameter_views(v);
  const std::vector<DenseBlock> blocks = dense_chain(model_);
  if (!blocks.empty()) {
    std::vector<Tensor> sums = out;
    for (int64_t begin = 0; begin < n; begin += chunk_size_) {
      const int64_t end = std::min(n, begin + chunk_size_);
      dense_chain_hvp_chunk(blocks, loss_, inputs_.rows(begin, end), targets_.rows(begin, end),
                            1.0 / static_cast<double>(n), primals, tangents, sums);
    }
    return;
  }
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
