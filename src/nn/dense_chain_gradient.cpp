#include "descent/nn/dense_chain_gradient.hpp"

#include <algorithm>
#include <cmath>

#include "dense_chain.hpp"
#include "descent/autodiff/autodiff.hpp"
#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"

namespace descent::nn {
namespace {
using detail::DenseBlock;

// For z_l = s_w a_{l-1} W_lᵀ + s_b b_l, a_l = σ_l(z_l) (a_0 = x), f = Σ_i ℓ(a_L[i], y_i):
//   g_L = weight · ∂f/∂a_L,  δ_l = σ'(z_l) ⊙ g_l,  g_{l-1} = s_w δ_l W_l,
//   ∂/∂W_l = s_w δ_lᵀ a_{l-1},  ∂/∂b_l = s_b Σ_rows δ_l  (backpropagation; Rumelhart et al. 1986).

// z ← z + s·b (per row) then, for ReLU, a = max(z, 0) in place; the ReLU derivative is read
// back from a (a > 0 ⟺ z > 0, the convention of autodiff's relu rule: σ'(0) = 0).
template <class T>
void bias_and_relu(T* z, const T* b, T s, int64_t rows, int64_t cols, bool relu) {
  for (int64_t i = 0; i < rows; ++i) {
    T* zi = z + i * cols;
    if (b)
      for (int64_t j = 0; j < cols; ++j) zi[j] += s * b[j];
    if (relu)
      for (int64_t j = 0; j < cols; ++j) zi[j] = zi[j] <= T(0) ? T(0) : zi[j];  // relu(NaN) = NaN, as core's
  }
}

// Softmax cross-entropy of logits z [B, K] against int64 labels: returns Σ_i (logsumexp(z_i) −
// z_i[y_i]) and writes g = weight · (softmax(z) − onehot(y)).
template <class T>
double softmax_cross_entropy_and_gradient(const T* z, const int64_t* y, int64_t rows, int64_t k, double weight,
                                          T* g) {
  double total = 0;
  const T w = T(weight);
  for (int64_t i = 0; i < rows; ++i) {
    const T* zi = z + i * k;
    T* gi = g + i * k;
    DESCENT_CHECK(y[i] >= 0 && y[i] < k, InputError,
                  "softmax_cross_entropy: label {} of example {} is not in [0, {})", y[i], i, k);
    const T m = *std::max_element(zi, zi + k);
    T s = 0;
    for (int64_t j = 0; j < k; ++j) s += (gi[j] = std::exp(zi[j] - m));
    total += double(m) + std::log(double(s)) - double(zi[y[i]]);
    const T scale = w / s;
    for (int64_t j = 0; j < k; ++j) gi[j] *= scale;
    gi[y[i]] -= w;
  }
  return total;
}

}  // namespace

struct DenseChainGradient::State {
  const Model* model;
  Loss loss;
  std::vector<DenseBlock> blocks;
  // Workspace, kept between calls of the same row count: a[l] (block outputs), d[l] (σ'(z_l)
  // where the activation is not ReLU), and two buffers for the back-propagated signal.
  int64_t rows = -1;
  DType dtype = DType::f32;
  std::vector<Tensor> a, d;
  Tensor g0, g1;

  void reserve(int64_t n, DType dt) {
    if (n == rows && dt == dtype) return;
    rows = n, dtype = dt;
    const size_t L = blocks.size();
    a.assign(L, Tensor());
    d.assign(L, Tensor());
    int64_t widest = 0;
    for (size_t l = 0; l < L; ++l) {
      const int64_t out = blocks[l].linear->out_features();
      a[l] = Tensor::empty({n, out}, dt);
      if (blocks[l].activation && *blocks[l].activation != Activation::relu) d[l] = Tensor::empty({n, out}, dt);
      widest = std::max(widest, out);
    }
    g0 = Tensor::empty({n * widest}, dt);
    g1 = Tensor::empty({n * widest}, dt);
  }
};

DenseChainGradient::DenseChainGradient(const Model& model, Loss loss) : state_(std::make_unique<State>()) {
  state_->model = &model;
  state_->loss = loss;
  state_->blocks = detail::dense_chain(model);
  DESCENT_CHECK(!state_->blocks.empty(), InputError,
                "DenseChainGradient: the model is not a chain of Linear layers and activations on flat inputs ({})",
                model.describe());
}

DenseChainGradient::~DenseChainGradient() = default;
DenseChainGradient::DenseChainGradient(DenseChainGradient&&) noexcept = default;
DenseChainGradient& DenseChainGradient::operator=(DenseChainGradient&&) noexcept = default;

double DenseChainGradient::value_and_gradient(const Tensor& theta, const Tensor& x, const Tensor& y, double weight,
                                              Tensor& gradient, bool accumulate, Tensor* outputs) {
  State& s = *state_;
  const Model& model = *s.model;
  DESCENT_CHECK(x.defined() && x.rank() == 2 && x.dim(0) > 0 && x.dtype() == model.dtype() && y.defined() &&
                    y.dim(0) == x.dim(0),
                ShapeError, "DenseChainGradient: inputs must be [B > 0, d] of the model's dtype with B targets");
  DESCENT_CHECK(theta.numel() == model.num_parameters() && gradient.numel() == model.num_parameters() &&
                    theta.dtype() == model.dtype() && gradient.dtype() == model.dtype(),
                ShapeError, "DenseChainGradient: θ and the gradient must have the model's {} {} elements",
                model.num_parameters(), dtype_name(model.dtype()));
  const int64_t rows = x.dim(0);
  const size_t L = s.blocks.size();
  s.reserve(rows, x.dtype());
  const std::vector<Tensor> w = model.parameter_views(theta);
  std::vector<Tensor> gw = model.parameter_views(gradient);
  const Tensor& xc = x;  // tensors are dense row-major (views included)
  const double beta = accumulate ? 1.0 : 0.0;
  double total = 0;
  dispatch_floating(x.dtype(), "dense chain", [&](auto tag) {
    using T = decltype(tag);
    // ---- forward ----
    for (size_t l = 0; l < L; ++l) {
      const DenseBlock& b = s.blocks[l];
      const Tensor& in = l == 0 ? xc : s.a[l - 1];
      gemm_into(s.a[l], in, w[b.weight], false, true, b.linear->weight_scale(), 0.0);
      const int64_t cols = b.linear->out_features();
      const bool relu = b.activation == Activation::relu;
      bias_and_relu<T>(s.a[l].data<T>(), b.bias >= 0 ? w[size_t(b.bias)].data<T>() : nullptr,
                       T(b.linear->bias_scale()), rows, cols, relu);
      if (b.activation && !relu) {
        // Other activations: σ(z) and σ'(z) (diagonal) from autodiff, as the gradient of Σ σ(z).
        const Activation act = *b.activation;
        s.d[l].copy_from(
            value_and_grad([act](const VarList& v) { return sum(apply_activation(act, v[0])); }, {s.a[l].clone()})
                .second[0]);
        NoGradGuard no_grad;
        s.a[l].copy_from(apply_activation(act, Var(s.a[l].clone())).value());
      }
    }
    // ---- loss ----
    const Tensor& out = s.a[L - 1];
    const int64_t k = out.dim(1);
    Tensor g = s.g0.view(0, {rows, k});
    bool in_g0 = true;
    if (s.loss == Loss::softmax_cross_entropy && y.dtype() == DType::i64 && y.numel() == rows) {
      total = softmax_cross_entropy_and_gradient<T>(out.data<T>(), y.data<int64_t>(), rows, k, weight, g.data<T>());
    } else {
      auto loss_of_outputs = [&](const VarList& o) { return sum(per_example_loss(s.loss, o[0], y)); };
      const auto [value, grads] = value_and_grad(loss_of_outputs, {out});
      total = value.item();
      g.copy_from(grads[0]);
      scale_inplace(g, weight);
    }
    if (outputs) *outputs = out.clone();
    // ---- backward: g holds ∂/∂a_l, turned into δ_l in place ----
    for (size_t l = L; l-- > 0;) {
      const DenseBlock& b = s.blocks[l];
      const int64_t cols = b.linear->out_features();
      if (b.activation == Activation::relu) {
        const T* al = s.a[l].data<T>();
        T* gp = g.data<T>();
        for (int64_t i = 0, n = rows * cols; i < n; ++i) gp[i] = al[i] <= T(0) ? T(0) : gp[i];
      } else if (b.activation) {
        const T* dl = s.d[l].data<T>();
        T* gp = g.data<T>();
        for (int64_t i = 0, n = rows * cols; i < n; ++i) gp[i] *= dl[i];
      }
      const Tensor& in = l == 0 ? xc : s.a[l - 1];
      gemm_into(gw[b.weight], g, in, true, false, b.linear->weight_scale(), beta);
      if (b.bias >= 0) {
        T* gb = gw[size_t(b.bias)].data<T>();
        const T sb = T(b.linear->bias_scale());
        if (!accumulate) std::fill(gb, gb + cols, T(0));
        const T* gp = g.data<T>();
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j) gb[j] += sb * gp[i * cols + j];
      }
      if (l == 0) break;
      const int64_t in_cols = b.linear->in_features();
      Tensor next = (in_g0 ? s.g1 : s.g0).view(0, {rows, in_cols});
      gemm_into(next, g, w[b.weight], false, false, b.linear->weight_scale(), 0.0);
      g = next;
      in_g0 = !in_g0;
    }
    return 0;
  });
  return total;
}

}  // namespace descent::nn
