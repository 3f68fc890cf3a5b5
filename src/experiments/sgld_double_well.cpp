// SGLD samples e^{−βL} (Suzuki §2.6; Welling & Teh 2011; the seed's update is an image ⚠, the
// standard one is optim::sgld): θ ← θ − η L'(θ) + √(2η/β) ξ on the double well
// L(x) = x⁴/4 − x²/2 (minima ±1, barrier 1/4) at β = 2.
// Measured: (1) goodness of fit of thinned samples (spacing 10 time units, several well-switching times: ≈ independent) at
// η = 0.02 to the exact law ∝ e^{−βL} (its CDF by quadrature): the Kolmogorov–Smirnov
// statistic against the 0.1% critical value 1.949/√N; (2) the bias of the time average of x²
// against the exact E[x²], which shrinks with η (SGLD is the Euler–Maruyama scheme of the
// Langevin diffusion: its invariant law is off by O(η)).
#include <algorithm>
#include <cmath>

#include "descent/dynamics/statistics.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/optim/langevin.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(sgld_double_well, "002 (Suzuki, COSS2020)", "§2.6 (GLD/SGLD)",
                   "SGLD on a double well samples π ∝ e^{−βL} (goodness of fit against the exact density) with a "
                   "bias that shrinks with the step η") {
  const double beta = 2.0;
  const double horizon = ctx.pick(16000.0, 100000.0);
  FunctionObjective well(1, [](const Tensor& t, Tensor& g) {
    const double x = t.at(0);
    g.data<double>()[0] = x * x * x - x;
    return x * x * x * x / 4 - x * x / 2;
  });
  // Exact law on a grid.
  std::vector<double> grid, cdf;
  double z = 0, m2 = 0;
  const int n = 20000;
  for (int i = 0; i <= n; ++i) grid.push_back(-4.0 + 8.0 * i / n);
  std::vector<double> dens(grid.size());
  for (size_t i = 0; i < grid.size(); ++i) {
    const double x = grid[i];
    dens[i] = std::exp(-beta * (x * x * x * x / 4 - x * x / 2));
  }
  cdf.push_back(0);
  for (size_t i = 1; i < grid.size(); ++i) {
    const double h = grid[i] - grid[i - 1];
    z += 0.5 * h * (dens[i] + dens[i - 1]);
    m2 += 0.5 * h * (dens[i] * grid[i] * grid[i] + dens[i - 1] * grid[i - 1] * grid[i - 1]);
    cdf.push_back(z);
  }
  for (auto& c : cdf) c /= z;
  const double exact_m2 = m2 / z;
  auto exact_cdf = [&](double x) {
    if (x <= grid.front()) return 0.0;
    if (x >= grid.back()) return 1.0;
    const size_t i = size_t((x - grid.front()) / (grid[1] - grid[0]));
    const double w = (x - grid[i]) / (grid[1] - grid[0]);
    return (1 - w) * cdf[i] + w * cdf[i + 1];
  };
  Table& t = ctx.table("bias", {"eta", "mean_x2", "standard_error", "exact_x2", "bias"});
  std::vector<double> bias, se;
  const std::vector<double> etas{0.2, 0.1, 0.05, 0.02};
  for (size_t e = 0; e < etas.size(); ++e) {
    const double eta = etas[e];
    const Tensor s = optim::sgld(well, Tensor::zeros({1}, DType::f64),
                                 {.learning_rate = eta, .inverse_temperature = beta, .steps = int64_t(horizon / eta),
                                  .burn_in = int64_t(20 / eta), .seed = ctx.seed * 10 + e});
    std::vector<double> sq(size_t(s.dim(0)));
    for (int64_t k = 0; k < s.dim(0); ++k) sq[size_t(k)] = s.at(k) * s.at(k);
    const auto avg = dynamics::batch_means(sq);
    bias.push_back(avg.mean - exact_m2);
    se.push_back(avg.standard_error);
    t.add_row({eta, avg.mean, avg.standard_error, exact_m2, bias.back()});
    if (e + 1 == etas.size()) {  // goodness of fit at the smallest η
      const int64_t spacing = int64_t(10.0 / eta);
      std::vector<double> kept;
      for (int64_t k = 0; k < s.dim(0); k += spacing) kept.push_back(s.at(k));
      std::sort(kept.begin(), kept.end());
      double ks = 0;
      const double nk = double(kept.size());
      for (size_t i = 0; i < kept.size(); ++i) {
        const double f = exact_cdf(kept[i]);
        ks = std::max({ks, std::abs(double(i + 1) / nk - f), std::abs(f - double(i) / nk)});
      }
      ctx.measure("ks_samples", int64_t(kept.size()));
      ctx.check.below("kolmogorov_smirnov_at_eta_0.02", ks, 1.949 / std::sqrt(nk));
    }
    ctx.progress(int64_t(e + 1), int64_t(etas.size()));
  }
  ctx.check.above("bias_detected_at_eta_0.2", std::abs(bias[0]), 3 * se[0]);
  ctx.check.below("bias_shrinks_0.2_to_0.05", std::abs(bias[2]), 0.6 * std::abs(bias[0]));
  t.plot({.title = "SGLD bias in E[x^2] on the double well", .x_label = "eta", .y_label = "bias",
          .series = {{"eta", "bias", "E_eta[x^2] - E_pi[x^2]", true}}});
  ctx.note("β = 2, one run of " + std::to_string(int(horizon)) + " time units per η (burn-in 20), batch-means errors.");
}

}  // namespace descent::experiments
