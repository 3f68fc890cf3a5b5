#pragma once
// Wasserstein barycenters: argmin_μ Σ_k λ_k W_2²(μ, μ_k) (Agueh & Carlier 2011).
#include <cstdint>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent::transport {

struct Measure1D {
  Tensor values;   // [n]
  Tensor weights;  // [n], or undefined for uniform
};

struct Barycenter1D {
  Tensor values, weights;  // support [K] (sorted) and its masses
};

// In 1-D the barycenter's quantile function is Σ_k λ_k Q_k (closed form, eq. 6.209); it is
// supported on at most Σ_k n_k points. λ >= 0 is normalized to sum 1; undefined = uniform.
// All measures must have the same total mass.
Barycenter1D barycenter_1d(const std::vector<Measure1D>& measures, const Tensor& lambdas = Tensor());

struct BarycenterOptions {
  double epsilon = 0.01;  // entropic regularization, in units of the cost
  double tolerance = 1e-9;  // Σ_k ||P_kᵀ 1 - a_k||_1 (the other marginals are exact)
  int64_t max_iterations = 100'000;
};

struct FixedSupportBarycenter {
  Tensor weights;  // [n] on the common support
  int64_t iterations = 0;
  double marginal_error = 0.0;
  bool converged = false;
};

// Entropic barycenter of histograms on a fixed support (Benamou et al. 2015, iterative
// Bregman projections; POT's ot.bregman.barycenter): `histograms` [n, K] (column k is a_k,
// each summing to the same mass), C [n, n] the ground cost between support points.
FixedSupportBarycenter sinkhorn_barycenter(const Tensor& histograms, const Tensor& C, const Tensor& lambdas = Tensor(),
                                           const BarycenterOptions& options = {});

}  // namespace descent::transport
