// Escaping a strict saddle (Arora §6.4 and ch. 7, Thm 7.2.1; Jin et al. 2017): the top
// eigenvector problem f(x) = ¼‖M − xxᵀ‖_F² for a symmetric M with eigenvalues λ1 > λ2 ≥ … ≥ 0
// has ∇f = (xxᵀ − M)x = ‖x‖²x − Mx and ∇²f = ‖x‖²I + 2xxᵀ − M, so x = 0 is a critical point
// with ∇²f(0) = −M: a strict saddle. Its global minima are ±√λ1 v1, f* = ¼(‖M‖_F² − λ1²).
// Plain GD started at 0 never moves (∇f(0) = 0). Perturbed GD (optim::perturbed_gradient_descent,
// ch. 7's rule: a uniform draw from the ball of radius r when ‖∇f‖ ≤ ε and none in the last
// 𝒯 steps) escapes: near 0, x_t ≈ (I + ηM)^t ξ, and the v1 part of a uniform ξ is ~ r/√d, so
// the escape takes ≈ ln(√(λ1 d)/r) / ln(1 + ηλ1) steps: logarithmic in the dimension d, the
// theorem's polylog(d). Measured: escape steps (first t with f(x_t) ≤ f(0) − λ1²/8, half way
// down) for several d, their growth exponent in d, and the end point against ±√λ1 v1.
#include <Eigen/Dense>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "descent/core/rng.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/optim/langevin.hpp"
#include "descent/optim/optimizers.hpp"
#include "implicit_bias.hpp"

namespace descent::experiments {
namespace {

// f(x) = ¼‖M − xxᵀ‖_F² = ¼(‖M‖_F² − 2xᵀMx + ‖x‖⁴) and ∇f = ‖x‖²x − Mx (Arora §6.4).
FunctionObjective top_eigenvector_objective(const Matrix& M) {
  const double m_norm2 = M.squaredNorm();
  return FunctionObjective(M.rows(), [M, m_norm2](const Tensor& theta, Tensor& g) {
    const Eigen::Map<const Vector> x(theta.data<double>(), M.rows());
    Eigen::Map<Vector> grad(g.data<double>(), M.rows());
    const Vector mx = M * x;
    const double xx = x.squaredNorm();
    grad = xx * x - mx;
    return 0.25 * (m_norm2 - 2.0 * x.dot(mx) + xx * xx);
  });
}

struct Problem {
  Matrix M;
  Vector top;  // √λ1 v1
  double lambda1 = 1.0, lambda2 = 0.5, f_saddle = 0, f_min = 0;
};

// M = Q diag(λ) Qᵀ with a seeded Haar-random Q, λ1 = 1, λ2 = ½ and the rest uniform in [0, ½).
Problem make_problem(int64_t d, Rng& rng) {
  Problem p;
  Matrix G(d, d);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j) G(i, j) = rng.normal();
  Eigen::HouseholderQR<Matrix> qr(G);
  Matrix Q = qr.householderQ();
  const Vector r_diag = qr.matrixQR().diagonal();
  for (int64_t j = 0; j < d; ++j)
    if (r_diag[j] < 0) Q.col(j) *= -1.0;  // sign fix that makes Q Haar-distributed
  Vector lambda(d);
  lambda[0] = p.lambda1;
  lambda[1] = p.lambda2;
  for (int64_t i = 2; i < d; ++i) lambda[i] = rng.uniform(0.0, p.lambda2);
  p.M = Q * lambda.asDiagonal() * Q.transpose();
  p.M = 0.5 * (p.M + p.M.transpose());
  p.top = std::sqrt(p.lambda1) * Q.col(0);
  p.f_saddle = 0.25 * p.M.squaredNorm();
  p.f_min = p.f_saddle - 0.25 * p.lambda1 * p.lambda1;
  return p;
}

}  // namespace

DESCENT_EXPERIMENT(perturbed_gd_saddle_escape, "001 (Arora, ch. 6–7)", "§6.4, Thm 7.2.1",
                   "perturbed GD escapes the strict saddle x = 0 of ¼‖M − xxᵀ‖_F² and reaches ±√λ1 v1, in a number "
                   "of steps that grows only polylogarithmically with the dimension, while plain GD started at the "
                   "saddle stays") {
  const auto dims = ctx.pick<std::vector<int64_t>>({8, 32, 128, 512}, {8, 16, 32, 64, 128, 256, 512, 1024, 2048});
  const int trials = ctx.pick(12, 32);
  // Thm 7.2.1's parameters: η = 1/ℓ, r = ε, 𝒯 = ℓ/√(ρε), with ℓ = 3λ1 ≥ ‖∇²f(x)‖ and
  // ρ = 6√λ1 ≥ the Lipschitz constant of ∇²f on ‖x‖² ≤ λ1; none depends on d.
  const double lipschitz = 3.0, rho = 6.0, eps = 1e-4;
  optim::PerturbedGdOptions pgd{.learning_rate = 1.0 / lipschitz,
                                .gradient_threshold = eps,
                                .radius = eps,
                                .quiet_steps = static_cast<int64_t>(std::ceil(lipschitz / std::sqrt(rho * eps)))};
  const int64_t max_steps = 5000;
  Rng rng(ctx.seed);
  Table& per_dimension = ctx.table("perturbed_gd_saddle_escape",
                                   {"d", "mean_escape_steps", "median_escape_steps", "max_escape_steps",
                                    "predicted_escape_steps", "perturbations_per_run", "plain_gd_max_abs_x"});
  std::vector<double> mean_escape, predicted;
  std::vector<std::vector<double>> curves;  // f(x_t) − f* of the first trial per dimension
  bool all_reach_minimum = true, gd_stays = true;
  double worst_final_distance = 0;
  for (int64_t d : dims) {
    const Problem p = make_problem(d, rng);
    auto f = top_eigenvector_objective(p.M);
    const Tensor zero = Tensor::zeros({d}, DType::f64);
    // Stop once f − f* ≤ ε²/μ, μ = λ1 − λ2 the smallest curvature at the minimum: a point
    // with ‖∇f‖ ≤ ε is already that close, so no perturbation fires at the minimum.
    const double mu = p.lambda1 - p.lambda2, target = p.f_min + eps * eps / mu;
    std::vector<double> escapes;
    int64_t perturbations = 0;
    for (int trial = 0; trial < trials; ++trial) {
      pgd.seed = rng.next_u64();
      const auto run = optim::perturbed_gradient_descent(f, zero, pgd, {.max_steps = max_steps, .value_target = target});
      int64_t escape = -1;
      for (const auto& s : run.trace.steps)
        if (s.value <= p.f_saddle - 0.125 * p.lambda1 * p.lambda1) { escape = s.step; break; }
      const Eigen::Map<const Vector> x(run.trace.theta.data<double>(), d);
      const double distance = std::min((x - p.top).norm(), (x + p.top).norm()) / p.top.norm();
      worst_final_distance = std::max(worst_final_distance, distance);
      all_reach_minimum &= run.trace.converged && escape >= 0 && distance <= 1e-3;
      escapes.push_back(escape >= 0 ? double(escape) : double(max_steps));
      perturbations += static_cast<int64_t>(run.perturbation_steps.size());
      if (trial == 0) {
        std::vector<double> curve;
        for (const auto& s : run.trace.steps) curve.push_back(std::max(s.value - p.f_min, 1e-300));
        curves.push_back(curve);
      }
    }
    // Plain GD from the saddle: ∇f(0) = 0, so it must not move at all.
    const auto gd = optim::minimize(f, zero, optim::sgd(pgd.learning_rate), {.max_steps = max_steps});
    double gd_norm = 0;
    for (int64_t j = 0; j < d; ++j) gd_norm = std::max(gd_norm, std::abs(gd.theta.at(j)));
    gd_stays &= gd_norm == 0.0 && gd.value == f.value(zero);
    double mean = 0;
    for (double e : escapes) mean += e / trials;
    std::sort(escapes.begin(), escapes.end());
    // Linearized escape: x_t ≈ (1 + ηλ1)^t ⟨ξ, v1⟩ v1 with ⟨ξ, v1⟩ ≈ r Z/√d, Z ~ N(0, 1), and
    // f(s v1) = f(0) − λ1 s²/2 + s⁴/4 is half way down at s² = λ1(1 − 1/√2). Averaging the log
    // over Z (E ln|Z| = −(γ + ln 2)/2) gives the mean step count.
    const double s_half = std::sqrt(p.lambda1 * (1.0 - 1.0 / std::sqrt(2.0)));
    const double mean_log_abs_normal = -0.5 * (0.5772156649015329 + std::log(2.0));
    const double prediction = (std::log(s_half * std::sqrt(double(d)) / pgd.radius) - mean_log_abs_normal) /
                              std::log(1.0 + pgd.learning_rate * p.lambda1);
    mean_escape.push_back(mean);
    predicted.push_back(prediction);
    per_dimension.add_row({d, mean, escapes[escapes.size() / 2], escapes.back(), prediction,
                           double(perturbations) / trials, gd_norm});
    ctx.progress(int64_t(per_dimension.rows()), int64_t(dims.size()));
  }
  // Growth exponent: least-squares slope of log(mean escape steps) against log d. Linear
  // growth would be 1, √d growth ½; the theorem says polylog, so a small slope.
  const size_t k = dims.size();
  double mx = 0, my = 0, sxy = 0, sxx = 0;
  for (size_t i = 0; i < k; ++i) mx += std::log(double(dims[i])) / k, my += std::log(mean_escape[i]) / k;
  for (size_t i = 0; i < k; ++i) {
    const double dx = std::log(double(dims[i])) - mx;
    sxy += dx * (std::log(mean_escape[i]) - my), sxx += dx * dx;
  }
  const double exponent = sxy / sxx, max_exponent = 0.25;
  // Agreement with the log-d prediction of the linearized escape, within a factor.
  double worst_ratio = 1.0;
  for (size_t i = 0; i < k; ++i) worst_ratio = std::max({worst_ratio, mean_escape[i] / predicted[i], predicted[i] / mean_escape[i]});
  const double max_ratio = 1.5;

  per_dimension.plot({.title = "perturbed GD from the saddle x = 0 of ¼‖M − xxᵀ‖²: escape steps vs dimension",
                      .x_label = "dimension d",
                      .y_label = "steps to f ≤ f(0) − λ1²/8",
                      .series = {{"d", "mean_escape_steps", fmt::format("measured (mean of {} runs)", trials), true},
                                 {"d", "predicted_escape_steps", "linearized prediction ∝ ln(√d/r) / ln(1 + ηλ1)"}},
                      .extra = "set logscale x\nset yrange [0:*]"});
  std::vector<std::string> columns = {"step"};
  for (int64_t d : dims) columns.push_back(fmt::format("d{}", d));
  Table& loss = ctx.trace("perturbed_gd_saddle_escape_loss", columns);
  size_t rows = 0;
  for (const auto& c : curves) rows = std::max(rows, c.size());
  for (size_t t = 0; t < rows; ++t) {
    std::vector<Cell> row = {t};
    for (const auto& c : curves) row.push_back(t < c.size() ? c[t] : NAN);
    loss.add_row(row);
  }
  std::vector<PlotSeries> series;
  for (int64_t d : dims) series.push_back({"step", fmt::format("d{}", d), fmt::format("d = {}", d)});
  loss.plot({.title = "perturbed GD: f(x_t) − f* (plain GD from 0 stays at f(0) − f* = λ1²/4)",
             .x_label = "step",
             .y_label = "f(x_t) − f*",
             .series = series,
             .log_y = true});
  ctx.measure("worst_final_rel_distance_to_minimum", worst_final_distance);
  ctx.measure("learning_rate", pgd.learning_rate);
  ctx.measure("epsilon", eps);
  ctx.measure("radius", pgd.radius);
  ctx.measure("quiet_steps", pgd.quiet_steps);
  ctx.check.holds("all_runs_reach_plus_minus_sqrt_lambda1_v1", all_reach_minimum,
                  "every run converges, escapes and ends within 1e-3 (relative) of ±√λ1 v1");
  ctx.check.holds("plain_gd_stays_at_saddle", gd_stays, "plain GD from x = 0 does not move");
  // Polylog in d: a small positive growth exponent (linear growth would be 1, √d growth ½).
  ctx.check.below("escape_steps_growth_exponent_in_d", exponent, max_exponent);
  ctx.check.above("escape_steps_growth_exponent_in_d_is_positive", exponent, 0.0);
  ctx.check.at_most("worst_ratio_measured_vs_predicted", worst_ratio, max_ratio);
  ctx.note("M = Q diag(1, 0.5, U[0, 0.5)…) Qᵀ with a seeded Haar Q; η = 1/3, ε = r = 1e-4, 𝒯 = ⌈ℓ/√(ρε)⌉ "
           "with ℓ = 3, ρ = 6; runs stop when f − f* ≤ ε²/(λ1 − λ2).");
}

}  // namespace descent::experiments
