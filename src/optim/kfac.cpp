#include "descent/optim/kfac.hpp"

#include <algorithm>
#include <cmath>

#include <Eigen/Dense>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"

namespace descent::optim {

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

}  // namespace

Kfac::Kfac(std::shared_ptr<OutputMap> map, Tensor& theta, const KfacOptions& o)
    : map_(std::move(map)), theta_(&theta), opt_(o), rng_(o.seed) {
  DESCENT_CHECK(map_ != nullptr, InputError, "Kfac: no model (output map) given");
  DESCENT_CHECK(std::isfinite(o.learning_rate) && o.learning_rate > 0.0, InputError,
                "Kfac: learning_rate must be a finite number > 0, got {}", o.learning_rate);
  DESCENT_CHECK(std::isfinite(o.damping) && o.damping > 0.0, InputError,
                "Kfac: damping must be a finite number > 0, got {}", o.damping);
  DESCENT_CHECK(o.running_average >= 0.0 && o.running_average < 1.0, InputError,
                "Kfac: running_average must lie in [0, 1), got {}", o.running_average);
  DESCENT_CHECK(o.inverse_every >= 1, InputError, "Kfac: inverse_every must be >= 1, got {}", o.inverse_every);
  DESCENT_CHECK(o.momentum >= 0.0 && o.momentum < 1.0, InputError, "Kfac: momentum must lie in [0, 1), got {}",
                o.momentum);
  DESCENT_CHECK(o.fisher == KfacFisher::empirical || map_->can_sample_targets(), InputError,
                "Kfac: the sampled Fisher needs a likelihood to sample from (softmax_cross_entropy or "
                "mean_squared_error), the loss is {}; use KfacFisher::empirical",
                map_->loss_name());
  DESCENT_CHECK(map_->input_shape().rank() == 1, InputError,
                "Kfac: the model must take flat inputs (an MLP), its input shape is {}", map_->input_shape());
  DESCENT_CHECK(map_->dense_layers_cover_parameters(), InputError,
                "Kfac: K-FAC here handles models whose dense (Linear) layers hold every parameter; {} does not",
                map_->describe());
  DESCENT_CHECK(theta.numel() == map_->dimension() && theta.dtype() == map_->dtype(), ShapeError,
                "Kfac: θ is {} {}, the model has {} {} parameters", theta.numel(), dtype_name(theta.dtype()),
                map_->dimension(), dtype_name(map_->dtype()));
  layers_ = map_->dense_layers();
  a_.resize(layers_.size());
  g_.resize(layers_.size());
  a_chol_.resize(layers_.size());
  g_chol_.resize(layers_.size());
  pi_.assign(layers_.size(), 1.0);
}

void Kfac::batch_factors(const Tensor& inputs, const Tensor& targets, std::vector<MatrixXd>& a,
                         std::vector<MatrixXd>& g, Tensor* gradient, double* loss) {
  const int64_t in = map_->input_shape()[0];
  DESCENT_CHECK(inputs.rank() == 2 && inputs.dim(1) == in && inputs.dim(0) >= 1, ShapeError,
                "Kfac: inputs must be [B >= 1, {}], got {}", in, inputs.shape());
  DESCENT_CHECK(inputs.dtype() == map_->dtype(), ShapeError, "Kfac: inputs are {}, the model is {}",
                dtype_name(inputs.dtype()), dtype_name(map_->dtype()));
  const int64_t b = inputs.dim(0);
  // One forward pass; the backward passes of ∂ℓ/∂z with the data's targets (the gradient) and,
  // for the true Fisher, with targets sampled from the model's predictive distribution. Row i
  // of either cotangent is example i's own ∂ℓ_i/∂z_i, so δ_i row by row.
  const bool sampled = opt_.fisher == KfacFisher::sampled;
  Tensor z_loss;
  const DenseActivity act = map_->dense_activity(*theta_, inputs, [&](const Tensor& z) {
    z_loss = map_->loss_values(z, targets);
    std::vector<Tensor> c{map_->loss_gradient(z, targets)};
    if (sampled) c.push_back(map_->loss_gradient(z, map_->sample_targets(z, targets, rng_)));
    return c;
  });
  const std::vector<Tensor>& deltas = act.signals[0];
  const std::vector<Tensor>& fisher_deltas = act.signals[sampled ? 1 : 0];
  if (loss) *loss = sum_all(z_loss) / static_cast<double>(b);
  a.resize(layers_.size());
  g.resize(layers_.size());
  if (gradient) *gradient = Tensor::empty({map_->dimension()}, map_->dtype());
  for (size_t j = 0; j < layers_.size(); ++j) {
    const auto& s = layers_[j];
    const bool bias = s.bias_offset >= 0;
    // ā = (s_w a, s_b): the Linear layer's input, augmented for the bias.
    MatrixXd abar(b, s.in + (bias ? 1 : 0));
    abar.leftCols(s.in) = s.weight_scale * to_matrix(act.inputs[j]);
    if (bias) abar.col(s.in).setConstant(s.bias_scale);
    a[j] = gram(abar);
    g[j] = gram(to_matrix(fisher_deltas[j]));
    if (gradient) {
      // ∇W̄ of the mean loss = (1/B) Σ_i δ_i ā_iᵀ: ∇W = s_w δᵀa / B, ∇b = s_b Σ_i δ_i / B.
      const RowMatrix gw = to_matrix(deltas[j]).transpose() * abar / static_cast<double>(b);
      dispatch_floating(map_->dtype(), "Kfac", [&](auto tag) {
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
  DESCENT_CHECK(gradient.numel() == map_->dimension(), ShapeError,
                "Kfac::precondition: the gradient has {} elements, the model {} parameters", gradient.numel(),
                map_->dimension());
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
  Tensor& theta = *theta_;
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

}  // namespace descent::optim
