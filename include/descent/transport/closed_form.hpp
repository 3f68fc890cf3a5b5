#pragma once
// Closed forms of optimal transport (Murphy §6.8.3.4): one dimension through quantile
// functions (eq. 6.209), and Gaussians (eqs. 6.210–6.212).
#include <cstdint>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent::transport {

// ---- one dimension ----

struct Transport1D {
  double cost = 0.0;      // OT for c = |x - y|^p: ∫_0^1 |Q_μ(u) - Q_ν(u)|^p du = W_p^p (POT's wasserstein_1d)
  double distance = 0.0;  // W_p = cost^{1/p}
  // The monotone (north-west corner) plan on the sorted supports, optimal for every cost
  // that is a convex function of x - y: mass moved from x[source[k]] to y[target[k]].
  std::vector<int64_t> source, target;
  std::vector<double> mass;
};

// x [n] (or [n, 1]) with weights a, y [m] with weights b (undefined = uniform); equal totals.
// O((n + m) log(n + m)). Throws InputError for bad weights, empty or non-finite points, p <= 0.
Transport1D transport_1d(const Tensor& x, const Tensor& y, const Tensor& a = Tensor(), const Tensor& b = Tensor(),
                         double p = 2.0);

// The monotone Monge map T = Q_ν ∘ F_μ (§6.8.3.4) of the empirical measures of
// `source_samples` and `target_samples`, evaluated at `points`. F_μ(t) counts samples below
// t and half of those equal to t, so with n = m samples x_(k) is sent to y_(k).
Tensor monge_map_1d(const Tensor& source_samples, const Tensor& target_samples, const Tensor& points);

// ---- Gaussians ----

// W_2²(N(m1, S1), N(m2, S2)) = ||m1 - m2||² + tr(S1 + S2 - 2 (S1^½ S2 S1^½)^½) (6.210–6.211);
// defined for singular covariances. m [d], S [d, d] symmetric positive semidefinite.
double gaussian_w2_squared(const Tensor& m1, const Tensor& S1, const Tensor& m2, const Tensor& S2);

// The Monge map T(x) = A (x - m1) + m2 with A = S1^{-½} (S1^½ S2 S1^½)^½ S1^{-½} (6.212): A is
// symmetric positive (semi)definite and A S1 A = S2. S1 must be positive definite.
Tensor gaussian_monge_matrix(const Tensor& S1, const Tensor& S2);

// Applies T to points x [n, d]: rows A (x_i - m1) + m2.
Tensor gaussian_monge_map(const Tensor& x, const Tensor& m1, const Tensor& S1, const Tensor& m2, const Tensor& S2);

}  // namespace descent::transport
