#include "descent/probe/curvature_matrices.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"

namespace descent::probe {
namespace {

void ensure_rows(const Tensor& like, int64_t rows, Tensor& buffer) {
  Shape shape = like.shape();
  shape[0] = rows;
  if (!buffer.defined() || !(buffer.shape() == shape) || buffer.dtype() != like.dtype())
    buffer = Tensor::empty(shape, like.dtype());
}

}  // namespace

GaussNewtonOperator::GaussNewtonOperator(nn::ModelObjective& objective, const Tensor& theta,
                                         std::vector<int64_t> indices, int64_t chunk_size, Kind kind)
    : objective_(&objective), theta_(theta.clone()), indices_(std::move(indices)), chunk_size_(chunk_size),
      kind_(kind) {
  DESCENT_CHECK(theta.numel() == objective.dimension() && theta.dtype() == objective.dtype(), ShapeError,
                "{} operator: θ is {} {} but the model has {} {} parameters", name(), theta.numel(),
                dtype_name(theta.dtype()), objective.dimension(), dtype_name(objective.dtype()));
  DESCENT_CHECK(chunk_size > 0, InputError, "{} operator: chunk size must be positive, got {}", name(), chunk_size);
  const int64_t n = objective.num_examples();
  for (int64_t i : indices_)
    DESCENT_CHECK(0 <= i && i < n, InputError, "{} operator: example index {} outside [0, {})", name(), i, n);
  if (kind == Kind::fisher) {
    const nn::Loss loss = objective.loss();
    // Martens 2020 §9.2: the output-space Fisher equals the loss Hessian only for the
    // negative log-likelihood of an exponential family in its natural parameters.
    DESCENT_CHECK(loss == nn::Loss::softmax_cross_entropy || loss == nn::Loss::mean_squared_error ||
                      loss == nn::Loss::binary_logistic,
                  InputError,
                  "Fisher operator: the {} loss is not the negative log-likelihood of a model's predictive "
                  "distribution, so it has no Fisher matrix (use the Gauss-Newton or empirical Fisher instead)",
                  nn::loss_name(loss));
  }
}

int64_t GaussNewtonOperator::num_examples() const {
  return indices_.empty() ? objective_->num_examples() : int64_t(indices_.size());
}

void GaussNewtonOperator::accumulate(const Tensor& x, const Tensor& y, const Tensor& v, double weight, Tensor& out) {
  nn::Model& model = objective_->model();
  const std::vector<Tensor> primals = model.parameter_views(theta_);
  const std::vector<Tensor> tangents = model.parameter_views(v);
  const Function outputs = [&](const VarList& params) {
    nn::ForwardContext ctx{false, nullptr};
    return model.forward(Var(x), params, ctx);
  };
  // z and J v (forward mode).
  const auto [z, jv] = jvp(outputs, primals, tangents);
  // u = H (J v): H = ∂²/∂z² Σ_i ℓ(z_i, y_i) is block diagonal over examples, so one HVP in
  // output space applies every H_i; the loss's own autodiff rules give it (softmax-CE:
  // p ⊙ w − p (pᵀw) per row), one definition of each loss for every matrix.
  const Function total_loss = [&](const VarList& zs) { return sum(nn::per_example_loss(objective_->loss(), zs[0], y)); };
  std::vector<Tensor> u = hessian_vector_product(total_loss, {z}, {jv});
  scale_inplace(u[0], weight);
  // Jᵀ u (reverse mode).
  const auto [z_again, jtu] = vjp(outputs, primals, u[0]);
  const std::vector<Tensor> dst = model.parameter_views(out);
  for (size_t i = 0; i < dst.size(); ++i) {
    Tensor d = dst[i];
    axpy(d, 1.0, jtu[i]);
  }
}

void GaussNewtonOperator::apply(const Tensor& v, Tensor& out) {
  const int64_t p = dimension();
  DESCENT_CHECK(v.numel() == p && out.numel() == p && v.dtype() == dtype() && out.dtype() == dtype(), ShapeError,
                "{}: apply takes and writes {} {} values, got v {} {} and out {} {}", name(), p, dtype_name(dtype()),
                v.shape(), dtype_name(v.dtype()), out.shape(), dtype_name(out.dtype()));
  out.fill(0.0);
  const Tensor& inputs = objective_->inputs();
  const Tensor& targets = objective_->targets();
  const int64_t n = num_examples();
  const double weight = 1.0 / double(n);
  const Tensor flat_v = v.flatten();
  Tensor flat_out = out.flatten();
  for (int64_t begin = 0; begin < n; begin += chunk_size_) {
    const int64_t end = std::min(n, begin + chunk_size_);
    if (indices_.empty()) {
      accumulate(inputs.rows(begin, end), targets.rows(begin, end), flat_v, weight, flat_out);
      continue;
    }
    const std::span<const int64_t> chunk(indices_.data() + begin, size_t(end - begin));
    ensure_rows(inputs, end - begin, batch_x_);
    ensure_rows(targets, end - begin, batch_y_);
    gather_rows(inputs, chunk, batch_x_);
    gather_rows(targets, chunk, batch_y_);
    accumulate(batch_x_, batch_y_, flat_v, weight, flat_out);
  }
}

GaussNewtonOperator gauss_newton_operator(nn::ModelObjective& objective, const Tensor& theta,
                                          std::vector<int64_t> indices, int64_t chunk_size) {
  return {objective, theta, std::move(indices), chunk_size, GaussNewtonOperator::Kind::gauss_newton};
}

GaussNewtonOperator fisher_operator(nn::ModelObjective& objective, const Tensor& theta, std::vector<int64_t> indices,
                                    int64_t chunk_size) {
  return {objective, theta, std::move(indices), chunk_size, GaussNewtonOperator::Kind::fisher};
}

// ---- blocks ----
std::vector<ParameterBlock> layer_blocks(const nn::Model& model) {
  std::vector<ParameterBlock> blocks;
  const auto& info = model.parameters_info();
  for (size_t i = 0; i < info.size(); ++i) {
    const int layer = info[i].layer;
    if (!blocks.empty() && i > 0 && info[i - 1].layer == layer) {
      blocks.back().end = info[i].offset + info[i].numel();
      continue;
    }
    blocks.push_back({fmt::format("layer {} ({})", layer, model.layers()[size_t(layer)]->describe()), info[i].offset,
                      info[i].offset + info[i].numel()});
  }
  return blocks;
}

ParameterBlock find_block(const nn::Model& model, const std::string& spec) {
  const auto& info = model.parameters_info();
  std::string layers, tensors;
  for (const auto& p : info) {
    if (p.name == spec) return {p.name, p.offset, p.offset + p.numel()};
    tensors += (tensors.empty() ? "" : ", ") + p.name;
  }
  const std::vector<ParameterBlock> blocks = layer_blocks(model);
  for (const auto& b : blocks) {
    // The layer index is the name's number: "layer 2 (...)".
    const std::string index = b.name.substr(6, b.name.find(' ', 6) - 6);
    if (index == spec) return b;
    layers += (layers.empty() ? "" : ", ") + index;
  }
  fail<InputError>("block '{}': not a layer with parameters (choose from {}) nor a parameter tensor ({})", spec, layers,
                   tensors);
}

}  // namespace descent::probe
