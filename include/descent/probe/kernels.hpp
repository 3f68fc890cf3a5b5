#pragma once
// Infinite-width kernels of fully connected networks: the NNGP kernel (covariance of the
// outputs at initialization) and the neural tangent kernel (NTK), for any depth, with
// weight and bias variances, in the NTK parameterization. Arora et al., ch. 9 §9.4.
//
// The network, for depth L hidden layers of width n_l -> infinity, input x in R^d:
//   z^1 = (σ_w/√d) W^1 x + σ_b b^1,   z^{l+1} = (σ_w/√n_l) W^{l+1} φ(z^l) + σ_b b^{l+1},
//   f(x) = z^{L+1},   every entry of W^l and b^l i.i.d. N(0, 1) and trained.
// Its kernels follow the layer recursion (Arora §9.4; Jacot et al. 2018, Thm. 1):
//   K^1(x,x') = σ_w² xᵀx'/d + σ_b²,                 Θ^1 = K^1,
//   K^{l+1}   = σ_w² E[φ(u)φ(v)] + σ_b²,            (u, v) ~ N(0, [[K^l(x,x), K^l(x,x')],
//   Θ^{l+1}   = K^{l+1} + σ_w² E[φ'(u)φ'(v)] Θ^l,                  [K^l(x,x'), K^l(x',x')]])
// and nngp = K^{L+1}, ntk = Θ^{L+1}. Arora's §9.4 convention (first layer xᵀx' without
// 1/d, σ_w² = c_σ, σ_b² = 0) differs by the first layer only: for ReLU, whose kernels are
// positively homogeneous, Θ_Arora = (d/2) Θ here with σ_w² = 2.
//
// The two Gaussian expectations come in closed form for ReLU (arc-cosine kernels of order
// 1 and 0, Cho & Saul 2009) and erf (Williams 1997), and by 2-D Gauss–Hermite quadrature
// for tanh or any other activation. Every computation is float64; correlations are
// normalized by the diagonal and clamped to [-1, 1], so that no NaN appears where the
// kernel is finite (at large depth, large variances, and for zero inputs).
//
// Cost: one GEMM (or SYRK for a Gram matrix) for K^1, then O(n1 n2 L) closed-form steps,
// parallel over rows on the global thread pool. Memory: the [n1, n2] output (and a
// second one when both kernels are asked for), plus a row of scratch per thread.
#include <cstdint>
#include <functional>
#include <vector>

#include "descent/core/rng.hpp"
#include "descent/core/tensor.hpp"

namespace descent::probe {

enum class Activation {
  relu,    // max(0, z); closed forms (arc-cosine kernels); φ'(0) = 0
  erf,     // erf(z); closed forms (Williams 1997)
  tanh,    // Gauss–Hermite quadrature
  custom,  // KernelSpec::custom_activation (and custom_derivative for the NTK); quadrature
};

const char* activation_name(Activation a);

// The 1-D rule behind the 2-D quadrature of tanh and custom activations.
enum class NormalRule {
  // Gauss–Hermite: exact for polynomial activations; converges like exp(−c·sqrt(points))
  // for analytic ones (tanh at variance 4: 7e-5 relative error with 100 points).
  gauss_hermite,
  // Truncated trapezoid on [−9, 9] with Gaussian weights: geometric convergence for
  // analytic activations (tanh at variance 4: 1e-10 with 100 points).
  trapezoid,
};

struct KernelSpec {
  int depth = 1;                         // hidden layers L (0: a linear model)
  Activation activation = Activation::relu;
  double weight_variance = 2.0;          // σ_w²
  double bias_variance = 0.0;            // σ_b²
  std::function<double(double)> custom_activation;  // φ, for Activation::custom
  std::function<double(double)> custom_derivative;  // φ', for the NTK of Activation::custom
  int quadrature_points = 100;           // per dimension, for tanh and custom (points² per expectation)
  NormalRule quadrature_rule = NormalRule::gauss_hermite;
};

// NNGP kernel K^{L+1}(X1, X2): float64 [n1, n2]. X1 [n1, d], X2 [n2, d], float32 or float64.
Tensor nngp_kernel(const KernelSpec& spec, const Tensor& X1, const Tensor& X2);
// Neural tangent kernel Θ^{L+1}(X1, X2): float64 [n1, n2].
Tensor ntk_kernel(const KernelSpec& spec, const Tensor& X1, const Tensor& X2);
// Gram matrices K(X, X), Θ(X, X): computes the upper triangle only and mirrors it.
Tensor nngp_kernel(const KernelSpec& spec, const Tensor& X);
Tensor ntk_kernel(const KernelSpec& spec, const Tensor& X);

struct NngpAndNtk {
  Tensor nngp, ntk;
};
// Both kernels from one pass of the recursion (X2 undefined: the Gram matrices of X1).
NngpAndNtk nngp_and_ntk(const KernelSpec& spec, const Tensor& X1, const Tensor& X2 = Tensor());

// One layer's Gaussian expectations for (u, v) ~ N(0, [[var_u, cov_uv], [cov_uv, var_v]]):
// E[φ(u)φ(v)] and E[φ'(u)φ'(v)] (without the σ_w² factor).
struct GaussianExpectations {
  double activation;  // E[φ(u)φ(v)]
  double derivative;  // E[φ'(u)φ'(v)]
};
GaussianExpectations gaussian_expectations(const KernelSpec& spec, double var_u, double cov_uv, double var_v);

// A rule for E_{z~N(0,1)}[g(z)] ≈ Σ_i weights[i] g(nodes[i]) (weights sum to 1).
// Gauss–Hermite is exact for polynomials of degree < 2 * points (Golub–Welsch start,
// Newton-polished nodes); see NormalRule for the trapezoid.
struct NormalQuadrature {
  std::vector<double> nodes, weights;
};
NormalQuadrature normal_quadrature(int points, NormalRule rule = NormalRule::gauss_hermite);

// ---- finite-width random networks (for Monte Carlo checks of the limits) ----

// The empirical kernels of one random network of the form above with every hidden layer
// `width` wide, drawn from `rng`:
//   nngp: the output covariance averaged over the readout layer W^{L+1}, b^{L+1}, i.e.
//         σ_w² φ(z^L(x))ᵀφ(z^L(x'))/n_L + σ_b² (the NNGP's finite-width estimate);
//   ntk:  J Jᵀ, J = ∂f/∂(all W^l, b^l), from the layer structure:
//         Σ_l ⟨δ^l(x), δ^l(x')⟩ (σ_w² ⟨h^{l-1}(x), h^{l-1}(x')⟩/n_{l-1} + σ_b²),
//         δ^l = ∂f/∂z^l, h^0 = x, h^l = φ(z^l).
class RandomNetwork {
 public:
  RandomNetwork(const KernelSpec& spec, int64_t input_dim, int64_t width, Rng& rng);

  // f(X): float64 [n].
  Tensor outputs(const Tensor& X) const;
  NngpAndNtk empirical_kernels(const Tensor& X) const;

  // Layer l = 0..depth: weights [n_{l+1}, n_l] (row-major), biases [n_{l+1}]; N(0, 1) entries.
  std::vector<Tensor>& weights() { return weights_; }
  std::vector<Tensor>& biases() { return biases_; }
  int64_t parameter_count() const;

 private:
  KernelSpec spec_;
  std::vector<Tensor> weights_, biases_;
};

}  // namespace descent::probe
