#pragma once
// Shared machinery of the Krylov instruments (private to probe/): float64 products with any
// LinearOperator, and a Lanczos basis with full reorthogonalization used by both the
// eigensolver (curvature.cpp) and stochastic Lanczos quadrature (spectral_density.cpp).
#include <cstdint>
#include <string>

#include <Eigen/Dense>

#include "descent/core/rng.hpp"
#include "descent/probe/linear_operator.hpp"

namespace descent::probe::detail {

// Products y = A x on float64 vectors whatever the operator's dtype (float32 operators get
// converted copies in reused buffers), counting every product.
class Products {
 public:
  explicit Products(LinearOperator& op);
  // x, y: float64 1-D tensors of op.dimension() elements (views are fine).
  void apply(const Tensor& x, Tensor& y);
  int64_t count() const { return count_; }
  LinearOperator& op() { return *op_; }

 private:
  LinearOperator* op_;
  int64_t count_ = 0;
  Tensor x_cast_, y_cast_;
};

void fill_rademacher(Rng& rng, Tensor& v);  // entries ±1 (float64)

// V = [v_0 … v_{m-1}] (rows of a [capacity+1, P] float64 tensor) with orthonormal rows and
// the projected matrix T = Vᵀ A V, built one product at a time:
//   A v_j = Σ_{i≤j} h_i v_i + β_j v_{j+1},   h = Vᵀ A v_j by classical Gram–Schmidt twice
// (CGS2, "twice is enough": Giraud et al. 2005), so the columns stay orthogonal to working
// precision and T's Ritz pairs obey A V y − θ V y = β_{m-1} v_m (e_{m-1}ᵀ y) (Paige's relation
// for full reorthogonalization; the Ritz residual is β |y_{m-1}|).
class LanczosBasis {
 public:
  LanczosBasis(Products& products, int capacity);
  // Clears the basis and starts from `start` (normalized here; it need not be unit).
  void start(const Tensor& start);
  // One product: completes column `size()` of T and appends the next basis vector. Returns
  // β = ‖residual‖; on breakdown (β ≈ 0: the Krylov space is invariant) the next vector is a
  // random unit vector orthogonal to the basis and β is recorded as 0.
  double extend(Rng& rng);
  // Number of columns of T that are complete.
  int size() const { return size_; }
  int capacity() const { return capacity_; }
  // T restricted to the complete columns (size() × size()), symmetric.
  Eigen::MatrixXd projected() const { return t_.topLeftCorner(size_, size_); }
  // β of the last extend(): the norm of the residual that couples v_{size()} to the basis.
  double last_beta() const { return last_beta_; }
  bool last_was_breakdown() const { return last_breakdown_; }
  // Row i of V (a view).
  Tensor vector(int i) const { return basis_.row(i); }
  // x = V_{size} y (y of size() entries).
  void combine(const Eigen::VectorXd& y, Tensor& x) const;
  // Thick restart (Wu & Simon 2000): keeps the Ritz vectors V Y (Y: size() × l, orthonormal
  // columns, Ritz values θ) as v_0 … v_{l-1}, the current residual direction as v_l, and sets
  // T = [diag(θ) s; sᵀ ·] with s_i = β y_{last,i}.
  void restart(const Eigen::MatrixXd& y, const Eigen::VectorXd& theta);

 private:
  void orthogonalize(Tensor& w, int rows, Eigen::VectorXd& h);
  Products* products_;
  int capacity_;
  int64_t p_;
  Tensor basis_;  // [capacity + 1, P]
  Tensor w_;      // [P]
  Eigen::MatrixXd t_;
  int size_ = 0;
  double last_beta_ = 0.0;
  bool last_breakdown_ = false;
};

}  // namespace descent::probe::detail
