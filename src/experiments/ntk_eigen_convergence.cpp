// Arora §9.1, Lemma 9.1.1 and Fig. 9.1: for a wide two-layer ReLU net trained by GD on the
// square loss, the residual u(t) − y evolves as (I − ηH/n)^k (u_0 − y) ≈ e^{−ηHt}(u_0 − y),
// H the NTK Gram at initialization: its projection on eigenvector v_i decays like
// e^{−λ_i t}. True labels lie mostly along the top eigenvectors, random labels do not, so
// true labels are fitted faster.
#include <algorithm>

#include "descent/core/rng.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/probe/empirical_ntk.hpp"
#include "descent/probe/kernel_regression.hpp"
#include "ntk_common.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(ntk_eigen_convergence, "001 (Arora, ch. 9)", "§9.1, Lemma 9.1.1, Fig. 9.1",
                   "the residual's projection on NTK eigenvector v_i decays like e^{−λ_i t}; true labels converge "
                   "faster than random labels") {
  const int64_t n = ctx.pick(100, 300), width = ctx.pick(2000, 8000), steps = ctx.pick(60, 200);
  const int top = 10;
  ntk::TwoClassData d = ntk::two_class_fashion_mnist(n, 0);
  Tensor y_random = Tensor::zeros({n, 1}, DType::f64);
  Rng rng(ctx.seed);
  for (int64_t i = 0; i < n; ++i) y_random.set(i, rng.uniform() < 0.5 ? 1.0 : -1.0);

  nn::Model model = ntk::two_layer_relu(196, width, ctx.seed);
  const Tensor H = probe::empirical_ntk(model, d.X, {.dtype = DType::f64});
  const probe::GramSpectrum spectrum = probe::gram_spectrum(H);
  const double lambda_max = spectrum.eigenvalues.at(0);
  const double lr = 0.5 * double(n) / lambda_max;
  const Tensor V = spectrum.eigenvectors;
  const Tensor u0 = model.predict(d.X);
  const Tensor theta0 = model.parameters().clone();

  // Fraction of ‖y‖² on the top eigenvectors (Arora Fig. 9.1, left).
  auto top_fraction = [&](const Tensor& y) {
    const Tensor p = probe::label_projections(spectrum, y);
    double s = 0, all = 0;
    for (int64_t i = 0; i < n; ++i) all += p.at(i), s += i < top ? p.at(i) : 0.0;
    return s / all;
  };
  const std::vector<int64_t> shown = {0, 1, 4, 9, 19};
  std::vector<double> loss_true, loss_random;
  std::vector<std::vector<double>> measured(steps + 1), predicted(steps + 1);
  double worst_deviation = 0;  // max_k ‖r_k − (I − ηH/n)^k r_0‖ / ‖r_0‖, true labels
  for (int run = 0; run < 2; ++run) {
    const Tensor& y = run == 0 ? d.y : y_random;
    model.parameters().copy_from(theta0);
    const Tensor p0 = matmul(V, sub(u0, y), true, false);  // Vᵀ r_0
    ntk::gradient_descent(model, d.X, y, lr, steps, [&](int64_t k) {
      const Tensor r = sub(model.predict(d.X), y);
      (run == 0 ? loss_true : loss_random).push_back(0.5 * ntk::frobenius(r) * ntk::frobenius(r) / n);
      if (run != 0) return;
      const Tensor p = matmul(V, r, true, false);
      double dev = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double pred = p0.at(i) * std::pow(1.0 - lr * spectrum.eigenvalues.at(i) / n, double(k));
        dev += (p.at(i) - pred) * (p.at(i) - pred);
      }
      worst_deviation = std::max(worst_deviation, std::sqrt(dev) / ntk::frobenius(p0));
      for (int64_t i : shown) {
        measured[k].push_back(std::abs(p.at(i)));
        predicted[k].push_back(std::abs(p0.at(i)) * std::exp(-lr * spectrum.eigenvalues.at(i) * k / n));
      }
    });
  }
  std::vector<std::string> columns = {"step", "loss_true", "loss_random"};
  for (int64_t i : shown)
    columns.push_back("measured_v" + std::to_string(i + 1)), columns.push_back("predicted_v" + std::to_string(i + 1));
  Table& t = ctx.trace("ntk_eigen_convergence", columns);
  for (int64_t k = 0; k <= steps; ++k) {
    std::vector<Cell> row = {k, loss_true[k], loss_random[k]};
    for (size_t s = 0; s < shown.size(); ++s) row.push_back(measured[k][s]), row.push_back(predicted[k][s]);
    t.add_row(row);
  }
  PlotSpec plot{.title = "residual along NTK eigenvectors: |v_i^T (u_k - y)| (points) vs e^{-eta lambda_i k/n}",
                .x_label = "GD step k", .y_label = "|projection|", .log_y = true};
  for (int64_t i : shown) {
    plot.series.push_back({"step", "measured_v" + std::to_string(i + 1), "v" + std::to_string(i + 1), true});
    plot.series.push_back({"step", "predicted_v" + std::to_string(i + 1), "", false});
  }
  t.plot(plot);
  ctx.measure("n", n);
  ctx.measure("width", width);
  ctx.measure("steps", steps);
  ctx.measure("learning_rate", lr);
  ctx.measure("lambda_max", lambda_max);
  ctx.measure("lambda_10", spectrum.eigenvalues.at(9));
  ctx.check.at_most("max_relative_deviation_from_linear_dynamics", worst_deviation, 0.05);
  ctx.check.above("label_fraction_top10_true", top_fraction(d.y), top_fraction(y_random));
  ctx.check.below("relative_final_loss_true", loss_true.back() / loss_true.front(),
                  loss_random.back() / loss_random.front());
  ctx.note("Classes T-shirt (+1) vs Trouser (−1), 14×14 pooled unit-norm images; H = empirical NTK "
           "(probe::empirical_ntk) at initialization; η = n/(2λ_max). Deviation compares the measured residual with "
           "the discrete linear dynamics (I − ηH/n)^k r_0 at every step; the CSV's predicted columns are Arora's "
           "e^{−ηλ_i k/n}.");
}

}  // namespace descent::experiments
