// Anisotropic noise escapes sharp minima (seed 000: Zhu, Wu, Yu, Wu & Ma, ICML 2019).
//
// From a minimum θ* reached by full-batch GD, run T steps of
//   SGD:        θ ← θ − η g_B(θ),           B: b examples drawn with replacement,
//               whose noise g_B − ∇f has covariance Σ/b (Σ: per-example gradient covariance);
//   isotropic:  θ ← θ − η (∇f(θ) + σ ε),    ε ~ N(0, I_P), σ² = Tr Σ /(b P),
//               the same noise trace, spread evenly over all P directions;
//   GD:         θ ← θ − η ∇f(θ)  (no noise, the reference).
// Zhu et al.'s indicator of how fast a noise escapes is Tr(H Σ_noise) (their Prop. 3: the
// expected first-order loss increase per step is (η²/2) Tr(H Σ_noise)): SGD's noise lies in
// the sharp directions, so Tr(H Σ/b) ≫ Tr H · Tr Σ/(bP) = Tr(H Σ_iso). Measured: both traces
// (Hutch++ with standard errors), the mean loss increase f(θ_T) − f(θ*) over R runs of each
// noise, and the escape rate: the fraction of runs whose loss rises by more than δ.
#include <fmt/format.h>

#include <algorithm>

#include "descent/core/plot.hpp"
#include "descent/core/rng.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/probe/gradient_noise.hpp"
#include "landscape_common.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(anisotropic_noise_escape, "000 (Zhu et al., ICML 2019)",
                   "Prop. 3 and §5, escaping from sharp minima",
                   "From a minimum found by GD, SGD's anisotropic noise escapes more often than isotropic Gaussian "
                   "noise of the same trace, and Tr(HΣ) is larger for it") {
  const bool quick = ctx.quick;
  const int64_t n = quick ? 300 : 1000;
  const int64_t fit_steps = quick ? 300 : 2000;
  const int64_t batch = quick ? 10 : 20;
  const double eta = quick ? 0.5 : 0.5;
  const int64_t T = quick ? 60 : 300;
  const int runs = quick ? 4 : 10;
  const double delta = 0.05;  // escape: f(θ_T) − f(θ*) > δ
  const data::Dataset d = landscape::fashion_subset(n);
  nn::Model model = nn::mlp(784, 10, {.hidden = {quick ? int64_t(16) : int64_t(64)}, .activation = nn::Activation::tanh});
  model.initialize(ctx.seed);
  nn::ModelObjective f(model, nn::Loss::softmax_cross_entropy, d.inputs, d.targets, 1000);
  Tensor theta_star = model.parameters().clone();
  const double fit_loss = landscape::gradient_descent(f, theta_star, 0.2, fit_steps);
  const int64_t P = model.num_parameters();

  // Noise structure at θ*.
  const size_t cap = size_t(256) << 20;
  auto h = probe::hessian_operator(f, theta_star);
  auto sigma = probe::gradient_noise_covariance_operator(f, theta_star, {}, cap);
  probe::NoiseCurvatureOptions o;
  o.top_k = 1;
  o.trace_matvecs = quick ? 30 : 99;
  o.lanczos.tolerance = 1e-3;
  o.seed = ctx.seed;
  const probe::NoiseCurvatureAlignment a = probe::noise_curvature_alignment(h, sigma, o);
  const double trace_h_sgd = a.trace_hessian_noise.trace / double(batch);
  const double trace_h_iso = a.isotropic_reference / double(batch);
  const double sigma_iso = std::sqrt(a.trace_noise / double(batch * P));

  // Escape runs.
  enum Kind { sgd, isotropic, gd };
  const char* names[] = {"sgd", "isotropic", "gd"};
  Table& runs_csv = ctx.trace("anisotropic_noise_escape", {"noise", "run", "step", "loss_increase"});
  std::vector<std::vector<double>> increase(3);
  std::vector<std::vector<double>> mean_curve(3, std::vector<double>(T / 10 + 1, 0.0));
  Tensor g = Tensor::zeros({P}, model.dtype()), eps = Tensor::zeros({P}, model.dtype());
  for (int kind = 0; kind < 3; ++kind) {
    for (int run = 0; run < (kind == gd ? 1 : runs); ++run) {
      ctx.progress(kind * runs + run, 2 * runs + 1, names[kind]);
      Rng rng(ctx.seed + 1000, uint64_t(kind * runs + run));
      Tensor theta = theta_star.clone();
      std::vector<int64_t> idx(batch);
      for (int64_t t = 0; t <= T; ++t) {
        if (t % 10 == 0) {
          const double inc = f.value(theta) - fit_loss;
          mean_curve[kind][t / 10] += inc / (kind == gd ? 1 : runs);
          runs_csv.add_row({names[kind], run, t, inc});
          if (t == T) increase[kind].push_back(inc);
        }
        if (t == T) break;
        if (kind == sgd) {
          for (auto& i : idx) i = int64_t(rng.below(uint64_t(n)));
          f.batch_value_and_gradient(theta, idx, g);
        } else {
          f.value_and_gradient(theta, g);
          if (kind == isotropic) {
            rng.fill_normal(eps, 0.0, sigma_iso);
            axpy(g, 1.0, eps);
          }
        }
        axpy(theta, -eta, g);
      }
    }
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / double(v.size());
  };
  auto rate = [&](const std::vector<double>& v) {
    return double(std::count_if(v.begin(), v.end(), [&](double x) { return x > delta; })) / double(v.size());
  };
  const double inc_sgd = mean(increase[sgd]), inc_iso = mean(increase[isotropic]), inc_gd = increase[gd][0];
  const double rate_sgd = rate(increase[sgd]), rate_iso = rate(increase[isotropic]);
  Table& curves = ctx.trace("anisotropic_noise_escape_mean", {"step", "sgd", "isotropic", "gd"});
  for (size_t i = 0; i < mean_curve[0].size(); ++i)
    curves.add_row({i * 10, mean_curve[sgd][i], mean_curve[isotropic][i], mean_curve[gd][i]});
  curves.plot({.title = "Loss increase from a GD minimum: SGD noise vs isotropic noise of equal trace",
               .x_label = "step",
               .y_label = "f(θ_t) − f(θ*)",
               .series = {{"step", "sgd", "SGD noise"}, {"step", "isotropic", "isotropic, same trace"},
                          {"step", "gd", "GD (no noise)"}},
               .extra = fmt::format("set arrow from graph 0, first {} to graph 1, first {} nohead dt 2", delta, delta)});
  ctx.measure("examples", n);
  ctx.measure("parameters", P);
  ctx.measure("fit_loss", fit_loss);
  ctx.measure("batch", batch);
  ctx.measure("eta", eta);
  ctx.measure("steps", T);
  ctx.measure("runs", runs);
  ctx.measure("escape_threshold_delta", delta);
  ctx.measure("trace_hessian_sgd_noise", trace_h_sgd);
  ctx.measure("trace_hessian_sgd_noise_standard_error", a.trace_hessian_noise.standard_error / double(batch));
  ctx.measure("trace_hessian_isotropic_noise", trace_h_iso);
  ctx.measure("trace_hessian_standard_error", a.trace_hessian.standard_error);
  ctx.measure("noise_trace_per_step", a.trace_noise / double(batch));
  ctx.measure("loss_increase_gd", inc_gd);
  ctx.measure("sharpness", a.hessian_top.pairs[0].value);
  ctx.measure("sharpness_relative_residual", a.hessian_top.pairs[0].relative_residual);
  ctx.check.at_least("trace_ratio_sgd_over_isotropic", trace_h_sgd / trace_h_iso, 2.0);
  ctx.check.above("mean_loss_increase_sgd", inc_sgd, inc_iso);
  ctx.check.above("escape_rate_sgd", rate_sgd, rate_iso);
  ctx.note(fmt::format(
      "Fashion-MNIST first {} training images, MLP 784-{}-10 tanh, cross-entropy; θ* from {} GD steps (η = 0.2). "
      "Noise traces at θ*: the isotropic σ is fixed there (σ² = Tr Σ/(bP)). Escape = f(θ_T) − f(θ*) > {} after {} "
      "steps at η = {}. The check's expected values are the isotropic noise's (mean increase, escape rate).",
      n, quick ? 16 : 64, fit_steps, delta, T, eta));
}

}  // namespace descent::experiments
