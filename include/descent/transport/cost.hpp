#pragma once
// Ground costs between point clouds and the validation every transport solver shares.
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent::transport {

// C[i, j] = ||x_i - y_j||_2^p for x [n, d] and y [m, d] (float32 or float64), as float64
// [n, m]. p = 2 gives the squared Euclidean cost (POT's ot.dist default), computed
// directly (no ||x||² + ||y||² - 2xy cancellation).
Tensor cost_matrix(const Tensor& x, const Tensor& y, double p = 2.0);

// Weights as float64; an undefined tensor means uniform 1/n. Throws InputError for an
// empty set, a NaN/inf or negative weight, a zero total, or a length other than n.
Tensor checked_weights(const Tensor& w, int64_t n, const char* name);

// Throws InputError when the totals of a and b differ by more than rel_tol (relative),
// saying by how much; returns b rescaled to a's total exactly (so that the LP is feasible
// in floating point).
Tensor balanced_second_marginal(const Tensor& a, const Tensor& b, double rel_tol = 1e-6);

// Throws InputError when C is not [n, m] or holds NaN or infinite entries.
void check_cost(const Tensor& C, int64_t n, int64_t m);

// Points as a float64 [n, d] tensor (a 1-D tensor is read as [n, 1]); throws InputError
// for empty sets and non-finite coordinates.
Tensor checked_points(const Tensor& x, const char* name);

}  // namespace descent::transport
