// Spectral bias (Suzuki, COSS2020 slides §2.4; Arora §9.1 eq. 9.10): in the kernel regime
// the residual's component along an eigenfunction of the NTK with eigenvalue λ decays like
// e^{−ηλt/n}, so components with large eigenvalues (low frequencies) are fitted first and
// high-frequency ones later; and the eigenvalues decay polynomially.
//
// Inputs: n equispaced points on the unit circle, x_i = (cos θ_i, sin θ_i). The infinite-
// width NTK of a bias-free two-layer ReLU net is a dot-product kernel, so its Gram on
// equispaced points is circulant: its eigenvectors are exactly the Fourier modes cos kθ,
// sin kθ, with eigenvalue λ_k (a 2-dimensional eigenspace for 0 < k < n/2). The target is
// a sum of equal-amplitude sinusoids of several frequencies, y = A Σ_k cos(kθ + φ_k); a wide
// net in the NTK parameterization (ntk_common.hpp) is trained by GD from g_0 = f − f_0 = 0,
// and each frequency's fraction still unfitted, ‖P_k(g_t − y)‖/‖P_k y‖, is compared with the
// kernel prediction (1 − ηλ_k/n)^t ≈ e^{−ηλ_k t/n}.
//
// Odd frequencies k ≥ 3 are avoided: for this kernel their eigenvalues vanish (the
// arc-cosine kernels of orders 0 and 1 have no odd harmonics above 1; Bietti & Mairal 2019),
// so the kernel regime never fits them. The result reports λ_3/λ_2 to show it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "descent/core/rng.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/probe/empirical_ntk.hpp"
#include "descent/probe/kernel_regression.hpp"
#include "descent/probe/kernels.hpp"
#include "ntk_common.hpp"

namespace descent::experiments {
namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;

// n equispaced points on the unit circle: X [n, 2] and their angles.
Tensor circle_points(int64_t n, std::vector<double>& angles) {
  Tensor X = Tensor::zeros({n, 2}, DType::f64);
  angles.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    angles[i] = kTwoPi * double(i) / double(n);
    X.set(2 * i, std::cos(angles[i]));
    X.set(2 * i + 1, std::sin(angles[i]));
  }
  return X;
}

// ‖P_k r‖: the norm of r's projection on span{cos kθ, sin kθ} (orthogonal, each of squared
// norm n/2 on n equispaced points, 0 < k < n/2).
double frequency_component(const Tensor& r, const std::vector<double>& angles, int64_t k) {
  double c = 0, s = 0;
  for (size_t i = 0; i < angles.size(); ++i) {
    c += r.at(i) * std::cos(double(k) * angles[i]);
    s += r.at(i) * std::sin(double(k) * angles[i]);
  }
  return std::sqrt(2.0 * (c * c + s * s) / double(angles.size()));
}

// λ_k = c_kᵀ Θ c_k / c_kᵀ c_k for c_k = cos kθ: exact for a circulant Gram, whose
// eigenvectors are the Fourier modes.
double frequency_eigenvalue(const Tensor& gram, const std::vector<double>& angles, int64_t k) {
  const int64_t n = int64_t(angles.size());
  Tensor c = Tensor::zeros({n, 1}, DType::f64);
  for (int64_t i = 0; i < n; ++i) c.set(i, std::cos(double(k) * angles[i]));
  return dot(c, matmul(gram, c)) / dot(c, c);
}

}  // namespace

DESCENT_EXPERIMENT(ntk_spectral_bias, "002 (Suzuki, COSS2020 slides); 001 (Arora, ch. 9)",
                   "Suzuki §2.4 (spectral bias); Arora §9.1 eq. 9.10",
                   "spectral bias: components along NTK eigenfunctions with large eigenvalues (low frequencies) are "
                   "fitted first, each at the kernel rate e^{−ηλ_k t/n}; the eigenvalues decay polynomially") {
  const int64_t n = ctx.pick(64, 128), width = ctx.pick(8192, 32768);
  const auto frequencies = ctx.pick<std::vector<int64_t>>({1, 2, 4, 8}, {1, 2, 4, 8, 16});
  const double fitted_fraction = 0.9;  // "fitted": 90% of the component's amplitude removed
  const double tolerance = 0.1;        // on measured / predicted fit time
  // Amplitude of each sinusoid. The kernel prediction is linear in y, but the weights must
  // move by ~‖y_k‖/√λ_k to fit frequency k (yᵀH^{-1}y), and the kernel drifts with them: a
  // small amplitude keeps the high frequencies in the kernel regime at a width that runs fast.
  const double amplitude = 0.01;

  std::vector<double> angles;
  const Tensor X = circle_points(n, angles);
  Rng rng(ctx.seed);
  Tensor y = Tensor::zeros({n, 1}, DType::f64);
  for (int64_t k : frequencies) {
    const double phase = rng.uniform(0.0, kTwoPi);
    for (int64_t i = 0; i < n; ++i) y.set(i, y.at(i) + amplitude * std::cos(double(k) * angles[i] + phase));
  }

  // Θ∞ of the same network (kernels.hpp: depth 1, σ_w² = 2, no bias).
  probe::KernelSpec spec;
  spec.depth = 1;
  spec.weight_variance = 2.0;
  const Tensor gram = probe::ntk_kernel(spec, X);
  const double lambda_max = probe::gram_spectrum(gram).eigenvalues.at(0);
  const double lr = 0.5 * double(n) / lambda_max;
  std::vector<double> lambda, predicted_fit;  // per frequency
  for (int64_t k : frequencies) {
    lambda.push_back(frequency_eigenvalue(gram, angles, k));
    // (1 − ηλ/n)^t = 1 − fitted_fraction.
    predicted_fit.push_back(std::log(1.0 - fitted_fraction) / std::log(1.0 - lr * lambda.back() / double(n)));
  }
  const int64_t steps = int64_t(std::ceil(1.5 * *std::max_element(predicted_fit.begin(), predicted_fit.end()))) + 5;

  nn::Model model = ntk::two_layer_relu(2, width, ctx.seed);
  const Tensor f0 = model.predict(X);
  // The finite-width kernel at initialization, to tell its fluctuation (O(1/√m)) from drift.
  const Tensor empirical_gram = probe::empirical_ntk(model, X, {.dtype = DType::f64});
  std::vector<double> y_norm;
  for (int64_t k : frequencies) y_norm.push_back(frequency_component(y, angles, k));
  // unfitted[t][j] = ‖P_k(g_t − y)‖ / ‖P_k y‖ for frequency j; training f on y + f_0 trains
  // g = f − f_0 on y from g_0 = 0 (as in ntk_wide_net_kernel_regression).
  std::vector<std::vector<double>> unfitted;
  ntk::gradient_descent(model, X, add(y, f0), lr, steps, [&](int64_t) {
    const Tensor r = sub(sub(model.predict(X), f0), y);
    std::vector<double> row;
    for (size_t j = 0; j < frequencies.size(); ++j) row.push_back(frequency_component(r, angles, frequencies[j]) / y_norm[j]);
    unfitted.push_back(row);
  });

  // Measured fit time: the first crossing of 1 − fitted_fraction, log-interpolated between steps.
  Table& per_frequency = ctx.table("per_frequency", {"frequency", "kernel_eigenvalue", "measured_fit_step",
                                                     "predicted_fit_step", "empirical_over_kernel_eigenvalue",
                                                     "measured_over_predicted", "final_unfitted_fraction"});
  std::vector<double> measured_fit;
  double worst_ratio_error = 0;
  const double level = std::log(1.0 - fitted_fraction);
  for (size_t j = 0; j < frequencies.size(); ++j) {
    double t = std::numeric_limits<double>::infinity();
    for (int64_t s = 1; s <= steps; ++s) {
      if (unfitted[s][j] > 1.0 - fitted_fraction) continue;
      const double a = std::log(unfitted[s - 1][j]), b = std::log(unfitted[s][j]);
      t = double(s - 1) + (a - level) / (a - b);
      break;
    }
    measured_fit.push_back(t);
    const double ratio = t / predicted_fit[j];
    worst_ratio_error = std::max(worst_ratio_error, std::isfinite(ratio) ? std::abs(ratio - 1.0) : 1e300);
    per_frequency.add_row({frequencies[j], lambda[j], t, predicted_fit[j],
                           frequency_eigenvalue(empirical_gram, angles, frequencies[j]) / lambda[j], ratio,
                           unfitted.back()[j]});
  }

  // Eigen-decay of Θ∞ on a finer circle (Suzuki: "eigenvalues decay polynomially"): the
  // log-log slope of λ_k over even k in [4, 64], far below the n/2 aliasing limit.
  const int64_t n_spectrum = 512;
  std::vector<double> fine_angles;
  const Tensor fine_gram = probe::ntk_kernel(spec, circle_points(n_spectrum, fine_angles));
  std::vector<double> ks, lambdas;
  for (int64_t k = 4; k <= 64; k += 2) {
    ks.push_back(double(k));
    lambdas.push_back(frequency_eigenvalue(fine_gram, fine_angles, k));
  }
  const double decay_exponent = ntk::loglog_slope(ks, lambdas);
  const double odd_over_even = frequency_eigenvalue(fine_gram, fine_angles, 3) / frequency_eigenvalue(fine_gram, fine_angles, 2);
  const double expected_exponent = -2.0, exponent_tolerance = 0.2;

  std::vector<std::string> columns = {"step"};
  for (int64_t k : frequencies)
    columns.push_back("measured_k" + std::to_string(k)), columns.push_back("predicted_k" + std::to_string(k));
  Table& curves = ctx.trace("ntk_spectral_bias", columns);
  for (int64_t s = 0; s <= steps; ++s) {
    std::vector<Cell> row = {s};
    for (size_t j = 0; j < frequencies.size(); ++j)
      row.push_back(unfitted[s][j]), row.push_back(std::pow(1.0 - lr * lambda[j] / double(n), double(s)));
    curves.add_row(row);
  }
  PlotSpec plot{.title = "unfitted fraction of cos(k theta): net (points) vs kernel (1 - eta lambda_k/n)^t",
                .x_label = "GD step t", .y_label = "||P_k (g_t - y)|| / ||P_k y||", .log_y = true,
                .extra = "set yrange [1e-3:1.5]"};
  for (int64_t k : frequencies) {
    plot.series.push_back({"step", "measured_k" + std::to_string(k), "k = " + std::to_string(k), true});
    plot.series.push_back({"step", "predicted_k" + std::to_string(k), "kernel, k = " + std::to_string(k), false});
  }
  curves.plot(plot);
  Table& spectrum = ctx.trace("ntk_spectral_bias_spectrum", {"frequency", "eigenvalue", "power_law"});
  for (size_t i = 0; i < ks.size(); ++i)
    spectrum.add_row({ks[i], lambdas[i], lambdas[0] * std::pow(ks[i] / ks[0], expected_exponent)});
  spectrum.plot({.title = "infinite-width NTK eigenvalue of frequency k on the circle (even k)", .x_label = "k",
                 .y_label = "lambda_k", .series = {{"frequency", "eigenvalue", "lambda_k", true},
                                                    {"frequency", "power_law", "k^-2", false}},
                 .log_y = true, .extra = "set logscale x"});
  ctx.measure("n", n);
  ctx.measure("width", width);
  ctx.measure("steps", steps);
  ctx.measure("learning_rate", lr);
  ctx.measure("lambda_max", lambda_max);
  ctx.measure("lambda_3_over_lambda_2", odd_over_even);
  // Frequencies are listed by descending λ, so fit times must ascend.
  ctx.check.decreasing("kernel_eigenvalue_by_frequency", lambda);
  ctx.check.increasing("measured_fit_step_by_frequency", measured_fit);
  ctx.check.at_most("max_relative_fit_time_error", worst_ratio_error, tolerance);
  ctx.check.within("eigen_decay_exponent", decay_exponent, expected_exponent, exponent_tolerance);
  ctx.note("Two-layer bias-free ReLU net, NTK parameterization, both layers trained, n equispaced points on the unit "
           "circle, target Σ_k A cos(kθ + φ_k) with A = 0.01 and seeded phases; GD on (1/n)Σ½(g − y)² with "
           "η = n/(2λ_max(Θ∞)) from g_0 = 0. λ_k = Rayleigh quotient of the infinite-width NTK Gram (probe::ntk_kernel) "
           "on cos kθ. Fit step = first step where the unfitted fraction of frequency k falls to 10% "
           "(log-interpolated); predicted ln(0.1)/ln(1 − ηλ_k/n). The exponent −2 = −d for the NTK on the circle "
           "S^1 ⊂ R^2 (Bietti & Mairal 2019: λ_k ~ k^{−d} on S^{d−1}; the slides state only a polynomial decay). "
           "Odd k ≥ 3 have λ_k = 0.");
}

}  // namespace descent::experiments
