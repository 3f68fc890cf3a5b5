#include "descent/probe/gradient_noise.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "descent/core/ops.hpp"

namespace descent::probe {

GradientCovarianceOperator::GradientCovarianceOperator(Objective& objective, const Tensor& theta,
                                                       std::vector<int64_t> indices, size_t memory_cap_bytes,
                                                       Kind kind)
    : objective_(&objective), theta_(theta.clone()), indices_(std::move(indices)), kind_(kind) {
  const int64_t p = objective.dimension();
  DESCENT_CHECK(theta.numel() == p && is_floating(theta.dtype()), ShapeError,
                "gradient covariance: θ must be a float vector of {} elements, got {} {}", p,
                dtype_name(theta.dtype()), theta.shape());
  if (indices_.empty()) {
    const int64_t n = objective.num_examples();
    DESCENT_CHECK(n > 0, InputError,
                  "gradient covariance: the objective is not a finite sum (num_examples() = 0), so it has no "
                  "per-example gradients");
    indices_.resize(n);
    std::iota(indices_.begin(), indices_.end(), int64_t{0});
  }
  const int64_t n = num_examples();
  const size_t row_bytes = size_t(p) * dtype_size(theta.dtype());
  DESCENT_CHECK(memory_cap_bytes >= row_bytes, InputError,
                "gradient covariance: a memory cap of {} bytes cannot hold one gradient of {} parameters ({} bytes); "
                "raise the cap",
                memory_cap_bytes, p, row_bytes);
  chunk_rows_ = std::min<int64_t>(n, int64_t(memory_cap_bytes / row_bytes));
  cached_ = chunk_rows_ == n;
  chunk_ = Tensor::empty({chunk_rows_, p}, theta.dtype());
  coefficients_ = Tensor::empty({chunk_rows_, 1}, theta.dtype());
  mean_ = Tensor::zeros({p}, theta.dtype());

  // One pass: ḡ and Σ‖g_i‖² (accumulated in float64).
  double sum_squares = 0.0;
  for (int64_t first = 0; first < n; first += chunk_rows_) {
    const int64_t b = std::min(chunk_rows_, n - first);
    Tensor rows = chunk_.rows(0, b);
    objective.per_example_gradients(theta_, std::span<const int64_t>(indices_).subspan(first, b), rows);
    ++chunks_computed_;
    for (int64_t i = 0; i < b; ++i) {
      const Tensor gi = rows.row(i);
      axpy(mean_, 1.0 / double(n), gi);
      const double g = norm(gi);
      sum_squares += g * g;
    }
  }
  const double mean_norm = norm(mean_);
  trace_ = kind_ == Kind::empirical_fisher ? sum_squares / double(n)
                                          : std::max(0.0, sum_squares / double(n) - mean_norm * mean_norm);
  if (cached_ && kind_ == Kind::noise_covariance)
    for (int64_t i = 0; i < n; ++i) {
      Tensor gi = chunk_.row(i);
      axpy(gi, -1.0, mean_);
    }
}

Tensor GradientCovarianceOperator::load_chunk(int64_t first, int64_t b) {
  Tensor rows = chunk_.rows(0, b);
  if (cached_) return rows;
  objective_->per_example_gradients(theta_, std::span<const int64_t>(indices_).subspan(first, b), rows);
  ++chunks_computed_;
  if (kind_ == Kind::noise_covariance)
    for (int64_t i = 0; i < b; ++i) {
      Tensor gi = rows.row(i);
      axpy(gi, -1.0, mean_);
    }
  return rows;
}

void GradientCovarianceOperator::apply(const Tensor& v, Tensor& out) {
  const int64_t p = dimension(), n = num_examples();
  DESCENT_CHECK(v.numel() == p && out.numel() == p && v.dtype() == dtype() && out.dtype() == dtype(), ShapeError,
                "{}: apply takes and writes {} {} values, got v {} and out {}", name(), p, dtype_name(dtype()),
                v.shape(), out.shape());
  out.fill(0.0);
  Tensor out_col = out.reshape({p, 1});
  const Tensor v_col = v.reshape({p, 1});
  for (int64_t first = 0; first < n; first += chunk_rows_) {
    const int64_t b = std::min(chunk_rows_, n - first);
    const Tensor c = load_chunk(first, b);
    Tensor coeff = coefficients_.rows(0, b);
    gemm_into(coeff, c, v_col, false, false);                  // C v
    gemm_into(out_col, c, coeff, true, false, 1.0 / double(n), 1.0);  // += Cᵀ (C v) / n
  }
}

std::string GradientCovarianceOperator::name() const {
  return fmt::format("{} ({} examples)",
                     kind_ == Kind::noise_covariance ? "gradient-noise covariance" : "empirical Fisher",
                     num_examples());
}

GradientCovarianceOperator gradient_noise_covariance_operator(Objective& objective, const Tensor& theta,
                                                              std::vector<int64_t> indices, size_t memory_cap_bytes) {
  return {objective, theta, std::move(indices), memory_cap_bytes, GradientCovarianceOperator::Kind::noise_covariance};
}

GradientCovarianceOperator empirical_fisher_operator(Objective& objective, const Tensor& theta,
                                                     std::vector<int64_t> indices, size_t memory_cap_bytes) {
  return {objective, theta, std::move(indices), memory_cap_bytes, GradientCovarianceOperator::Kind::empirical_fisher};
}

std::string NoiseCurvatureAlignment::summary() const {
  std::string s = fmt::format(
      "Tr(HΣ) = {:.6g} ± {:.2g}; Tr H = {:.6g} ± {:.2g}; Tr Σ = {:.6g}; isotropic Tr H·Tr Σ/P = {:.6g}; ratio {:.3g}\n",
      trace_hessian_noise.trace, trace_hessian_noise.standard_error, trace_hessian.trace,
      trace_hessian.standard_error, trace_noise, isotropic_reference, alignment_ratio);
  s += fmt::format("top-{} eigenspaces of H and Σ: mean squared cosine {:.4f}", hessian_top.pairs.size(),
                   top_eigenspaces.mean_squared_cosine);
  if (!hessian_top.converged || !noise_top.converged) s += " (eigenpairs NOT all converged)";
  return s;
}

NoiseCurvatureAlignment noise_curvature_alignment(LinearOperator& hessian, GradientCovarianceOperator& noise,
                                                  const NoiseCurvatureOptions& options) {
  NoiseCurvatureAlignment a;
  ProductOperator h_sigma(hessian, noise);
  a.trace_hessian_noise = hutch_plus_plus_trace(h_sigma, {options.trace_matvecs, options.seed});
  a.trace_hessian = hutch_plus_plus_trace(hessian, {options.trace_matvecs, options.seed + 1});
  a.trace_noise = noise.trace();
  a.isotropic_reference = a.trace_hessian.trace * a.trace_noise / double(hessian.dimension());
  a.alignment_ratio = a.trace_hessian_noise.trace / a.isotropic_reference;
  LanczosOptions lo = options.lanczos;
  lo.num_eigenpairs = options.top_k;
  lo.which = SpectrumEnd::largest;
  a.hessian_top = lanczos_eigenpairs(hessian, lo);
  a.noise_top = lanczos_eigenpairs(noise, lo);
  a.top_eigenspaces = subspace_alignment(eigenvectors(a.hessian_top), eigenvectors(a.noise_top));
  return a;
}

}  // namespace descent::probe
