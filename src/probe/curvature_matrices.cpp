#include "descent/probe/curvature_matrices.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/nn/output_map.hpp"

namespace descent::probe {
namespace {

void ensure_rows(const Tensor& like, int64_t rows, Tensor& buffer) {
  Shape shape = like.shape();
  shape[0] = rows;
  if (!buffer.defined() || !(buffer.shape() == shape) || buffer.dtype() != like.dtype())
    buffer = Tensor::empty(shape, like.dtype());
}

}  // namespace

GaussNewtonOperator::GaussNewtonOperator(OutputMap& map, Tensor inputs, Tensor targets, const Tensor& theta,
                                         std::vector<int64_t> indices, int64_t chunk_size, Kind kind)
    : map_(&map), inputs_(std::move(inputs)), targets_(std::move(targets)), theta_(theta.clone()),
      indices_(std::move(indices)), chunk_size_(chunk_size), kind_(kind) {
  validate(theta);
}

GaussNewtonOperator::GaussNewtonOperator(nn::ModelObjective& objective, const Tensor& theta,
                                         std::vector<int64_t> indices, int64_t chunk_size, Kind kind)
    : owned_(nn::output_map(objective.model(), objective.loss())), map_(owned_.get()), inputs_(objective.inputs()),
      targets_(objective.targets()), theta_(theta.clone()), indices_(std::move(indices)), chunk_size_(chunk_size),
      kind_(kind) {
  validate(theta);
}

void GaussNewtonOperator::validate(const Tensor& theta) const {
  DESCENT_CHECK(theta.numel() == map_->dimension() && theta.dtype() == map_->dtype(), ShapeError,
                "{} operator: θ is {} {} but the model has {} {} parameters", name(), theta.numel(),
                dtype_name(theta.dtype()), map_->dimension(), dtype_name(map_->dtype()));
  DESCENT_CHECK(chunk_size_ > 0, InputError, "{} operator: chunk size must be positive, got {}", name(), chunk_size_);
  DESCENT_CHECK(inputs_.defined() && targets_.defined() && inputs_.dim(0) == targets_.dim(0), ShapeError,
                "{} operator: inputs and targets must have one row per example", name());
  const int64_t n = inputs_.dim(0);
  for (int64_t i : indices_)
    DESCENT_CHECK(0 <= i && i < n, InputError, "{} operator: example index {} outside [0, {})", name(), i, n);
  // Martens 2020 §9.2: the output-space Fisher equals the loss Hessian only for the
  // negative log-likelihood of an exponential family in its natural parameters.
  DESCENT_CHECK(kind_ == Kind::gauss_newton || map_->loss_is_natural_likelihood(), InputError,
                "Fisher operator: the {} loss is not the negative log-likelihood of a model's predictive "
                "distribution, so it has no Fisher matrix (use the Gauss-Newton or empirical Fisher instead)",
                map_->loss_name());
}

int64_t GaussNewtonOperator::num_examples() const {
  return indices_.empty() ? inputs_.dim(0) : int64_t(indices_.size());
}

void GaussNewtonOperator::accumulate(const Tensor& x, const Tensor& y, const Tensor& v, double weight, Tensor& out) {
  // z and J v (forward mode); u = H (J v), each example's H_i in output space; Jᵀ u (reverse
  // mode). No Jacobian and no P×P matrix is formed.
  const auto [z, jv] = map_->jvp(theta_, x, v);
  Tensor u = map_->loss_hessian_product(z, y, jv);
  scale_inplace(u, weight);
  axpy(out, 1.0, map_->vjp(theta_, x, u));
}

void GaussNewtonOperator::apply(const Tensor& v, Tensor& out) {
  const int64_t p = dimension();
  DESCENT_CHECK(v.numel() == p && out.numel() == p && v.dtype() == dtype() && out.dtype() == dtype(), ShapeError,
                "{}: apply takes and writes {} {} values, got v {} {} and out {} {}", name(), p, dtype_name(dtype()),
                v.shape(), dtype_name(v.dtype()), out.shape(), dtype_name(out.dtype()));
  out.fill(0.0);
  const Tensor& inputs = inputs_;
  const Tensor& targets = targets_;
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

GaussNewtonOperator gauss_newton_operator(OutputMap& map, const Tensor& inputs, const Tensor& targets,
                                          const Tensor& theta, std::vector<int64_t> indices, int64_t chunk_size) {
  return {map, inputs, targets, theta, std::move(indices), chunk_size, GaussNewtonOperator::Kind::gauss_newton};
}

GaussNewtonOperator fisher_operator(OutputMap& map, const Tensor& inputs, const Tensor& targets, const Tensor& theta,
                                    std::vector<int64_t> indices, int64_t chunk_size) {
  return {map, inputs, targets, theta, std::move(indices), chunk_size, GaussNewtonOperator::Kind::fisher};
}

// ---- blocks ----
std::vector<ParameterBlock> layer_blocks(const ParameterLayout& layout) {
  std::vector<ParameterBlock> blocks;
  for (const LayoutGroup& g : layout.groups())
    blocks.push_back({fmt::format("layer {} ({})", g.name, g.description), g.begin, g.end});
  return blocks;
}

std::vector<ParameterBlock> layer_blocks(const nn::Model& model) { return layer_blocks(model.layout()); }

ParameterBlock find_block(const ParameterLayout& layout, const std::string& spec) {
  std::string groups, tensors;
  for (const LayoutBlock& b : layout.blocks()) {
    if (b.name == spec) return {b.name, b.offset, b.end()};
    tensors += (tensors.empty() ? "" : ", ") + b.name;
  }
  for (const LayoutGroup& g : layout.groups()) {
    if (g.name == spec) return {fmt::format("layer {} ({})", g.name, g.description), g.begin, g.end};
    groups += (groups.empty() ? "" : ", ") + g.name;
  }
  fail<InputError>("block '{}': not a layer with parameters (choose from {}) nor a parameter tensor ({})", spec, groups,
                   tensors);
}

ParameterBlock find_block(const nn::Model& model, const std::string& spec) { return find_block(model.layout(), spec); }

}  // namespace descent::probe
