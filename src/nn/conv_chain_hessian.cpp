#include "descent/nn/conv_chain_hessian.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"

namespace descent::nn {
namespace {
// ---- Hessian-vector products of CNNs by R-propagation ----
//
// The model is a chain a_{l+1} = f_l(a_l) (a_0 = x) and a loss ℓ(a_L). H v is the R-operator
// R{∇θ} = d/dε ∇θ(θ + ε v)|₀ (Pearlmutter 1994), v = (V_l, c_l) split like θ. With
// g_l = ∂ℓ/∂a_l, per layer kind:
//   Conv2d   z = conv(a, s W) + b:
//            R z = conv(a, s V) + conv(R a, s W) + c
//            (H v)_W = s (W∇(a, R g) + W∇(R a, g)),  (H v)_b = Σ_{n,h,w} R g
//            g_in = D(g, s W),  R g_in = D(R g, s W) + D(g, s V)
//            (D = conv2d_backward_data, W∇ = conv2d_backward_weights; both bilinear)
//   Linear   z = s_w a Wᵀ + s_b b: the same with products (nn::DenseChainHessian)
//   σ        R a' = σ'(z) R z;  g_in = σ' g,  R g_in = σ''(z) R z g + σ' R g
//   pooling  linear in its input for fixed max-pooling choices P: R a' = P R a, g_in = Pᵀ g,
//            R g_in = Pᵀ R g (max pooling is piecewise linear; the choices are those of
//            autodiff's max_pool2d, so both paths differentiate the same function)
//   Flatten, Dropout (evaluation: the identity): reshapes.
// At the loss, R g_L = ∇²ℓ(a_L) R a_L (autodiff on the [B, K] outputs: any loss). The
// v-independent a_l, σ', σ'', pooling choices and g_l are the "primal" state of a chunk.

enum class Kind { conv, linear, activation, max_pool, avg_pool, reshape };

struct Step {
  Kind kind = Kind::reshape;
  const Conv2d* conv = nullptr;
  const Linear* linear = nullptr;
  Activation activation = Activation::identity;
  int64_t pool = 0;       // window (= stride) of pooling layers
  size_t weight = 0;      // index of W in the model's parameter list (conv, linear)
  int64_t bias = -1;      // index of b, or -1
  bool flatten = false;   // a reshape step that flattens (else the identity)
  bool parametric() const { return kind == Kind::conv || kind == Kind::linear; }
};

// The steps of a supported model, or empty.
std::vector<Step> chain(const Model& model) {
  if (model.input_shape().rank() != 3) return {};
  std::vector<Step> steps;
  const auto& info = model.parameters_info();
  bool has_conv = false;
  for (size_t l = 0; l < model.layers().size(); ++l) {
    const Layer* layer = model.layers()[l].get();
    Step s;
    auto first_param = [&]() -> std::optional<size_t> {
      for (size_t p = 0; p < info.size(); ++p)
        if (info[p].layer == int(l)) return p;
      return std::nullopt;
    };
    if (const auto* conv = dynamic_cast<const Conv2d*>(layer)) {
      const auto p = first_param();
      if (!p) return {};
      s.kind = Kind::conv, s.conv = conv, s.weight = *p, s.bias = conv->has_bias() ? int64_t(*p + 1) : -1;
      has_conv = true;
    } else if (const auto* linear = dynamic_cast<const Linear*>(layer)) {
      const auto p = first_param();
      if (!p) return {};
      s.kind = Kind::linear, s.linear = linear, s.weight = *p, s.bias = linear->has_bias() ? int64_t(*p + 1) : -1;
    } else if (const auto* act = dynamic_cast<const ActivationLayer*>(layer)) {
      // ActivationLayer::describe() is the activation's name (layers.hpp).
      s.kind = Kind::activation, s.activation = parse_activation(act->describe());
      if (s.activation == Activation::identity) s.kind = Kind::reshape;
    } else if (const auto* pool = dynamic_cast<const Pool2d*>(layer)) {
      s.kind = pool->kind() == Pool2d::Kind::max ? Kind::max_pool : Kind::avg_pool, s.pool = pool->kernel_size();
    } else if (dynamic_cast<const Flatten*>(layer)) {
      s.kind = Kind::reshape, s.flatten = true;
    } else if (dynamic_cast<const Dropout*>(layer)) {
      s.kind = Kind::reshape;
    } else {
      return {};
    }
    steps.push_back(s);
  }
  if (!has_conv) return {};
  return steps;
}

// σ'(z) and σ''(z) (undefined when 0), and σ(z). ReLU by hand (σ' = 1[z > 0], autodiff's
// convention); the others from autodiff as the gradient and the HVP with v = 1 of Σ σ(z).
struct ActivationValues {
  Tensor value, first, second;
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

// ---- pooling as a linear map P for fixed choices ----
Window2d pool_window(int64_t k) { return Window2d{k, k, k, k, 0, 0}; }

// P t for t [N, C, H, W] → [N, C, OH, OW].
Tensor pool_apply(const Step& s, const Tensor& t, const Tensor& index) {
  const Shape& sh = t.shape();
  const Window2d w = pool_window(s.pool);
  const int64_t oh = w.out_h(sh[2]), ow = w.out_w(sh[3]);
  const Shape out{sh[0], sh[1], oh, ow};
  if (s.kind == Kind::max_pool) return gather(t.reshape({sh[0] * sh[1], sh[2] * sh[3]}), 1, index).reshape(out);
  const Tensor cols = im2col(t.reshape({sh[0] * sh[1], 1, sh[2], sh[3]}), w);  // [N·C, k·k, OH·OW]
  return mean(cols, {1}).reshape(out);
}

// Pᵀ g for g [N, C, OH, OW] → in_shape.
Tensor pool_adjoint(const Step& s, const Tensor& g, const Tensor& index, const Shape& in_shape) {
  const int64_t nc = in_shape[0] * in_shape[1], plane = g.dim(2) * g.dim(3);
  if (s.kind == Kind::max_pool)
    return scatter_add(Shape{nc, in_shape[2] * in_shape[3]}, 1, index, g.reshape({nc, plane})).reshape(in_shape);
  const Window2d w = pool_window(s.pool);
  const int64_t kk = s.pool * s.pool;
  const Tensor cols = broadcast_to(mul(g.reshape({nc, 1, plane}), 1.0 / double(kk)), Shape{nc, kk, plane});
  return col2im(cols, Shape{nc, 1, in_shape[2], in_shape[3]}, w).reshape(in_shape);
}

// y[i, :] += s · b for every row i of a 2-D y; for 4-D y [N, O, H, W], y[n, o] += s · b[o].
void add_bias(Tensor& y, const Tensor& b, double s) {
  dispatch_floating(y.dtype(), "bias", [&](auto tag) {
    using T = decltype(tag);
    const int64_t rows = y.dim(0), channels = y.dim(1), plane = y.numel() / (rows * channels);
    const T* bp = b.data<T>();
    T* yp = y.data<T>();
    for (int64_t i = 0; i < rows * channels; ++i) {
      const T add = T(s) * bp[i % channels];
      for (int64_t j = 0; j < plane; ++j) yp[i * plane + j] += add;
    }
    return 0;
  });
}

// out[o] += s · Σ over every axis but 1 of x (2-D [B, O] or 4-D [N, O, H, W]).
void add_channel_sums(Tensor& out, const Tensor& x, double s) {
  dispatch_floating(x.dtype(), "bias", [&](auto tag) {
    using T = decltype(tag);
    const int64_t rows = x.dim(0), channels = x.dim(1), plane = x.numel() / (rows * channels);
    const T* xp = x.data<T>();
    T* op = out.data<T>();
    for (int64_t i = 0; i < rows * channels; ++i) {
      T acc = 0;
      for (int64_t j = 0; j < plane; ++j) acc += xp[i * plane + j];
      op[i % channels] += T(s) * acc;
    }
    return 0;
  });
}

// R δ = σ'' ⊙ R z ⊙ g + σ' ⊙ R g.
Tensor activation_tangent(const ActivationValues& act, const Tensor& rz, const Tensor& g, const Tensor& rg) {
  Tensor r = Tensor::empty(rg.shape(), rg.dtype());
  dispatch_floating(rg.dtype(), "activation", [&](auto tag) {
    using T = decltype(tag);
    const T* d1 = act.first.data<T>();
    const T* d2 = act.second.defined() ? act.second.data<T>() : nullptr;
    const T* rgp = rg.data<T>();
    T* rp = r.data<T>();
    const int64_t n = rg.numel();
    if (d2) {
      const T *rzp = rz.data<T>(), *gp = g.data<T>();
      for (int64_t i = 0; i < n; ++i) rp[i] = d2[i] * rzp[i] * gp[i] + d1[i] * rgp[i];
    } else {
      for (int64_t i = 0; i < n; ++i) rp[i] = d1[i] * rgp[i];
    }
    return 0;
  });
  return r;
}

// The v-independent state of a chunk: a[l] is step l's input (a[L] the outputs), act[l] its
// σ values, index[l] its max-pooling choices, g[l + 1] the gradient with respect to its output
// (kept where the tangent pass needs it: parametric steps and activations with σ'' ≠ 0).
struct Primal {
  std::vector<Tensor> a, index, g;
  std::vector<ActivationValues> act;
  size_t bytes() const {
    size_t n = 0;
    auto add = [&](const Tensor& t) { n += t.defined() ? t.nbytes() : 0; };
    for (size_t l = 1; l < a.size(); ++l) add(a[l]);  // a[0] is a view of the inputs
    for (const Tensor& t : index) add(t);
    for (const Tensor& t : g) add(t);
    for (const ActivationValues& v : act) add(v.first), add(v.second);
    return n;
  }
};

}  // namespace

struct ConvChainHessian::State {
  const Model* model;
  std::vector<Step> steps;
  Loss loss;
  Tensor inputs, targets, theta;
  std::vector<Tensor> params;  // views of theta
  std::vector<Tensor> conv_weights;  // s·W as [O, C/groups, k, k], per step (conv steps only)
  int64_t chunk_size, n, p;
  size_t budget, used = 0;
  std::vector<std::optional<Primal>> cache;

  double weight() const { return 1.0 / double(n); }

  Tensor conv_weight(const Step& s, const Tensor& w) const {
    const Conv2d& c = *s.conv;
    const ConvSpec spec = c.spec();
    Tensor r = w.reshape({c.out_channels(), c.in_channels() / spec.groups, c.kernel_size(), c.kernel_size()});
    return c.weight_scale() == 1.0 ? r : mul(r, c.weight_scale());
  }

  // z = layer(a) for a parametric step (with its parameters from `ps`, biases optional).
  Tensor affine(const Step& s, const Tensor& a, const Tensor& w_eff, const Tensor* bias) const {
    if (s.kind == Kind::conv) return conv2d_forward(a, w_eff, bias ? *bias : Tensor(), s.conv->spec());
    Tensor z = Tensor::empty({a.dim(0), s.linear->out_features()}, a.dtype());
    gemm_into(z, a, w_eff, false, true, s.linear->weight_scale(), 0.0);
    if (bias) add_bias(z, *bias, s.linear->bias_scale());
    return z;
  }

  Primal primal(int64_t chunk) const {
    const int64_t begin = chunk * chunk_size, end = std::min(n, begin + chunk_size);
    const Tensor x = inputs.rows(begin, end), y = targets.rows(begin, end);
    const size_t L = steps.size();
    const int64_t rows = end - begin;
    Primal pr;
    pr.a.resize(L + 1), pr.index.resize(L), pr.g.resize(L + 1), pr.act.resize(L);
    pr.a[0] = x;
    for (size_t l = 0; l < L; ++l) {
      const Step& s = steps[l];
      const Tensor& a = pr.a[l];
      switch (s.kind) {
        case Kind::conv:
        case Kind::linear: {
          const Tensor* b = s.bias >= 0 ? &params[size_t(s.bias)] : nullptr;
          pr.a[l + 1] = affine(s, a, s.kind == Kind::conv ? conv_weights[l] : params[s.weight], b);
          break;
        }
        case Kind::activation:
          pr.act[l] = activation_values(s.activation, a);
          pr.a[l + 1] = pr.act[l].value;
          break;
        case Kind::max_pool:
        case Kind::avg_pool:
          if (s.kind == Kind::max_pool) pr.index[l] = max_pool2d_indices(a, pool_window(s.pool));
          pr.a[l + 1] = pool_apply(s, a, pr.index[l]);
          break;
        case Kind::reshape:
          pr.a[l + 1] = s.flatten ? a.reshape({rows, a.numel() / rows}) : a;
          break;
      }
    }
    const double w = weight();
    auto loss_of_outputs = [&](const VarList& o) { return sum(per_example_loss(loss, o[0], y)) * w; };
    Tensor g = value_and_grad(loss_of_outputs, {pr.a[L]}).second[0];
    for (size_t l = L; l-- > 0;) {
      const Step& s = steps[l];
      if (s.parametric() || (s.kind == Kind::activation && pr.act[l].second.defined())) pr.g[l + 1] = g;
      if (l == 0) break;
      g = back(s, l, g, pr);
    }
    return pr;
  }

  // g_in from g_out through step l (primal: the step's own parameters).
  Tensor back(const Step& s, size_t l, const Tensor& g, const Primal& pr) const {
    const Tensor& a = pr.a[l];
    switch (s.kind) {
      case Kind::conv: return conv2d_backward_data(g, conv_weights[l], a.shape(), s.conv->spec());
      case Kind::linear: {
        Tensor r = Tensor::empty(a.shape(), g.dtype());
        gemm_into(r, g, params[s.weight], false, false, s.linear->weight_scale(), 0.0);
        return r;
      }
      case Kind::activation: return mul(pr.act[l].first, g);
      case Kind::max_pool:
      case Kind::avg_pool: return pool_adjoint(s, g, pr.index[l], a.shape());
      case Kind::reshape: return g.reshape(a.shape());
    }
    return g;
  }

  // Adds the chunk's H v into `out` (per-parameter views of hv).
  void tangent(int64_t chunk, const Primal& pr, const std::vector<Tensor>& v, std::vector<Tensor>& out) const {
    const int64_t begin = chunk * chunk_size, end = std::min(n, begin + chunk_size);
    const Tensor y = targets.rows(begin, end);
    const size_t L = steps.size();
    std::vector<Tensor> ra(L + 1), rz(L), v_eff(L);
    for (size_t l = 0; l < L; ++l) {
      const Step& s = steps[l];
      if (s.kind == Kind::conv) v_eff[l] = conv_weight(s, v[s.weight]);
      if (s.kind == Kind::linear) v_eff[l] = v[s.weight];
    }
    // ra[l] undefined: R a_l = 0 (the inputs, and everything before the first parameter).
    for (size_t l = 0; l < L; ++l) {
      const Step& s = steps[l];
      const Tensor& a = pr.a[l];
      switch (s.kind) {
        case Kind::conv:
        case Kind::linear: {
          const Tensor* c = s.bias >= 0 ? &v[size_t(s.bias)] : nullptr;
          Tensor r = affine(s, a, v_eff[l], c);
          if (ra[l].defined()) {
            if (s.kind == Kind::conv)
              add_inplace(r, conv2d_forward(ra[l], conv_weights[l], Tensor(), s.conv->spec()));
            else
              gemm_into(r, ra[l], params[s.weight], false, true, s.linear->weight_scale(), 1.0);
          }
          ra[l + 1] = std::move(r);
          break;
        }
        case Kind::activation:
          if (ra[l].defined()) {
            rz[l] = ra[l];
            ra[l + 1] = mul(pr.act[l].first, ra[l]);
          }
          break;
        case Kind::max_pool:
        case Kind::avg_pool:
          if (ra[l].defined()) ra[l + 1] = pool_apply(s, ra[l], pr.index[l]);
          break;
        case Kind::reshape:
          if (ra[l].defined()) ra[l + 1] = ra[l].reshape(pr.a[l + 1].shape());
          break;
      }
    }
    const double w = weight();
    auto loss_of_outputs = [&](const VarList& o) { return sum(per_example_loss(loss, o[0], y)) * w; };
    Tensor rg = hessian_vector_product(loss_of_outputs, {pr.a[L]}, {ra[L]})[0];
    for (size_t l = L; l-- > 0;) {
      const Step& s = steps[l];
      const Tensor& a = pr.a[l];
      const Tensor& g = pr.g[l + 1];
      switch (s.kind) {
        case Kind::conv: {
          const ConvSpec spec = s.conv->spec();
          const double sw = s.conv->weight_scale();
          const Shape ws = conv_weights[l].shape();
          Tensor hw = conv2d_backward_weights(a, rg, ws, spec);
          if (ra[l].defined()) add_inplace(hw, conv2d_backward_weights(ra[l], g, ws, spec));
          axpy(out[s.weight], sw, hw);
          if (s.bias >= 0) add_channel_sums(out[size_t(s.bias)], rg, 1.0);
          if (l == 0) return;
          Tensor r = conv2d_backward_data(rg, conv_weights[l], a.shape(), spec);
          add_inplace(r, conv2d_backward_data(g, v_eff[l], a.shape(), spec));
          rg = std::move(r);
          break;
        }
        case Kind::linear: {
          const double sw = s.linear->weight_scale();
          gemm_into(out[s.weight], rg, a, true, false, sw, 1.0);
          if (ra[l].defined()) gemm_into(out[s.weight], g, ra[l], true, false, sw, 1.0);
          if (s.bias >= 0) add_channel_sums(out[size_t(s.bias)], rg, s.linear->bias_scale());
          if (l == 0) return;
          Tensor r = Tensor::empty(a.shape(), a.dtype());
          gemm_into(r, rg, params[s.weight], false, false, sw, 0.0);
          gemm_into(r, g, v[s.weight], false, false, sw, 1.0);
          rg = std::move(r);
          break;
        }
        case Kind::activation:
          rg = ra[l].defined() ? activation_tangent(pr.act[l], rz[l], g, rg) : mul(pr.act[l].first, rg);
          break;
        case Kind::max_pool:
        case Kind::avg_pool: rg = pool_adjoint(s, rg, pr.index[l], a.shape()); break;
        case Kind::reshape: rg = rg.reshape(a.shape()); break;
      }
    }
  }
};

bool ConvChainHessian::supports(const Model& model) { return !chain(model).empty(); }

ConvChainHessian::ConvChainHessian(const Model& model, Loss loss, const Tensor& inputs, const Tensor& targets,
                                   const Tensor& theta, int64_t chunk_size, size_t cache_bytes)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.steps = chain(model);
  DESCENT_CHECK(!s.steps.empty(), InputError,
                "ConvChainHessian: the model is not a chain of Conv2d, Linear, activation, pooling and Flatten "
                "layers on images ({})",
                model.describe());
  DESCENT_CHECK(inputs.defined() && inputs.rank() == 4 && inputs.dim(0) > 0 && inputs.dtype() == model.dtype() &&
                    targets.defined() && targets.dim(0) == inputs.dim(0),
                ShapeError, "ConvChainHessian: inputs must be [n > 0, C, H, W] of the model's dtype with n targets");
  DESCENT_CHECK(theta.numel() == model.num_parameters() && theta.dtype() == model.dtype(), ShapeError,
                "ConvChainHessian: θ has {} {} elements, the model {} {}", theta.numel(), dtype_name(theta.dtype()),
                model.num_parameters(), dtype_name(model.dtype()));
  DESCENT_CHECK(chunk_size > 0, InputError, "ConvChainHessian: chunk size must be positive, got {}", chunk_size);
  s.model = &model;
  s.loss = loss;
  s.inputs = inputs;
  s.targets = targets;
  s.theta = theta.flatten().clone();
  s.params = model.parameter_views(s.theta);
  s.conv_weights.resize(s.steps.size());
  for (size_t l = 0; l < s.steps.size(); ++l)
    if (s.steps[l].kind == Kind::conv) s.conv_weights[l] = s.conv_weight(s.steps[l], s.params[s.steps[l].weight]);
  s.chunk_size = chunk_size;
  s.n = inputs.dim(0);
  s.p = model.num_parameters();
  s.budget = cache_bytes;
  s.cache.resize(size_t((s.n + chunk_size - 1) / chunk_size));
}

ConvChainHessian::~ConvChainHessian() = default;
ConvChainHessian::ConvChainHessian(ConvChainHessian&&) noexcept = default;
ConvChainHessian& ConvChainHessian::operator=(ConvChainHessian&&) noexcept = default;

int64_t ConvChainHessian::dimension() const { return state_->p; }
size_t ConvChainHessian::cached_bytes() const { return state_->used; }
int64_t ConvChainHessian::num_chunks() const { return int64_t(state_->cache.size()); }
int64_t ConvChainHessian::cached_chunks() const {
  return std::count_if(state_->cache.begin(), state_->cache.end(), [](const auto& c) { return c.has_value(); });
}

void ConvChainHessian::apply(const Tensor& v, Tensor& hv) {
  State& s = *state_;
  DESCENT_CHECK(v.numel() == s.p && hv.numel() == s.p && v.dtype() == s.theta.dtype() &&
                    hv.dtype() == s.theta.dtype(),
                ShapeError, "ConvChainHessian: v has {} and hv {} elements, expected {} of {}", v.numel(), hv.numel(),
                s.p, dtype_name(s.theta.dtype()));
  hv.fill(0.0);
  const std::vector<Tensor> tangents = s.model->parameter_views(v);
  std::vector<Tensor> out = s.model->parameter_views(hv);
  for (int64_t c = 0; c < int64_t(s.cache.size()); ++c) {
    if (s.cache[size_t(c)]) {
      s.tangent(c, *s.cache[size_t(c)], tangents, out);
      continue;
    }
    Primal p = s.primal(c);
    s.tangent(c, p, tangents, out);
    const size_t bytes = p.bytes();
    if (s.used + bytes <= s.budget) {
      s.used += bytes;
      s.cache[size_t(c)] = std::move(p);
    }
  }
}

}  // namespace descent::nn
