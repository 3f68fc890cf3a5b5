#pragma once
// Entropic optimal transport (Murphy §6.8, eqs. 6.213–6.217): Sinkhorn's matrix scaling,
// its stabilized log-domain form with ε-scaling, and the Sinkhorn divergence with its
// gradient with respect to the points (so that it can serve as a training loss).
#include <cstdint>

#include "descent/core/tensor.hpp"

namespace descent::transport {

struct SinkhornOptions {
  double epsilon = 0.1;  // entropic regularization γ of (6.213), in units of the cost
  // Stopping rule: ||P 1 - a||_1 + ||Pᵀ 1 - b||_1 <= tolerance (the column marginal is exact
  // after every update of g, so this is the row marginal's error). Measured every
  // iteration at no extra cost; the returned plan is the one that was measured.
  double tolerance = 1e-9;
  int64_t max_iterations = 100'000;  // full (f, g) updates, over all ε stages
  // Log-domain only. ε-scaling: solve for ε_k = max(ε, ε_0 q^k), ε_0 = max C, each stage
  // warm-starting the next and stopped at `stage_tolerance`; the last (ε) at `tolerance`.
  // Stages are used only when ε < (max C − min C) / 300; above that one stage at ε is faster
  // (measured crossover, sinkhorn.cpp), so the default never takes the slow path.
  bool epsilon_scaling = true;
  double scaling_factor = 0.5;
  double stage_tolerance = 1e-3;
  // Log-domain only: scalings u = e^{(f-α)/ε}, v = e^{(g-β)/ε} outside [1/τ, τ] are absorbed
  // into the kernel's potentials α, β (Schmitzer 2019, §3.2). The iterations on the float
  // copy of the kernel (all ε stages, the last to a marginal error of 1e-8 of the mass)
  // use min(τ, 1e8), so that entries flushed below float's range carry no mass; those on
  // the double kernel (the rest of the last stage, to `tolerance`) use τ.
  double absorb_threshold = 1e30;
  // Marginal totals may differ relatively by this much; b is rescaled to a's total.
  double marginal_tolerance = 1e-6;
};

struct SinkhornResult {
  Tensor plan;          // [n, m] float64: P_ij = a_i b_j exp((f_i + g_j - C_ij) / ε)
  double cost = 0.0;    // <P, C>, the transport cost without the entropy (POT's sinkhorn2)
  // The regularized value OT_ε = <f, a> + <g, b> (the dual (6.215) at its optimum, equal
  // to <P, C> + ε KL(P || a ⊗ b) when the marginals hold).
  double objective = 0.0;
  // Dual potentials with respect to a ⊗ b (Feydy et al. 2019); Murphy's (6.216) scalings
  // are e^{f/γ} a and e^{g/γ} b.
  Tensor f, g;
  double marginal_error = 0.0;  // the stopping rule's value for the returned plan
  int64_t iterations = 0;
  bool converged = false;
};

// Plain Sinkhorn (6.216): scaling with the kernel K = e^{-C/ε}, as POT's `sinkhorn`. Fast,
// but K underflows when ε is small against C; it then throws NonFiniteError advising
// sinkhorn_log. a, b undefined = uniform.
SinkhornResult sinkhorn(const Tensor& a, const Tensor& b, const Tensor& C, const SinkhornOptions& options = {});

// Log-domain Sinkhorn (6.217), stable for any ε > 0: scaling iterations on the kernel
// exp((α_i + β_j - C_ij)/ε) whose potentials absorb the scalings before they overflow,
// with optional ε-scaling. Same fixed point as `sinkhorn`. Most iterations run on a float
// copy of the kernel (sums in double; half the memory traffic), the last ones, and the
// plan, on the double kernel; if a float row or column sum underflows, the solve goes on
// in double.
SinkhornResult sinkhorn_log(const Tensor& a, const Tensor& b, const Tensor& C, const SinkhornOptions& options = {});

struct SinkhornDivergence {
  // S_ε(α, β) = OT_ε(α, β) - ½ OT_ε(α, α) - ½ OT_ε(β, β) (Genevay et al. 2018; Feydy et
  // al. 2019): nonnegative, zero when the two measures coincide.
  double value = 0.0;
  Tensor grad_x, grad_y;  // dS/dx [n, d] and dS/dy [m, d]
  int64_t iterations = 0;  // over the three Sinkhorn solves
};

// The Sinkhorn divergence between point clouds x [n, d], y [m, d] with weights a, b and
// cost ||x - y||^p, and its gradient with respect to the points. The gradient follows from
// the envelope theorem: OT_ε is a minimum over P, so d OT_ε / dC = P* and
// dOT_ε/dx_i = Σ_j P*_ij ∇_x c(x_i, y_j); the debiasing terms contribute likewise.
SinkhornDivergence sinkhorn_divergence(const Tensor& x, const Tensor& y, const Tensor& a = Tensor(),
                                       const Tensor& b = Tensor(), double p = 2.0,
                                       const SinkhornOptions& options = {});

}  // namespace descent::transport
