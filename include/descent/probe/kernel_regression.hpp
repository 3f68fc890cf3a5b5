#pragma once
// What a kernel predicts: kernel ridge regression and interpolation, the gradient-flow
// predictions of the kernel regime (Arora Lemma 9.1.1 and §9.3), and the Gram spectrum
// with the labels' projections on its eigenvectors. Any kernel works; with the NTK of
// kernels.hpp these are the predictions of an infinitely wide network trained by
// gradient flow on the loss ½ Σ_i (f(x_i) − y_i)² from f_0 = 0 (its mean over inits).
//
// Conventions: gram is K(X, X) [n, n] (symmetric, float64 or float32); cross_kernel is
// K(X*, X) [m, n]; targets are [n] or [n, k], and predictions keep that layout ([m] or
// [m, k]). Every result is float64. O(n³) time, O(n²) memory (Cholesky or eigen-
// decomposition through Eigen).
#include "descent/core/tensor.hpp"

namespace descent::probe {

// f(x*) = K(x*, X) (K + ridge I)^{-1} Y; ridge = 0 interpolates (Arora §9.1, f* = k(x)ᵀ H*^{-1} y).
// Throws InputError when K + ridge I is singular or not positive definite, saying to set
// (or raise) the ridge.
class KernelRidge {
 public:
  KernelRidge(const Tensor& gram, const Tensor& targets, double ridge = 0.0);

  Tensor predict(const Tensor& cross_kernel) const;
  // α = (K + ridge I)^{-1} Y, same layout as the targets.
  const Tensor& dual_weights() const { return dual_weights_; }
  double ridge() const { return ridge_; }

 private:
  Tensor dual_weights_;
  double ridge_;
  int64_t n_;
};

// K = Σ_i λ_i v_i v_iᵀ.
struct GramSpectrum {
  Tensor eigenvalues;   // [n], descending
  Tensor eigenvectors;  // [n, n], column i is v_i (unit norm)
  // max_i ‖K v_i − λ_i v_i‖ / max_i |λ_i|: how exactly the decomposition holds.
  double relative_residual = 0.0;
};
GramSpectrum gram_spectrum(const Tensor& gram);

// (v_iᵀ y)² in the spectrum's order (Arora Fig. 9.1): how much of the labels each
// eigen-direction carries; they sum to ‖y‖². Targets [n, k]: summed over the k columns.
Tensor label_projections(const GramSpectrum& spectrum, const Tensor& targets);

// Gradient flow du/dt = −η K (u − y) from u_0 = 0 (Arora Lemma 9.1.1), solved exactly in
// the eigenbasis of K (eq. 9.10):
//   train:  f_t(X)  = (I − e^{−ηKt}) y,
//   test:   f_t(x*) = K(x*, X) K^{-1} (I − e^{−ηKt}) y,
// with (1 − e^{−ηλt})/λ evaluated stably; t = +infinity gives interpolation. Eigenvalues
// below n·ε·λ_max count as 0 (the pseudo-inverse: the flow never moves along them).
class GradientFlow {
 public:
  GradientFlow(const Tensor& gram, const Tensor& targets, double learning_rate = 1.0);

  Tensor train_predictions(double t) const;
  Tensor test_predictions(const Tensor& cross_kernel, double t) const;
  // ½ ‖f_t(X) − y‖², the training loss at time t.
  double train_loss(double t) const;
  const GramSpectrum& spectrum() const { return spectrum_; }

 private:
  // V diag(g(λ_i)) Vᵀ Y for the given per-eigenvalue factors.
  Tensor apply_in_eigenbasis(const std::vector<double>& factors) const;

  GramSpectrum spectrum_;
  Tensor targets_;             // [n, k]
  Tensor projected_targets_;   // Vᵀ Y [n, k]
  bool vector_targets_;
  double learning_rate_;
};

}  // namespace descent::probe
