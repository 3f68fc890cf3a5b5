#pragma once
// Optimal assignment (Murphy §6.8, eq. 6.191): min over injective σ of Σ_i C[i, σ(i)].
#include <cstdint>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent::transport {

struct Assignment {
  // σ(i) for each row when n <= m; when n > m, σ(i) = -1 for the n - m unassigned rows.
  std::vector<int64_t> col_of_row;
  double cost = 0.0;  // Σ_i C[i, σ(i)] over assigned rows
  // Dual potentials of the assignment LP: u_i + v_j <= C[i, j] for all i, j, with
  // equality on the assignment (complementary slackness).
  std::vector<double> u, v;
};

// Shortest augmenting path (Hungarian method with potentials, Kuhn 1955 / Munkres 1957,
// in the Jonker–Volgenant form): O(k² max(n, m)) for k = min(n, m) assigned pairs; every
// row (or, when n > m, every column) is matched. Throws InputError for an empty or
// non-finite cost matrix.
Assignment linear_assignment(const Tensor& cost);

}  // namespace descent::transport
