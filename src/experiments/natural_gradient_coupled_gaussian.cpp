// Murphy §6.4.3, eqs. 6.91–6.94 (seed 004; example of [SD12]): the model
//   p(x; θ) = N(x; m(θ), I),  m(θ) = (3θ1 + θ2/3, θ1/3) = Jθ,  J = [[3, 1/3], [1/3, 0]],
// the loss L(θ) = −E_{p*}[log p(x; θ)] with p* = p(·; 0), i.e. L = ½‖Jθ‖² + 1 + log 2π, whose
// gradient is JᵀJθ (the seed prints the log-likelihood gradient, spec ⚠), and the Fisher
// F = JᵀJ = [[9 + 1/9, 1], [1, 1/9]] (constant). NGD θ ← θ − ηF⁻¹∇L = (1 − η)θ runs along
// the straight segment from θ0 = (1, −1) to the optimum 0; GD, on a problem with
// condition number κ(F) ≈ 6.9e3, winds and needs far more steps.
#include <Eigen/Dense>
#include <cmath>

#include "descent/experiments/experiment.hpp"
#include "implicit_bias.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(natural_gradient_coupled_gaussian, "004 (Murphy, PML2 ch. 6)", "§6.4.3, eqs. 6.91–6.94, Fig 6.6",
                   "on the coupled Gaussian from θ = (1, −1), natural gradient descent goes in a straight line to the "
                   "optimum while gradient descent winds and takes far more steps") {
  Eigen::Matrix2d J;
  J << 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.0;
  const Eigen::Matrix2d F = J.transpose() * J;
  const double constant = 1.0 + std::log(2.0 * M_PI);
  auto loss = [&](const Eigen::Vector2d& t) { return 0.5 * (J * t).squaredNorm() + constant; };
  const Eigen::Vector2d theta0(1.0, -1.0);
  const Eigen::SelfAdjointEigenSolver<Eigen::Matrix2d> eig(F);
  const double lmax = eig.eigenvalues()[1], lmin = eig.eigenvalues()[0];
  const double target = 1e-8;  // excess loss at which a run counts as converged
  const int64_t max_steps = ctx.pick<int64_t>(200000, 2000000);
  struct Path {
    std::vector<Eigen::Vector2d> points;
    int64_t steps_to_target = -1;
    double length = 0, max_off_segment = 0;
  };
  auto run = [&](bool natural, double eta) {
    Path p;
    Eigen::Vector2d t = theta0;
    const Eigen::Vector2d u = theta0.normalized();
    for (int64_t k = 0; k < max_steps; ++k) {
      if (k < 2000 || k % 100 == 0) p.points.push_back(t);
      if (loss(t) - constant <= target) { p.steps_to_target = k; break; }
      const Eigen::Vector2d g = F * t;  // ∇L
      const Eigen::Vector2d step = natural ? Eigen::Vector2d(F.ldlt().solve(g)) : g;  // Murphy (6.85)
      const Eigen::Vector2d next = t - eta * step;
      p.length += (next - t).norm();
      t = next;
      p.max_off_segment = std::max(p.max_off_segment, (t - t.dot(u) * u).norm());
    }
    p.points.push_back(t);
    return p;
  };
  const double eta_gd = 1.0 / lmax, eta_ngd = 0.1;
  const Path ngd = run(true, eta_ngd), gd = run(false, eta_gd);
  // Path length over the straight distance between the path's ends.
  auto ratio = [&](const Path& p) { return p.length / (theta0 - p.points.back()).norm(); };

  Table& paths = ctx.trace("natural_gradient_coupled_gaussian", {"k", "ngd_theta1", "ngd_theta2", "gd_theta1", "gd_theta2"});
  const size_t rows = std::max(ngd.points.size(), gd.points.size());
  for (size_t k = 0; k < rows; ++k) {
    std::vector<Cell> row = {k};
    for (const Path* p : {&ngd, &gd})
      row.push_back(k < p->points.size() ? p->points[k][0] : NAN),
          row.push_back(k < p->points.size() ? p->points[k][1] : NAN);
    paths.add_row(row);
  }
  paths.plot({.title = "Murphy Fig 6.6: NGD (straight) vs GD (winding) from (1, -1)", .x_label = "theta1",
              .y_label = "theta2",
              .series = {{"ngd_theta1", "ngd_theta2", "natural gradient, eta = 0.1", true},
                         {"gd_theta1", "gd_theta2", "gradient descent, eta = 1/lambda_max", false}}});
  Table& methods = ctx.table("methods", {"method", "learning_rate", "steps_to_excess_loss_1e-8",
                                         "max_distance_from_segment", "path_length_over_distance"});
  methods.add_row({"ngd", eta_ngd, ngd.steps_to_target, ngd.max_off_segment, ratio(ngd)});
  methods.add_row({"gd", eta_gd, gd.steps_to_target, gd.max_off_segment, ratio(gd)});
  ctx.measure("fisher_condition_number", lmax / lmin);
  ctx.check.within("fisher_11", F(0, 0), 9.0 + 1.0 / 9.0, 1e-12);
  ctx.check.within("fisher_12", F(0, 1), 1.0, 1e-12);
  ctx.check.within("fisher_22", F(1, 1), 1.0 / 9.0, 1e-12);
  ctx.check.holds("ngd_reaches_excess_loss_1e-8", ngd.steps_to_target > 0, "NGD reaches excess loss 1e-8");
  ctx.check.below("ngd_max_distance_from_segment", ngd.max_off_segment, 1e-12);
  ctx.check.within("ngd_path_length_over_distance", ratio(ngd), 1.0, 1e-9);
  ctx.check.above("gd_max_distance_from_segment", gd.max_off_segment, 0.1);
  ctx.check.holds("gd_needs_over_100x_the_ngd_steps",
                  gd.steps_to_target < 0 || gd.steps_to_target > 100 * ngd.steps_to_target,
                  "GD needs > 100× the NGD steps (or does not reach the target)");
  ctx.note("GD uses the largest stable-and-monotone step 1/λ_max(F); NGD uses η = 0.1 (any η ∈ (0, 2) is straight). "
           "Paths are the iterates (every step for the first 2000, then every 100th).");
}

}  // namespace descent::experiments
