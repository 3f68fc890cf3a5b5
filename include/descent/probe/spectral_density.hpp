#pragma once
// Spectral density of a symmetric operator by stochastic Lanczos quadrature (SLQ; Ubaru, Chen
// & Saad 2017; Ghorbani, Krishnan & Xiao 2019 for neural-network Hessians).
//
// For a probe v = z/√P (z Rademacher), m Lanczos steps give T_m = Y diag(θ) Yᵀ; the Gauss
// quadrature rule with nodes θ_j and weights τ_j = (e_1ᵀ y_j)² integrates the spectral measure
// of A seen from v exactly for polynomials of degree ≤ 2m − 1:
//     vᵀ A^k v = Σ_j τ_j θ_j^k,   and   E_z[vᵀ A^k v] = tr(A^k)/P.
// Averaging the rules over probes and replacing each node by a Gaussian of width σ gives the
// density φ(t) = (1/n_v) Σ_l Σ_j τ_j^(l) N(t; θ_j^(l), σ²), which integrates to 1.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "descent/probe/linear_operator.hpp"

namespace descent::probe {

struct SpectralDensityOptions {
  int num_probes = 10;
  int lanczos_steps = 80;  // m per probe (capped at P); memory (m + 1)·P·8 bytes
  int grid_points = 1000;
  // σ of the Gaussian broadening; 0 picks relative_broadening × (θ_max − θ_min).
  double broadening = 0.0;
  double relative_broadening = 0.01;
  // Grid range; NaN picks [θ_min − 5σ, θ_max + 5σ].
  double grid_min = std::numeric_limits<double>::quiet_NaN();
  double grid_max = std::numeric_limits<double>::quiet_NaN();
  int num_moments = 4;  // moments k = 0 … num_moments
  uint64_t seed = 0;
};

struct QuadratureRule {
  std::vector<double> nodes;    // Ritz values θ_j
  std::vector<double> weights;  // τ_j, summing to 1
};

struct SpectralDensity {
  std::vector<double> grid, density;
  // moments[k] estimates tr(A^k)/P (k = 0 … num_moments), with its standard error over probes.
  std::vector<double> moments, moment_standard_errors;
  std::vector<QuadratureRule> quadrature;  // one per probe
  double smallest_node = 0.0, largest_node = 0.0;  // extreme Ritz values seen (≈ λ_min, λ_max)
  double broadening = 0.0;
  int64_t matvecs = 0;
  std::string operator_name;
  std::string summary() const;
};

SpectralDensity spectral_density(LinearOperator& op, const SpectralDensityOptions& options = {});

}  // namespace descent::probe
