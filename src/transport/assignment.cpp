// Hungarian method as successive shortest augmenting paths with reduced costs
// (Murphy §6.8, eq. 6.191; Jonker & Volgenant 1987): each row in turn is joined to the
// matching by a Dijkstra search over columns, and the potentials keep every reduced cost
// C_ij - u_i - v_j nonnegative, so the search never needs negative edges.
#include "descent/transport/assignment.hpp"

#include <cmath>
#include <limits>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/transport/cost.hpp"

namespace descent::transport {
namespace {

// n <= m: rows are matched one by one. Index 0 is the virtual column that the search
// starts from, so columns are 1..m and rows 1..n in the arrays below.
Assignment assign_rows(const double* C, int64_t n, int64_t m) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0.0), v(m + 1, 0.0), shortest(m + 1);
  std::vector<int64_t> row_of_col(m + 1, 0), previous_col(m + 1, 0), visited;
  std::vector<char> used(m + 1);
  visited.reserve(m + 1);
  for (int64_t i = 1; i <= n; ++i) {
    row_of_col[0] = i;
    int64_t col = 0;
    std::fill(shortest.begin(), shortest.end(), inf);
    std::fill(used.begin(), used.end(), 0);
    visited.clear();
    do {
      used[col] = 1;
      visited.push_back(col);
      const int64_t row = row_of_col[col];
      const double* c = C + (row - 1) * m - 1;  // c[j] = C[row - 1, j - 1]
      const double ur = u[row];
      double delta = inf;
      int64_t next = 0;
      for (int64_t j = 1; j <= m; ++j) {
        if (used[j]) continue;
        const double reduced = c[j] - ur - v[j];
        if (reduced < shortest[j]) {
          shortest[j] = reduced;
          previous_col[j] = col;
        }
        if (shortest[j] < delta) {
          delta = shortest[j];
          next = j;
        }
      }
      // Shift the potentials of the search tree by delta; the distances of unvisited
      // columns stay consistent (shortest[j] -= delta is folded into the comparison
      // baseline by subtracting from them).
      for (int64_t j : visited) {
        u[row_of_col[j]] += delta;
        v[j] -= delta;
      }
      for (int64_t j = 1; j <= m; ++j)
        if (!used[j]) shortest[j] -= delta;
      col = next;
    } while (row_of_col[col] != 0);
    // Augment along the alternating path back to the virtual column.
    do {
      const int64_t prev = previous_col[col];
      row_of_col[col] = row_of_col[prev];
      col = prev;
    } while (col != 0);
  }
  Assignment out;
  out.col_of_row.assign(n, -1);
  for (int64_t j = 1; j <= m; ++j)
    if (row_of_col[j] != 0) out.col_of_row[row_of_col[j] - 1] = j - 1;
  out.u.assign(u.begin() + 1, u.end());
  out.v.assign(v.begin() + 1, v.end());
  for (int64_t i = 0; i < n; ++i) out.cost += C[i * m + out.col_of_row[i]];
  return out;
}

}  // namespace

Assignment linear_assignment(const Tensor& cost) {
  DESCENT_CHECK(cost.defined() && cost.rank() == 2, InputError,
                "linear_assignment: expected an [n, m] cost matrix, got {}", cost.defined() ? cost.shape().str() : "none");
  const int64_t n = cost.dim(0), m = cost.dim(1);
  DESCENT_CHECK(n > 0 && m > 0, InputError, "linear_assignment: the cost matrix {} is empty; give at least one row and column",
                cost.shape());
  const Tensor C = cost.astype(DType::f64);
  check_cost(C, n, m);
  if (n <= m) return assign_rows(C.data<double>(), n, m);
  // More rows than columns: match every column to a row on the transpose.
  const Tensor Ct = transpose(C);
  Assignment t = assign_rows(Ct.data<double>(), m, n);
  Assignment out;
  out.col_of_row.assign(n, -1);
  for (int64_t j = 0; j < m; ++j) out.col_of_row[t.col_of_row[j]] = j;
  out.cost = t.cost;
  out.u = std::move(t.v);
  out.v = std::move(t.u);
  return out;
}

}  // namespace descent::transport
