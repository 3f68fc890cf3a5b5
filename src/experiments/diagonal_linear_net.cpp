// Diagonal linear network (Arora §8.1.2–8.1.3, Thm 8.1.6/8.1.7; Woodworth et al. 2020):
// w = u⊙u − v⊙v trained by gradient descent on the least squares (8.1) from u = v = α1
// (so w0 = 0). Gradient flow on (u, v) is mirror flow on w with the potential
//   R_α(w) = (α²/4) Σ_i q(w_i/α²),  q(z) = 2 − √(4 + z²) + z arcsinh(z/2),
// since ẇ = −4(u² + v²)⊙∇L and u⊙v = α² is conserved, so u² + v² = √(w² + 4α⁴) = (∇²R_α)⁻¹.
// Its zero-loss limit is argmin_{Xw=y} R_α (Thm 8.1.2 with ∇R_α(0) = 0). R_α behaves like
// ‖w‖₁ (times a log factor) as α → 0 and like ‖w‖₂²/(8α²) as α → ∞, so small initialization
// lands near the min-ℓ1 interpolant and large near the min-ℓ2 one. Both interpolants are
// solved exactly (basis-pursuit LP; Xᵀ(XXᵀ)⁻¹y) and the GD limit is also compared with the
// exact argmin R_α (optim::bregman_projection with the potential below).
#include <fmt/format.h>

#include <cmath>

#include "descent/core/rng.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/optim/geometry.hpp"
#include "descent/optim/optimizers.hpp"
#include "implicit_bias.hpp"

namespace descent::experiments {
namespace {

// R_α of Thm 8.1.7: ∇R_α(w)_i = ¼ arcsinh(w_i/(2α²)), so (∇R_α)⁻¹(z)_i = 2α² sinh(4z_i), and
// the conjugate R_α*(z) = Σ z_i w_i − R_α(w) at w = (∇R_α)⁻¹(z) simplifies to
// Σ (α²/2)(cosh 4z_i − 1).
optim::Potential woodworth_potential(double alpha) {
  const double a2 = alpha * alpha;
  optim::Potential p;
  p.name = fmt::format("R_alpha(alpha={})", alpha);
  p.value = [a2](std::span<const double> w) {
    double s = 0;
    for (double wi : w) {
      const double z = wi / a2;
      s += 0.25 * a2 * (2.0 - std::sqrt(4.0 + z * z) + z * std::asinh(0.5 * z));
    }
    return s;
  };
  p.gradient = [a2](std::span<const double> w, std::span<double> out) {
    for (size_t i = 0; i < w.size(); ++i) out[i] = 0.25 * std::asinh(w[i] / (2.0 * a2));
  };
  p.inverse_gradient = [a2](std::span<const double> z, std::span<double> out) {
    for (size_t i = 0; i < z.size(); ++i) out[i] = 2.0 * a2 * std::sinh(4.0 * z[i]);
  };
  p.conjugate_value = [a2](std::span<const double> z) {
    double s = 0;
    // cosh 4z − 1 = 2 sinh² 2z, without the cancellation at small z (large α), where Newton on
    // the dual would otherwise stall on round-off in the objective.
    for (double zi : z) s += a2 * std::pow(std::sinh(2.0 * zi), 2);
    return s;
  };
  return p;
}

struct DiagonalRun {
  Vector w;
  double loss = 0;
  int64_t steps = 0;
};

// GD on θ = (u, v) for L(u⊙u − v⊙v): ∂/∂u = 2u⊙∇L(w), ∂/∂v = −2v⊙∇L(w).
DiagonalRun train_diagonal_net(const Matrix& X, const Vector& y, double alpha, double learning_rate,
                               int64_t max_steps, double loss_target) {
  const int64_t d = X.cols();
  auto loss = sum_of_squares(X, y);
  Tensor w = Tensor::zeros({d}, DType::f64), gw = Tensor::zeros({d}, DType::f64);
  FunctionObjective reparametrized(2 * d, [&](const Tensor& theta, Tensor& g) {
    for (int64_t j = 0; j < d; ++j) {
      const double u = theta.at(j), v = theta.at(d + j);
      w.set(j, u * u - v * v);
    }
    const double value = loss.value_and_gradient(w, gw);
    for (int64_t j = 0; j < d; ++j) {
      g.set(j, 2.0 * theta.at(j) * gw.at(j));
      g.set(d + j, -2.0 * theta.at(d + j) * gw.at(j));
    }
    return value;
  });
  const Tensor theta0 = Tensor::full({2 * d}, alpha, DType::f64);
  const auto trace = optim::minimize(reparametrized, theta0, optim::sgd(learning_rate),
                                     {.max_steps = max_steps, .value_target = loss_target});
  DiagonalRun r;
  r.w.resize(d);
  for (int64_t j = 0; j < d; ++j) {
    const double u = trace.theta.at(j), v = trace.theta.at(d + j);
    r.w[j] = u * u - v * v;
  }
  r.loss = trace.value;
  r.steps = static_cast<int64_t>(trace.steps.size());
  return r;
}

}  // namespace

DESCENT_EXPERIMENT(diagonal_linear_net, "001 (Arora, ch. 8)", "§8.1.2–8.1.3, Thm 8.1.6/8.1.7 (Woodworth et al. 2020)",
                   "GD on the diagonal network w = u⊙u − v⊙v from u = v = α lands on argmin_{Xw=y} R_α: near the "
                   "min-ℓ1 interpolant for small α and near the min-ℓ2 interpolant for large α") {
  // n, d and the sparsity leave a margin for exact sparse recovery, so the min-ℓ1 interpolant
  // is the teacher and well separated from other interpolants: R_α tends to ‖·‖₁ only like
  // 1/ln(1/α²), and near-ties between ℓ1 vertices would need far smaller α to resolve.
  const int64_t n = ctx.pick(16, 20), d = ctx.pick(40, 60), sparsity = 2;
  Rng rng(ctx.seed);
  Matrix X(n, d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) X(i, j) = rng.normal() / std::sqrt(double(n));
  // Sparse teacher: `sparsity` coordinates of magnitude in [1, 2] with random signs.
  Vector w_teacher = Vector::Zero(d);
  for (int64_t s = 0; s < sparsity;) {
    const int64_t j = static_cast<int64_t>(rng.below(d));
    if (w_teacher[j] != 0) continue;
    w_teacher[j] = rng.uniform(1.0, 2.0) * (rng.bernoulli(0.5) ? 1.0 : -1.0);
    ++s;
  }
  const Vector y = X * w_teacher;
  const Vector w_l1 = min_l1_interpolant(X, y);
  const Vector w_l2 = X.transpose() * (X * X.transpose()).ldlt().solve(y);
  const double gap = (w_l1 - w_l2).norm() / w_l1.norm();
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> Xr = X;
  const std::vector<double> x_rows(Xr.data(), Xr.data() + Xr.size());
  const std::vector<double> zero(d, 0.0);
  const double lambda_max = (2.0 * X * X.transpose()).eigenvalues().real().maxCoeff();  // of ∇²L restricted to rows
  const double w_scale = w_l1.cwiseAbs().maxCoeff();

  const auto alphas = ctx.pick<std::vector<double>>({1e-4, 1e-3, 1e-2, 0.1, 0.3, 1.0, 3.0, 10.0},
                                                    {1e-6, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.2, 0.3, 0.5,
                                                     1.0, 2.0, 3.0, 10.0, 30.0});
  // For small α the limit's small coordinates are learnt last, at a rate ∝ their size, so the
  // last digits of the loss are slow; runs stop at 1e-14 ‖y‖² or the step cap, and count as
  // interpolating below 1e-6 ‖y‖² (the distance to argmin R_α, checked too, bounds what is left).
  const double loss_target = 1e-14 * y.squaredNorm();
  Table& per_alpha = ctx.table("diagonal_linear_net",
                               {"alpha", "learning_rate", "steps", "final_loss", "rel_distance_to_min_l1",
                                "rel_distance_to_min_l2", "rel_distance_to_argmin_R_alpha", "l1_norm", "l2_norm"});
  std::vector<Vector> limits;
  double worst_loss = 0;
  for (double alpha : alphas) {
    // The step is a quarter of the stability limit of the curvature in (u, v), whose preconditioner on w is
    // 4(u² + v²) = 4√(w² + 4α⁴) ≤ 4(|w| + 2α²): GD then stays close to gradient flow.
    const double eta = 1.0 / (lambda_max * 4.0 * (2.0 * w_scale + 2.0 * alpha * alpha));
    const DiagonalRun run = train_diagonal_net(X, y, alpha, eta, ctx.pick<int64_t>(400000, 2000000), loss_target);
    // Residual tolerance 1e-8: at small α the dual's curvature spans e^{±4z} over many orders
    // and Newton ends near 1e-9; that moves the reference far less than the 2% checked.
    const auto r_alpha = optim::bregman_projection(woodworth_potential(alpha), x_rows, n, to_std(y), zero, 1e-8);
    const Vector w_r = Eigen::Map<const Vector>(r_alpha.data(), d);
    const double dl1 = (run.w - w_l1).norm() / w_l1.norm(), dl2 = (run.w - w_l2).norm() / w_l2.norm();
    const double dr = (run.w - w_r).norm() / w_r.norm();
    worst_loss = std::max(worst_loss, run.loss / y.squaredNorm());
    limits.push_back(run.w);
    per_alpha.add_row({alpha, eta, run.steps, run.loss, dl1, dl2, std::max(dr, 1e-300), run.w.lpNorm<1>(),
                       run.w.norm()});
    ctx.progress(int64_t(limits.size()), int64_t(alphas.size()));
  }
  const auto to_l1 = per_alpha.column("rel_distance_to_min_l1"), to_l2 = per_alpha.column("rel_distance_to_min_l2");
  const auto to_r_alpha = per_alpha.column("rel_distance_to_argmin_R_alpha");
  // The transition: distance to the ℓ1 interpolant grows with α and to the ℓ2 one shrinks
  // (up to the GD-vs-flow error), from near the ℓ1 end to near the ℓ2 end.
  // R_α approaches ‖·‖₁ only like 1/ln(1/α²), hence the end tolerance of 5%; the other
  // interpolant must then be at least 30% away, so "near" is unambiguous.
  const double end_tolerance = 0.05, far = 0.3, monotone_slack = 2e-3;
  double l1_smallest_step = INFINITY, l2_largest_step = -INFINITY;
  for (size_t k = 1; k < alphas.size(); ++k) {
    l1_smallest_step = std::min(l1_smallest_step, to_l1[k] - to_l1[k - 1]);
    l2_largest_step = std::max(l2_largest_step, to_l2[k] - to_l2[k - 1]);
  }
  per_alpha.plot({.title = "diagonal net w = u⊙u − v⊙v, GD from u = v = α: where the limit lands",
                  .x_label = "initialization scale α",
                  .y_label = "‖w_∞ − w_{ref}‖ / ‖w_{ref}‖",
                  .series = {{"alpha", "rel_distance_to_min_l1", "to the min-ℓ1 interpolant", true},
                             {"alpha", "rel_distance_to_min_l2", "to the min-ℓ2 interpolant", true},
                             {"alpha", "rel_distance_to_argmin_R_alpha", "to argmin R_α (mirror-flow limit)", true}},
                  .log_y = true,
                  .extra = "set logscale x"});
  Table& weights = ctx.trace("diagonal_linear_net_weights",
                             {"coordinate", "min_l1", "min_l2", "gd_smallest_alpha", "gd_largest_alpha"});
  for (int64_t j = 0; j < d; ++j) weights.add_row({j, w_l1[j], w_l2[j], limits.front()[j], limits.back()[j]});
  weights.plot({.title = fmt::format("limits of GD: α = {} (sparse, ℓ1) and α = {} (dense, ℓ2)", alphas.front(),
                                     alphas.back()),
                .x_label = "coordinate",
                .y_label = "w_j",
                .series = {{"coordinate", "min_l1", "min-ℓ1 interpolant", true},
                           {"coordinate", "min_l2", "min-ℓ2 interpolant", true},
                           {"coordinate", "gd_smallest_alpha", fmt::format("GD, α = {}", alphas.front())},
                           {"coordinate", "gd_largest_alpha", fmt::format("GD, α = {}", alphas.back())}}});
  ctx.measure("n", n);
  ctx.measure("d", d);
  ctx.measure("teacher_sparsity", sparsity);
  // The transition: distance to the ℓ1 interpolant grows with α and to the ℓ2 one shrinks
  // (up to the GD-vs-flow error), from near the ℓ1 end to near the ℓ2 end.
  // R_α approaches ‖·‖₁ only like 1/ln(1/α²), hence the end tolerance of 5%; the other
  // interpolant must then be at least 30% away, so "near" is unambiguous.
  ctx.check.at_most("smallest_alpha_rel_distance_to_min_l1", to_l1.front(), end_tolerance);
  ctx.check.at_least("smallest_alpha_rel_distance_to_min_l2", to_l2.front(), far);
  ctx.check.at_most("largest_alpha_rel_distance_to_min_l2", to_l2.back(), end_tolerance);
  ctx.check.at_least("largest_alpha_rel_distance_to_min_l1", to_l1.back(), far);
  ctx.check.at_least("rel_distance_to_min_l1_smallest_change_in_alpha", l1_smallest_step, -monotone_slack);
  ctx.check.at_most("rel_distance_to_min_l2_largest_change_in_alpha", l2_largest_step, monotone_slack);
  ctx.check.at_most("worst_final_loss_over_squared_norm_y", worst_loss, 1e-6);
  ctx.check.at_most("worst_rel_distance_to_argmin_R_alpha", *std::max_element(to_r_alpha.begin(), to_r_alpha.end()),
                    2e-2);
  ctx.check.at_least("rel_distance_between_interpolants", gap, far);
  ctx.note("X Gaussian N(0, 1/n), y = Xw* with a 2-sparse w*; L = Σ(wᵀx − y)² as (8.1); GD on (u, v) with "
           "η = 1/(4 λ_max(2XXᵀ)(2‖w_ℓ1‖∞ + 2α²)), close to gradient flow; distances are relative ℓ2.");
}

}  // namespace descent::experiments
