#pragma once
// Exact discrete optimal transport (Murphy §6.8, eq. 6.192): the Kantorovich linear
// program min <P, C> over P >= 0, P 1_m = a, Pᵀ 1_n = b, solved by a network simplex.
#include <cstdint>

#include "descent/core/tensor.hpp"

namespace descent::transport {

struct ExactOptions {
  int64_t max_iterations = 100'000'000;  // simplex pivots
  // Relative tolerance on |sum(a) - sum(b)| / max(sum a, sum b); b is rescaled to a's
  // total within it.
  double marginal_tolerance = 1e-6;
};

struct ExactResult {
  Tensor plan;  // [n, m] float64, at most n + m - 1 nonzero entries
  double cost = 0.0;  // <P, C>
  // Dual potentials (6.198): f_i + g_j <= C_ij everywhere, with equality where P_ij > 0
  // (complementary slackness), and <f, a> + <g, b> = cost.
  Tensor f, g;
  int64_t iterations = 0;  // simplex pivots
  bool converged = true;   // false when max_iterations stopped it
};

// a [n] and b [m] nonnegative weights with equal totals (undefined = uniform), C [n, m].
ExactResult exact_ot(const Tensor& a, const Tensor& b, const Tensor& C,
                     const ExactOptions& options = {});

}  // namespace descent::transport
