// Suzuki §2.4 (seed 002), Hoeffding concentration of the NTK Gram at initialization: for
// f(x) = Σ_j a_j relu(w_jᵀx), a_j = ±1/√M, w_j ~ N(0, I), unit-norm inputs, W trained,
//   K_W0,ij = x_iᵀx_j (1/M) Σ_j 1{w_jᵀx_i ≥ 0} 1{w_jᵀx_j ≥ 0},   K∞,ij = x_iᵀx_j E_w[relu'(wᵀx_i) relu'(wᵀx_j)],
// and P(‖K_W0 − K∞‖_F² ≤ n² log(2n²/δ)/(2M)) ≥ 1 − δ (each entry is a mean of M terms in
// an interval of length |x_iᵀx_j| ≤ 1: Hoeffding, then a union bound over n² entries).
// Also: ‖K_W0 − K∞‖_F falls like M^{-1/2}, and λ_min(K∞) > 0 for distinct inputs.
#include <Eigen/Dense>
#include <cmath>
#include <numeric>

#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/probe/kernels.hpp"
#include "output.hpp"

namespace descent::experiments {
namespace {

Result run_ntk_concentration(const RunOptions& opt) {
  const int64_t n = 20, d = 10;
  const int trials = opt.quick ? 20 : 50;
  const std::vector<int64_t> widths =
      opt.quick ? std::vector<int64_t>{100, 1000, 10000} : std::vector<int64_t>{100, 1000, 10000, 100000};
  const double delta = 0.1;
  Rng rng(opt.seed);
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

  auto csv = open_output(opt.output_dir, "ntk_concentration.csv");
  if (csv.is_open()) csv << "width,trial,frobenius_error_squared,bound\n";
  json per_width = json::array();
  double min_frequency = 1.0;
  std::vector<double> log_width, log_error;
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
      if (csv.is_open()) csv << M << "," << t << "," << err2 << "," << bound << "\n";
    }
    const double frequency = double(within) / trials;
    min_frequency = std::min(min_frequency, frequency);
    log_width.push_back(std::log(double(M)));
    log_error.push_back(std::log(mean_error));
    per_width.push_back({{"width", M}, {"frequency_within_bound", frequency}, {"mean_frobenius_error", mean_error},
                         {"bound_frobenius", std::sqrt(bound)}});
  }
  // Least-squares slope of log ‖K_W0 − K∞‖_F against log M.
  const double mx = std::accumulate(log_width.begin(), log_width.end(), 0.0) / log_width.size();
  const double my = std::accumulate(log_error.begin(), log_error.end(), 0.0) / log_error.size();
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < log_width.size(); ++i)
    sxy += (log_width[i] - mx) * (log_error[i] - my), sxx += (log_width[i] - mx) * (log_width[i] - mx);
  const double slope = sxy / sxx;

  Result r;
  r.measured = {{"per_width", per_width}, {"min_frequency_within_bound", min_frequency},
                {"error_slope_vs_width_loglog", slope}, {"lambda_min_K_inf", lambda_min},
                {"n", n}, {"d", d}, {"trials", trials}, {"delta", delta}};
  r.expected = {{"min_frequency_within_bound", 1 - delta}, {"error_slope_vs_width_loglog", -0.5},
                {"lambda_min_K_inf", "> 0"}};
  r.tolerance = {{"min_frequency_within_bound", ">= expected"}, {"error_slope_vs_width_loglog", 0.1}};
  r.passed = min_frequency >= 1 - delta && within(slope, -0.5, 0.1) && lambda_min > 0;
  r.notes = "Unit-norm Gaussian inputs; K∞ = x_iᵀx_j (π − arccos x_iᵀx_j)/(2π) through probe::gaussian_expectations. "
            "The union bound is loose: the measured error sits far below it at every width.";
  return r;
}

}  // namespace

void register_ntk_concentration(Registry& reg) {
  reg.add({"ntk_concentration",
           {"002 (Suzuki, slides)", "§2.4, Hoeffding concentration of the NTK Gram"},
           "‖K_W0 − K∞‖_F² ≤ n² log(2n²/δ)/(2M) with frequency ≥ 1 − δ, the error falls like M^{-1/2}, and "
           "λ_min(K∞) > 0 for distinct unit inputs",
           run_ntk_concentration});
}

}  // namespace descent::experiments
