#include "descent/probe/linear_operator.hpp"

#include <cmath>

#include <fmt/format.h>

#include "descent/core/ops.hpp"

namespace descent::probe {
namespace {

void check_vectors(const LinearOperator& op, const Tensor& v, const Tensor& out) {
  const int64_t p = op.dimension();
  DESCENT_CHECK(v.numel() == p && out.numel() == p, ShapeError,
                "{}: apply takes and writes {} elements, got v {} and out {}", op.name(), p, v.shape(), out.shape());
  DESCENT_CHECK(v.dtype() == op.dtype() && out.dtype() == op.dtype(), ShapeError,
                "{}: apply expects {} vectors, got v {} and out {}", op.name(), dtype_name(op.dtype()),
                dtype_name(v.dtype()), dtype_name(out.dtype()));
}

}  // namespace

// ---- Hessian ----
HessianOperator::HessianOperator(Objective& objective, const Tensor& theta)
    : objective_(&objective), theta_(theta.clone()) {
  DESCENT_CHECK(theta.numel() == objective.dimension(), ShapeError,
                "hessian_operator: θ has {} elements but the objective has {} parameters", theta.numel(),
                objective.dimension());
  DESCENT_CHECK(is_floating(theta.dtype()), ShapeError, "hessian_operator: θ must be float32 or float64, got {}",
                dtype_name(theta.dtype()));
}

void HessianOperator::apply(const Tensor& v, Tensor& out) {
  check_vectors(*this, v, out);
  objective_->hessian_vector_product(theta_, v, out);
}

std::string HessianOperator::name() const {
  return objective_->has_exact_hessian_vector_product() ? "Hessian" : "Hessian (finite-difference HVP)";
}

HessianOperator hessian_operator(Objective& objective, const Tensor& theta) { return {objective, theta}; }

// ---- block ----
BlockOperator::BlockOperator(LinearOperator& parent, int64_t begin, int64_t end, std::string block_name)
    : parent_(&parent), begin_(begin), end_(end), block_name_(std::move(block_name)) {
  DESCENT_CHECK(0 <= begin && begin < end && end <= parent.dimension(), ShapeError,
                "block_operator: block [{}, {}) is not a non-empty range of {}'s {} parameters", begin, end,
                parent.name(), parent.dimension());
  embedded_ = Tensor::zeros({parent.dimension()}, parent.dtype());
  parent_out_ = Tensor::empty({parent.dimension()}, parent.dtype());
}

void BlockOperator::apply(const Tensor& v, Tensor& out) {
  check_vectors(*this, v, out);
  // embedded_ is zero outside [begin, end) and stays so: only the block is written.
  Tensor inside = embedded_.view(begin_, {end_ - begin_});
  inside.copy_from(v.flatten());
  parent_->apply(embedded_, parent_out_);
  out.flatten().copy_from(parent_out_.view(begin_, {end_ - begin_}));
}

std::string BlockOperator::name() const {
  const std::string range = fmt::format("[{}, {})", begin_, end_);
  return fmt::format("{} block {}{}", parent_->name(), block_name_.empty() ? "" : block_name_ + " ", range);
}

BlockOperator block_operator(LinearOperator& parent, int64_t begin, int64_t end, std::string block_name) {
  return {parent, begin, end, std::move(block_name)};
}

// ---- product ----
ProductOperator::ProductOperator(LinearOperator& a, LinearOperator& b) : a_(&a), b_(&b) {
  DESCENT_CHECK(a.dimension() == b.dimension() && a.dtype() == b.dtype(), ShapeError,
                "product operator: {} ({} {}) and {} ({} {}) differ in dimension or dtype", a.name(), a.dimension(),
                dtype_name(a.dtype()), b.name(), b.dimension(), dtype_name(b.dtype()));
  bv_ = Tensor::empty({a.dimension()}, a.dtype());
}

void ProductOperator::apply(const Tensor& v, Tensor& out) {
  check_vectors(*this, v, out);
  b_->apply(v, bv_);
  a_->apply(bv_, out);
}

// ---- function ----
FunctionOperator::FunctionOperator(std::string name, int64_t dimension, Apply apply, DType dtype, bool symmetric)
    : name_(std::move(name)), dimension_(dimension), apply_(std::move(apply)), dtype_(dtype), symmetric_(symmetric) {
  DESCENT_CHECK(dimension > 0, ShapeError, "operator '{}': dimension must be positive, got {}", name_, dimension);
  DESCENT_CHECK(static_cast<bool>(apply_), InputError, "operator '{}': no product function given", name_);
}

FunctionOperator gauss_newton_operator(int64_t dimension, FunctionOperator::Apply product, DType dtype) {
  return {"Gauss-Newton", dimension, std::move(product), dtype, true};
}

// ---- dense matrix ----
MatrixOperator::MatrixOperator(Tensor matrix, std::string name) : matrix_(std::move(matrix)), name_(std::move(name)) {
  DESCENT_CHECK(matrix_.rank() == 2 && matrix_.dim(0) == matrix_.dim(1) && is_floating(matrix_.dtype()), ShapeError,
                "MatrixOperator '{}': expects a square float matrix, got {} {}", name_, dtype_name(matrix_.dtype()),
                matrix_.shape());
  const int64_t p = matrix_.dim(0);
  symmetric_ = true;
  for (int64_t i = 0; i < p && symmetric_; ++i)
    for (int64_t j = 0; j < i; ++j) {
      const double a = matrix_.at(i * p + j), b = matrix_.at(j * p + i);
      if (std::abs(a - b) > 1e-12 * std::max({1.0, std::abs(a), std::abs(b)})) {
        symmetric_ = false;
        break;
      }
    }
}

void MatrixOperator::apply(const Tensor& v, Tensor& out) {
  check_vectors(*this, v, out);
  Tensor out2 = out.reshape({dimension(), 1});
  gemm_into(out2, matrix_, v.reshape({dimension(), 1}), false, false);
}

Tensor dense_matrix(LinearOperator& op, int64_t max_dimension) {
  const int64_t p = op.dimension();
  DESCENT_CHECK(p <= max_dimension, InputError,
                "dense_matrix: {} has dimension {} > {}: a dense P×P matrix would take {:.1f} GB; use the "
                "matrix-free estimators (lanczos_eigenpairs, hutch_plus_plus, spectral_density) or raise "
                "max_dimension",
                op.name(), p, max_dimension, double(p) * double(p) * 8 / 1e9);
  Tensor a = Tensor::empty({p, p}, DType::f64);
  Tensor e = Tensor::zeros({p}, op.dtype()), col = Tensor::empty({p}, op.dtype());
  for (int64_t j = 0; j < p; ++j) {
    e.set(j, 1.0);
    op.apply(e, col);
    e.set(j, 0.0);
    for (int64_t i = 0; i < p; ++i) a.set(i * p + j, col.at(i));
  }
  return a;
}

}  // namespace descent::probe
