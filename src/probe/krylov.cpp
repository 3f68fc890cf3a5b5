#include "krylov.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "descent/core/ops.hpp"

namespace descent::probe::detail {
namespace {

template <class From, class To>
void convert(const Tensor& from, Tensor& to) {
  const From* src = from.data<From>();
  To* dst = to.data<To>();
  const int64_t n = from.numel();
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<To>(src[i]);
}

// Columns of the basis updated per block during a thick restart: bounds the scratch to
// l × 4096 doubles whatever P is.
constexpr int64_t kRestartColumnBlock = 4096;

constexpr double kReorthogonalizationRatio = 0.70710678118654752;  // 1/√2

}  // namespace

Products::Products(LinearOperator& op) : op_(&op) {
  DESCENT_CHECK(op.dtype() == DType::f32 || op.dtype() == DType::f64, ShapeError,
                "{}: operators must be float32 or float64, got {}", op.name(), dtype_name(op.dtype()));
  if (op.dtype() == DType::f32) {
    x_cast_ = Tensor::empty({op.dimension()}, DType::f32);
    y_cast_ = Tensor::empty({op.dimension()}, DType::f32);
  }
}

void Products::apply(const Tensor& x, Tensor& y) {
  ++count_;
  if (op_->dtype() == DType::f64) return op_->apply(x, y);
  convert<double, float>(x, x_cast_);
  op_->apply(x_cast_, y_cast_);
  convert<float, double>(y_cast_, y);
}

void fill_rademacher(Rng& rng, Tensor& v) {
  double* x = v.data<double>();
  const int64_t n = v.numel();
  for (int64_t i = 0; i < n; ++i) x[i] = (rng.next_u64() >> 63) ? 1.0 : -1.0;
}

LanczosBasis::LanczosBasis(Products& products, int capacity)
    : products_(&products), capacity_(capacity), p_(products.op().dimension()) {
  DESCENT_CHECK(capacity >= 1, InputError, "Lanczos basis: capacity must be at least 1, got {}", capacity);
  // Rows are written before they are read; empty() leaves unused rows untouched (first-touch
  // memory is slow, and a basis for P = 270k parameters takes 2 MB per row).
  basis_ = Tensor::empty({capacity + 1, p_}, DType::f64);
  w_ = Tensor::empty({p_}, DType::f64);
  t_ = Eigen::MatrixXd::Zero(capacity + 1, capacity + 1);
}

void LanczosBasis::start(const Tensor& start) {
  const double n = norm(start);
  DESCENT_CHECK(n > 0 && std::isfinite(n), InputError, "Lanczos: the start vector must be non-zero and finite");
  Tensor v0 = basis_.row(0);
  v0.copy_from(start.dtype() == DType::f64 ? start.flatten() : start.flatten().astype(DType::f64));
  scale_inplace(v0, 1.0 / n);
  t_.setZero();
  size_ = 0;
  last_beta_ = 0.0;
  last_breakdown_ = false;
}

void LanczosBasis::orthogonalize(Tensor& w, int rows, Eigen::VectorXd& h) {
  h = Eigen::VectorXd::Zero(rows);
  Eigen::VectorXd pass(rows);
  const double* v = basis_.data<double>();
  double* x = w.data<double>();
  double before = norm(w);
  for (int round = 0; round < 2; ++round) {
    cblas_dgemv(CblasRowMajor, CblasNoTrans, rows, int(p_), 1.0, v, int(p_), x, 1, 0.0, pass.data(), 1);
    cblas_dgemv(CblasRowMajor, CblasTrans, rows, int(p_), -1.0, v, int(p_), pass.data(), 1, 1.0, x, 1);
    h += pass;
    // Daniel–Gragg–Kaufman–Stewart (1976): a second pass only when this one cancelled more
    // than 1 − 1/√2 of w (then rounding may have left components along the basis); CGS2
    // ("twice is enough") otherwise. Each pass reads the whole basis twice.
    const double after = norm(w);
    if (after >= kReorthogonalizationRatio * before) break;
    before = after;
  }
}

double LanczosBasis::extend(Rng& rng) {
  const int j = size_;
  DESCENT_CHECK(j < capacity_, InputError, "Lanczos basis: capacity {} reached; restart first", capacity_);
  Tensor vj = basis_.row(j);
  products_->apply(vj, w_);
  const double norm_before = norm(w_);
  // The three-term recurrence first (α_j = v_jᵀ A v_j, and β_{j−1} v_{j−1}): it removes the
  // large components cheaply, so the full pass below rarely needs its DGKS repetition.
  const double alpha = dot(vj, w_);
  axpy(w_, -alpha, vj);
  const double beta_prev = j > 0 ? t_(j, j - 1) : 0.0;
  if (j > 0) axpy(w_, -beta_prev, basis_.row(j - 1));
  Eigen::VectorXd h;
  orthogonalize(w_, j + 1, h);
  h(j) += alpha;
  if (j > 0) h(j - 1) += beta_prev;
  double beta = norm(w_);
  for (int i = 0; i <= j; ++i) t_(i, j) = t_(j, i) = h(i);
  Tensor next = basis_.row(j + 1);
  // Invariant subspace: what is left of A v_j is rounding (‖A v_j‖·ε·√j).
  last_breakdown_ = !(beta > 1e-12 * norm_before) || beta == 0.0;
  if (last_breakdown_) {
    beta = 0.0;
    if (j + 1 < p_) {
      // Continue in the orthogonal complement so that other eigenspaces can still be found.
      for (int attempt = 0; attempt < 3; ++attempt) {
        rng.fill_normal(w_);
        orthogonalize(w_, j + 1, h);
        const double n = norm(w_);
        if (n > 1e-8 * std::sqrt(double(p_))) {
          scale_inplace(w_, 1.0 / n);
          break;
        }
      }
      next.copy_from(w_);
    } else {
      next.fill(0.0);
    }
  } else {
    next.copy_from(w_);
    scale_inplace(next, 1.0 / beta);
  }
  t_(j + 1, j) = t_(j, j + 1) = beta;
  last_beta_ = beta;
  size_ = j + 1;
  return beta;
}

void LanczosBasis::combine(const Eigen::VectorXd& y, Tensor& x) const {
  DESCENT_CHECK(y.size() == size_, ShapeError, "Lanczos: combination of {} coefficients for {} vectors", y.size(),
                size_);
  cblas_dgemv(CblasRowMajor, CblasTrans, size_, int(p_), 1.0, basis_.data<double>(), int(p_), y.data(), 1, 0.0,
              x.data<double>(), 1);
}

void LanczosBasis::restart(const Eigen::MatrixXd& y, const Eigen::VectorXd& theta) {
  const int m = size_, l = int(y.cols());
  DESCENT_CHECK(y.rows() == m && l < m && theta.size() == l, ShapeError,
                "Lanczos restart: {} Ritz vectors of length {} for a basis of {}", l, y.rows(), m);
  // V[0:l] ← Yᵀ V[0:m], a block of columns at a time (the rows being overwritten are read first
  // within each block, so a l × block scratch suffices).
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> yt_row = y.transpose();  // l × m
  double* v = basis_.data<double>();
  std::vector<double> scratch(size_t(l) * size_t(std::min<int64_t>(kRestartColumnBlock, p_)));
  for (int64_t c0 = 0; c0 < p_; c0 += kRestartColumnBlock) {
    const int64_t cw = std::min<int64_t>(kRestartColumnBlock, p_ - c0);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, l, int(cw), m, 1.0, yt_row.data(), m, v + c0, int(p_),
                0.0, scratch.data(), int(cw));
    for (int i = 0; i < l; ++i) std::copy_n(scratch.data() + size_t(i) * cw, cw, v + size_t(i) * p_ + c0);
  }
  // The residual direction v_m becomes v_l.
  std::copy_n(v + size_t(m) * p_, p_, v + size_t(l) * p_);
  const double beta = last_beta_;
  t_.setZero();
  for (int i = 0; i < l; ++i) {
    t_(i, i) = theta(i);
    t_(i, l) = t_(l, i) = beta * y(m - 1, i);
  }
  size_ = l;
}

}  // namespace descent::probe::detail
