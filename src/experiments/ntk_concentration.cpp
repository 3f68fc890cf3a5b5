// Suzuki §2.4 (seed 002), Hoeffding concentration of the NTK Gram at initialization: for
// f(x) = Σ_j a_j relu(w_jᵀx), a_j = ±1/√M, w_j ~ N(0, I), unit-norm inputs, W trained,
//   K_W0,ij = x_iᵀx_j (1/M) Σ_j 1{w_jᵀx_i ≥ 0} 1{w_jᵀx_j ≥ 0},   K∞,ij = x_iᵀx_j E_w[relu'(wᵀx_i) relu'(wᵀx_j)],
// and P(‖K_W0 − K∞‖_F² ≤ n² log(2n²/δ)/(2M)) ≥ 1 − δ (each entry is a mean of M terms in
// an interval of length |x_iᵀx_j| ≤ 1: Hoeffding, then a union bound over n² entries).
// Also: ‖K_W0 − K∞‖_F falls like M^{-1/2}, and λ_min(K∞) > 0 for distinct inputs.
#include <Eigen/Dense>
#include <cmath>

#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/probe/kernels.hpp"
#include "ntk_common.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(ntk_concentration, "002 (Suzuki, slides)", "§2.4, Hoeffding concentration of the NTK Gram",
                   "‖K_W0 − K∞‖_F² ≤ n² log(2n²/δ)/(2M) with frequency ≥ 1 − δ, the error falls like M^{-1/2}, "
                   "and λ_min(K∞) > 0 for distinct unit inputs") {
  const int64_t n = 20, d = 10;
  const int trials = ctx.pick(20, 50);
  const auto widths = ctx.pick<std::vector<int64_t>>({100, 1000, 10000}, {100, 1000, 10000, 100000});
  const double delta = 0.1;
  Rng rng(ctx.seed);
  Tensor X = rng.normal_tensor({n, d}, DType::f64);
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t k = 0; k < d; ++k) s += X.at(i * d + k) * X.at(i * d + k);
    for (int64_t k = 0; k < d; ++k) X.set(i * d + k, X.at(i * d + k) / std::sqrt(s));
  }
  const Tensor inner = matmul(X, X, false, true);
  // K∞ from the library's ReLU derivative kernel (arc-cosine of order 0, Arora eq. 9.8).
  const probe::KernelSpec relu{.depth = 1, .activation = probe::Activation::relu};
  Eigen::MatrixXd k_inf(n, n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const double c = inner.at(i * n + j);
      k_inf(i, j) = c * probe::gaussian_expectations(relu, 1.0, i == j ? 1.0 : c, 1.0).derivative;
    }
  const double lambda_min = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(k_inf, Eigen::EigenvaluesOnly).eigenvalues()[0];

  Table& trials_csv = ctx.trace("ntk_concentration", {"width", "trial", "frobenius_error_squared", "bound"});
  Table& per_width = ctx.table("per_width", {"width", "frequency_within_bound", "mean_frobenius_error", "bound_frobenius"});
  for (int64_t M : widths) {
    const double bound = double(n * n) * std::log(2.0 * n * n / delta) / (2.0 * M);
    int within = 0;
    double mean_error = 0.0;
    for (int t = 0; t < trials; ++t) {
      const Tensor W = rng.normal_tensor({M, d}, DType::f64);
      Tensor active = matmul(X, W, false, true);  // [n, M]: w_jᵀx_i
      double* a = active.data<double>();
      for (int64_t e = 0; e < active.numel(); ++e) a[e] = a[e] >= 0.0 ? 1.0 : 0.0;
      const Tensor co_active = matmul(active, active, false, true);
      double err2 = 0.0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) {
          const double k = inner.at(i * n + j) * co_active.at(i * n + j) / double(M);
          err2 += (k - k_inf(i, j)) * (k - k_inf(i, j));
        }
      within += err2 <= bound;
      mean_error += std::sqrt(err2) / trials;
      trials_csv.add_row({M, t, err2, bound});
    }
    per_width.add_row({M, double(within) / trials, mean_error, std::sqrt(bound)});
  }
  const auto frequency = per_width.column("frequency_within_bound");
  ctx.measure("n", n);
  ctx.measure("d", d);
  ctx.measure("trials", trials);
  ctx.measure("delta", delta);
  ctx.check.at_least("min_frequency_within_bound", *std::min_element(frequency.begin(), frequency.end()), 1 - delta);
  ctx.check.within("error_slope_vs_width_loglog",
                   ntk::loglog_slope(per_width.column("width"), per_width.column("mean_frobenius_error")), -0.5, 0.1);
  ctx.check.above("lambda_min_K_inf", lambda_min, 0.0);
  ctx.note("Unit-norm Gaussian inputs; K∞ = x_iᵀx_j (π − arccos x_iᵀx_j)/(2π) through probe::gaussian_expectations. "
           "The union bound is loose: the measured error sits far below it at every width.");
}

}  // namespace descent::experiments
