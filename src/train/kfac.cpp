#include "descent/train/kfac.hpp"

#include <algorithm>
#include <cmath>

#include <Eigen/Dense>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/nn/layers.hpp"

namespace descent::train {

namespace {

using Eigen::MatrixXd;
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// A 2-D float tensor as a double matrix (a copy).
MatrixXd to_matrix(const Tensor& t) {
  const Tensor d = t.astype(DType::f64);
  return Eigen::Map<const RowMatrix>(d.data<double>(), t.dim(0), t.numel() / t.dim(0));
}

// XᵀX / rows, by a symmetric rank-k update (half the flops of a general product).
MatrixXd gram(const MatrixXd& x) {
  MatrixXd m = MatrixXd::Zero(x.cols(), x.cols());
  m.selfadjointView<Eigen::Lower>().rankUpdate(x.transpose(), 1.0 / static_cast<double>(x.rows()));
  return m.selfadjointView<Eigen::Lower>();
}

// Targets drawn from the model's predictive distribution p(y | x, θ), for the true Fisher:
// a class from softmax(logits), or f + N(0, I) for the Gaussian likelihood of ½‖f − y‖².
Tensor sample_targets(nn::Loss loss, const Tensor& outputs, const Tensor& targets, Rng& rng) {
  if (loss == nn::Loss::softmax_cross_entropy) {
    const Tensor p = softmax(outputs.astype(DType::f64), 1);
    const int64_t b = p.dim(0), k = p.dim(1);
    Tensor labels = Tensor::empty({b}, DType::i64);
    for (int64_t i = 0; i < b; ++i) {
      const double u = rng.uniform();
      double c = 0.0;
      int64_t label = k - 1;
      for (int64_t j = 0; j < k; ++j) {
        c += p.data<double>()[i * k + j];
        if (u < c) { label = j; break; }
      }
      labels.data<int64_t>()[i] = label;
    }
    return labels;
  }
  Tensor noisy = outputs.clone().reshape(targets.shape());
  Tensor noise = rng.normal_tensor(noisy.shape(), noisy.dtype());
  axpy(noisy, 1.0, noise);
  return noisy;
}

}  // namespace

Kfac::Kfac(nn::Model& model, nn::Loss loss, const KfacOptions& o) : model_(model), loss_(loss), opt_(o), rng_(o.seed) {
  DESCENT_CHECK(std::isfinite(o.learning_rate) && o.learning_rate > 0.0, InputError,
                "Kfac: learning_rate must be a finite number > 0, got {}", o.learning_rate);
  DESCENT_CHECK(std::isfinite(o.damping) && o.damping > 0.0, InputError,
                "Kfac: damping must be a finite number > 0, got {}", o.damping);
  DESCENT_CHECK(o.running_average >= 0.0 && o.running_average < 1.0, InputError,
                "Kfac: running_average must lie in [0, 1), got {}", o.running_average);
  DESCENT_CHECK(o.inverse_every >= 1, InputError, "Kfac: inverse_every must be >= 1, got {}", o.inverse_every);
  DESCENT_CHECK(o.momentum >= 0.0 && o.momentum < 1.0, InputError, "Kfac: momentum must lie in [0, 1), got {}",
                o.momentum);
  DESCENT_CHECK(o.fisher == KfacFisher::empirical || loss == nn::Loss::softmax_cross_entropy ||
                    loss == nn::Loss::mean_squared_error,
                InputError,
                "Kfac: the sampled Fisher needs a likelihood to sample from (softmax_cross_entropy or "
                "mean_squared_error), the loss is {}; use KfacFisher::empirical",
                nn::loss_name(loss));
  DESCENT_CHECK(model.input_shape().rank() == 1, InputError,
                "Kfac: the model must take flat inputs (an MLP), its input shape is {}", model.input_shape());
  const auto& info = model.parameters_info();
  bool after_linear = false;
  for (size_t l = 0; l < model.layers().size(); ++l) {
    const nn::Layer* layer = model.layers()[l].get();
    if (const auto* linear = dynamic_cast<const nn::Linear*>(layer)) {
      LayerSlot s;
      s.model_layer = l;
      s.in = linear->in_features();
      s.out = linear->out_features();
      size_t p = 0;
      while (p < info.size() && info[p].layer != static_cast<int>(l)) ++p;
      s.weight_offset = info[p].offset;
      s.weight_scale = linear->weight_scale();
      if (linear->has_bias()) {
        s.bias_offset = info[p + 1].offset;
        s.bias_scale = linear->bias_scale();
      }
      layers_.push_back(s);
      after_linear = true;
    } else if (dynamic_cast<const nn::ActivationLayer*>(layer) && after_linear) {
      after_linear = false;  // at most one activation per Linear layer
    } else {
      fail<InputError>("Kfac: layer {} ({}) is not supported: K-FAC here handles chains of Linear layers, each "
                       "followed by at most one activation",
                       l, layer->describe());
    }
  }
  DESCENT_CHECK(!layers_.empty(), InputError, "Kfac: the model has no Linear layer");
  a_.resize(layers_.size());
  g_.resize(layers_.size());
  a_chol_.resize(layers_.size());
  g_chol_.resize(layers_.size());
  pi_.assign(layers_.size(), 1.0);
}

void Kfac::batch_factors(const Tensor& inputs, const Tensor& targets, std::vector<MatrixXd>& a,
                         std::vector<MatrixXd>& g, Tensor* gradient, double* loss) {
  DESCENT_CHECK(inputs.rank() == 2 && inputs.dim(1) == model_.input_shape()[0] && inputs.dim(0) >= 1, ShapeError,
                "Kfac: inputs must be [B >= 1, {}], got {}", model_.input_shape()[0], inputs.shape());
  DESCENT_CHECK(inputs.dtype() == model_.dtype(), ShapeError, "Kfac: inputs are {}, the model is {}",
                dtype_name(inputs.dtype()), dtype_name(model_.dtype()));
  const int64_t b = inputs.dim(0);
  std::vector<Var> params;
  for (const Tensor& t : model_.parameter_views(model_.parameters())) params.emplace_back(t, true);
  nn::ForwardContext ctx{false, nullptr};
  std::vector<Var> outs;
  const Var outputs = model_.forward(Var(inputs), params, ctx, &outs);
  VarList pre_activations;
  for (const auto& s : layers_) pre_activations.push_back(outs[s.model_layer]);
  // The sum of per-example losses, so that δ_i = ∂ℓ_i/∂z_i row by row (ℓ_i depends on row i only).
  const Var total = sum(nn::per_example_loss(loss_, outputs, targets));
  const VarList deltas = grad(total, pre_activations);
  VarList fisher_deltas = deltas;
  if (opt_.fisher == KfacFisher::sampled) {
    const Tensor sampled = sample_targets(loss_, outputs.value(), targets, rng_);
    fisher_deltas = grad(sum(nn::per_example_loss(loss_, outputs, sampled)), pre_activations);
  }
  if (loss) *loss = total.value().item() / static_cast<double>(b);
  a.resize(layers_.size());
  g.resize(layers_.size());
  if (gradient) *gradient = Tensor::empty({model_.num_parameters()}, model_.dtype());
  for (size_t j = 0; j < layers_.size(); ++j) {
    const auto& s = layers_[j];
    const bool bias = s.bias_offset >= 0;
    // ā = (s_w a, s_b): the Linear layer's input, augmented for the bias.
    MatrixXd abar(b, s.in + (bias ? 1 : 0));
    abar.leftCols(s.in) = s.weight_scale * to_matrix(s.model_layer == 0 ? inputs : outs[s.model_layer - 1].value());
    if (bias) abar.col(s.in).setConstant(s.bias_scale);
    a[j] = gram(abar);
    g[j] = gram(to_matrix(fisher_deltas[j].value()));
    if (gradient) {
      // ∇W̄ of the mean loss = (1/B) Σ_i δ_i ā_iᵀ: ∇W = s_w δᵀa / B, ∇b = s_b Σ_i δ_i / B.
      const RowMatrix gw = to_matrix(deltas[j].value()).transpose() * abar / static_cast<double>(b);
      dispatch_floating(model_.dtype(), "Kfac", [&](auto tag) {
        using T = decltype(tag);
        T* out = gradient->data<T>();
        for (int64_t o = 0; o < s.out; ++o) {
          for (int64_t i = 0; i < s.in; ++i) out[s.weight_offset + o * s.in + i] = static_cast<T>(gw(o, i));
          if (bias) out[s.bias_offset + o] = static_cast<T>(gw(o, s.in));
        }
        return 0;
      });
    }
  }
}

void Kfac::refresh_inverses() {
  DESCENT_CHECK(steps_ > 0 || a_[0].size() > 0, InputError, "Kfac: no factors yet (take a step first)");
  const double root = std::sqrt(opt_.damping);
  for (size_t j = 0; j < layers_.size(); ++j) {
    const double ta = a_[j].trace() / static_cast<double>(a_[j].rows());
    const double tg = g_[j].trace() / static_cast<double>(g_[j].rows());
    // M&G eq. (§6.3): π = √((tr A / dim A) / (tr G / dim G)) balances the damping between the factors.
    pi_[j] = ta > 0.0 && tg > 0.0 ? std::sqrt(ta / tg) : 1.0;
    MatrixXd ad = a_[j], gd = g_[j];
    ad.diagonal().array() += pi_[j] * root;
    gd.diagonal().array() += root / pi_[j];
    // Cholesky factors instead of explicit inverses: n³/3 flops to refresh, and applying them
    // costs what a product with the inverse would.
    a_chol_[j].compute(ad);
    g_chol_[j].compute(gd);
    DESCENT_CHECK(a_chol_[j].info() == Eigen::Success && g_chol_[j].info() == Eigen::Success, NonFiniteError,
                  "Kfac: the damped factors of layer {} are not positive definite (non-finite activations?)", j);
  }
}

Tensor Kfac::precondition(const Tensor& gradient) const {
  DESCENT_CHECK(gradient.numel() == model_.num_parameters(), ShapeError,
                "Kfac::precondition: the gradient has {} elements, the model {} parameters", gradient.numel(),
                model_.num_parameters());
  DESCENT_CHECK(a_chol_[0].rows() > 0, InputError, "Kfac::precondition: no inverses yet (take a step first)");
  Tensor out = gradient.clone().flatten();
  const Tensor gd = gradient.astype(DType::f64);
  const double* gp = gd.data<double>();
  for (size_t j = 0; j < layers_.size(); ++j) {
    const auto& s = layers_[j];
    const bool bias = s.bias_offset >= 0;
    MatrixXd gbar(s.out, s.in + (bias ? 1 : 0));
    for (int64_t o = 0; o < s.out; ++o) {
      for (int64_t i = 0; i < s.in; ++i) gbar(o, i) = gp[s.weight_offset + o * s.in + i];
      if (bias) gbar(o, s.in) = gp[s.bias_offset + o];
    }
    // (A_d ⊗ G_d)⁻¹ vec(∇W̄) = vec(G_d⁻¹ ∇W̄ A_d⁻¹).
    const MatrixXd u = a_chol_[j].solve(g_chol_[j].solve(gbar).transpose()).transpose();  // A_d, G_d symmetric
    dispatch_floating(out.dtype(), "Kfac", [&](auto tag) {
      using T = decltype(tag);
      T* op = out.data<T>();
      for (int64_t o = 0; o < s.out; ++o) {
        for (int64_t i = 0; i < s.in; ++i) op[s.weight_offset + o * s.in + i] = static_cast<T>(u(o, i));
        if (bias) op[s.bias_offset + o] = static_cast<T>(u(o, s.in));
      }
      return 0;
    });
  }
  return out;
}

double Kfac::step(const Tensor& inputs, const Tensor& targets) {
  std::vector<MatrixXd> a, g;
  Tensor gradient;
  double loss = 0.0;
  batch_factors(inputs, targets, a, g, &gradient, &loss);
  const double eps = steps_ == 0 ? 0.0 : opt_.running_average;
  for (size_t j = 0; j < layers_.size(); ++j) {
    a_[j] = steps_ == 0 ? a[j] : MatrixXd(eps * a_[j] + (1.0 - eps) * a[j]);
    g_[j] = steps_ == 0 ? g[j] : MatrixXd(eps * g_[j] + (1.0 - eps) * g[j]);
  }
  if (steps_ % opt_.inverse_every == 0) refresh_inverses();
  const Tensor direction = precondition(gradient);
  Tensor& theta = model_.parameters();
  if (opt_.momentum > 0.0) {
    if (!velocity_.defined()) velocity_ = Tensor::zeros(theta.shape(), theta.dtype());
    scale_inplace(velocity_, opt_.momentum);
    axpy(velocity_, 1.0, direction);
    axpy(theta, -opt_.learning_rate, velocity_);
  } else {
    axpy(theta, -opt_.learning_rate, direction);
  }
  ++steps_;
  return loss;
}

}  // namespace descent::train
