#pragma once
// Shared by the implicit-bias experiments (Arora ch. 8): the least-squares loss (8.1) and
// exact reference solutions on data small
// enough that exact methods are cheap: a dense two-phase simplex (Bland's rule, so it
// cannot cycle) for the ℓ1/ℓ∞ max-margin problems and basis pursuit, and the hard-margin
// SVM by enumerating supports and checking the KKT conditions.
#include <Eigen/Dense>
#include <cmath>
#include <limits>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "descent/core/error.hpp"
#include "descent/core/objective.hpp"
#include "descent/core/plot.hpp"

namespace descent::experiments {

using json = nlohmann::json;
using Matrix = Eigen::MatrixXd;
using Vector = Eigen::VectorXd;

// min cᵀx s.t. Ax = b, x ≥ 0. Throws when infeasible or unbounded (callers pose bounded,
// feasible problems; either failure means a bug in how they posed it).
inline Vector solve_standard_lp(Matrix A, Vector b, const Vector& c) {
  const int64_t m = A.rows(), n = A.cols();
  constexpr double eps = 1e-11;
  for (int64_t i = 0; i < m; ++i)
    if (b[i] < 0) A.row(i) *= -1, b[i] *= -1;
  // Tableau [A I b; reduced costs], artificial columns n..n+m−1.
  Matrix T = Matrix::Zero(m + 1, n + m + 1);
  T.topLeftCorner(m, n) = A;
  T.block(0, n, m, m) = Matrix::Identity(m, m);
  T.topRightCorner(m, 1) = b;
  std::vector<int64_t> basis(m);
  for (int64_t i = 0; i < m; ++i) basis[i] = n + i;
  auto pivot = [&](int64_t r, int64_t col) {
    T.row(r) /= T(r, col);
    for (int64_t i = 0; i <= m; ++i)
      if (i != r && T(i, col) != 0.0) T.row(i) -= T(i, col) * T.row(r);
    basis[r] = col;
  };
  auto run = [&](int64_t allowed_columns) {
    for (int iter = 0; iter < 100000; ++iter) {
      int64_t enter = -1;
      for (int64_t j = 0; j < allowed_columns && enter < 0; ++j)
        if (T(m, j) < -eps) enter = j;  // Bland: the first improving column
      if (enter < 0) return;
      int64_t leave = -1;
      double best = std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < m; ++i)
        if (T(i, enter) > eps) {
          const double ratio = T(i, n + m) / T(i, enter);
          if (ratio < best - eps || (ratio <= best + eps && leave >= 0 && basis[i] < basis[leave])) best = ratio, leave = i;
        }
      DESCENT_CHECK(leave >= 0, Error, "solve_standard_lp: the problem is unbounded");
      pivot(leave, enter);
    }
    fail<Error>("solve_standard_lp: no convergence in 100000 pivots");
  };
  // Phase 1: minimize the sum of the artificials.
  for (int64_t j = 0; j < n; ++j) T(m, j) = -A.col(j).sum();
  T(m, n + m) = -b.sum();
  run(n + m);
  DESCENT_CHECK(T(m, n + m) > -1e-9 * std::max(1.0, b.norm()), Error, "solve_standard_lp: the problem is infeasible");
  for (int64_t i = 0; i < m; ++i)
    if (basis[i] >= n)
      for (int64_t j = 0; j < n; ++j)
        if (std::abs(T(i, j)) > 1e-9) { pivot(i, j); break; }
  // Phase 2 on the structural columns.
  T.row(m).setZero();
  for (int64_t j = 0; j < n; ++j) T(m, j) = c[j];
  for (int64_t i = 0; i < m; ++i)
    if (basis[i] < n) T.row(m) -= c[basis[i]] * T.row(i);
  run(n);
  Vector x = Vector::Zero(n);
  for (int64_t i = 0; i < m; ++i)
    if (basis[i] < n) x[basis[i]] = T(i, n + m);
  return x;
}

struct MaxMargin {
  Vector w;      // a maximizer, ‖w‖ = 1 in the chosen norm
  double margin; // γ = max_{‖w‖ ≤ 1} min_i y_i ⟨w, x_i⟩
};

// ℓ1 (p = 1) or ℓ∞ (p = ∞) max margin as an LP in (a, b, t, slacks), w = a − b:
//   max t  s.t.  y_i x_iᵀ(a − b) − t − s_i = 0,  norm rows,  a, b, t, s ≥ 0,
// with norm rows Σ(a_j + b_j) + r = 1 (ℓ1) or a_j + b_j + r_j = 1 for each j (ℓ∞).
inline MaxMargin lp_max_margin(const Matrix& X, const Vector& y, bool l1) {
  const int64_t n = X.rows(), d = X.cols(), norm_rows = l1 ? 1 : d;
  const int64_t vars = 2 * d + 1 + n + norm_rows, rows = n + norm_rows;
  Matrix A = Matrix::Zero(rows, vars);
  Vector b = Vector::Zero(rows), c = Vector::Zero(vars);
  for (int64_t i = 0; i < n; ++i) {
    A.block(i, 0, 1, d) = y[i] * X.row(i);
    A.block(i, d, 1, d) = -y[i] * X.row(i);
    A(i, 2 * d) = -1.0;
    A(i, 2 * d + 1 + i) = -1.0;
  }
  for (int64_t r = 0; r < norm_rows; ++r) {
    for (int64_t j = 0; j < d; ++j)
      if (l1 || j == r) A(n + r, j) = A(n + r, d + j) = 1.0;
    A(n + r, 2 * d + 1 + n + r) = 1.0;
    b[n + r] = 1.0;
  }
  c[2 * d] = -1.0;
  const Vector x = solve_standard_lp(A, b, c);
  MaxMargin result{x.head(d) - x.segment(d, d), x[2 * d]};
  return result;
}

// Hard-margin SVM through the origin, min ‖w‖₂² s.t. y_i⟨w, x_i⟩ ≥ 1, for small n and d:
// for every support S (|S| ≤ d) the candidate w = Σ_S α_i y_i x_i with G_SS α = 1 is optimal
// iff α ≥ 0 and every constraint holds (KKT); the optimum is unique. Returned normalized to
// ‖w‖₂ = 1 with margin γ = 1/‖w_SVM‖.
inline MaxMargin hard_margin_svm(const Matrix& X, const Vector& y) {
  const int64_t n = X.rows(), d = X.cols();
  Matrix Z = X;
  for (int64_t i = 0; i < n; ++i) Z.row(i) *= y[i];
  for (int64_t size = 1; size <= std::min(n, d); ++size) {
    std::vector<int64_t> idx(size);
    for (int64_t i = 0; i < size; ++i) idx[i] = i;
    while (true) {
      Matrix ZS(size, d);
      for (int64_t i = 0; i < size; ++i) ZS.row(i) = Z.row(idx[i]);
      const Matrix G = ZS * ZS.transpose();
      Eigen::FullPivLU<Matrix> lu(G);
      if (lu.isInvertible()) {
        const Vector alpha = lu.solve(Vector::Ones(size));
        const Vector w = ZS.transpose() * alpha;
        if (alpha.minCoeff() >= -1e-12 && (Z * w).minCoeff() >= 1.0 - 1e-10) return {w / w.norm(), 1.0 / w.norm()};
      }
      int64_t k = size - 1;
      while (k >= 0 && idx[k] == n - size + k) --k;
      if (k < 0) break;
      ++idx[k];
      for (int64_t j = k + 1; j < size; ++j) idx[j] = idx[j - 1] + 1;
    }
  }
  fail<Error>("hard_margin_svm: no support satisfies the KKT conditions (is the data separable through 0?)");
}

// Basis pursuit min ‖w‖₁ s.t. Xw = y as the LP min 1ᵀ(a + b), X(a − b) = y, a, b ≥ 0.
inline Vector min_l1_interpolant(const Matrix& X, const Vector& y) {
  const int64_t d = X.cols();
  Matrix A(X.rows(), 2 * d);
  A << X, -X;
  const Vector x = solve_standard_lp(A, y, Vector::Ones(2 * d));
  return x.head(d) - x.tail(d);
}

// Arora eq. (8.1): L(w) = Σ_i (wᵀx_i − y_i)², ∇L = 2 Σ_i (wᵀx_i − y_i) x_i.
inline FunctionObjective sum_of_squares(const Matrix& X, const Vector& y) {
  return FunctionObjective(X.cols(), [X, y](const Tensor& w, Tensor& g) {
    Vector wv(X.cols());
    for (int64_t j = 0; j < X.cols(); ++j) wv[j] = w.at(j);
    const Vector r = X * wv - y, grad = 2.0 * X.transpose() * r;
    for (int64_t j = 0; j < X.cols(); ++j) g.set(j, grad[j]);
    return r.squaredNorm();
  });
}

inline std::vector<double> to_std(const Vector& v) { return std::vector<double>(v.data(), v.data() + v.size()); }
inline json to_json_array(const Vector& v) { return json(to_std(v)); }

}  // namespace descent::experiments
