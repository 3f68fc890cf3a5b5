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
#include "output.hpp"

namespace descent::experiments {
namespace {

Result run_natural_gradient_coupled_gaussian(const RunOptions& opt) {
  Eigen::Matrix2d J;
  J << 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.0;
  const Eigen::Matrix2d F = J.transpose() * J;
  const double constant = 1.0 + std::log(2.0 * M_PI);
  auto loss = [&](const Eigen::Vector2d& t) { return 0.5 * (J * t).squaredNorm() + constant; };
  const Eigen::Vector2d theta0(1.0, -1.0);
  const Eigen::SelfAdjointEigenSolver<Eigen::Matrix2d> eig(F);
  const double lmax = eig.eigenvalues()[1], lmin = eig.eigenvalues()[0];
  const double target = 1e-8;  // excess loss at which a run counts as converged
  const int64_t max_steps = opt.quick ? 200000 : 2000000;
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

  auto csv = open_output(opt.output_dir, "natural_gradient_coupled_gaussian.csv");
  if (csv.is_open()) {
    csv << "k,ngd_theta1,ngd_theta2,gd_theta1,gd_theta2\n";
    const size_t rows = std::max(ngd.points.size(), gd.points.size());
    for (size_t k = 0; k < rows; ++k) {
      csv << k;
      for (const Path* p : {&ngd, &gd}) {
        if (k < p->points.size()) csv << "," << p->points[k][0] << "," << p->points[k][1];
        else csv << ",NaN,NaN";
      }
      csv << "\n";
    }
    csv.close();
    plot_csv(opt.output_dir, "natural_gradient_coupled_gaussian",
             {.title = "Murphy Fig 6.6: NGD (straight) vs GD (winding) from (1, -1)", .x_label = "theta1",
              .y_label = "theta2",
              .series = {{"ngd_theta1", "ngd_theta2", "natural gradient, eta = 0.1", true},
                         {"gd_theta1", "gd_theta2", "gradient descent, eta = 1/lambda_max", false}}});
  }
  Result r;
  r.measured = {{"fisher", {{F(0, 0), F(0, 1)}, {F(1, 0), F(1, 1)}}},
                {"fisher_condition_number", lmax / lmin},
                {"ngd", {{"learning_rate", eta_ngd}, {"steps_to_excess_loss_1e-8", ngd.steps_to_target},
                         {"max_distance_from_segment", ngd.max_off_segment}, {"path_length_over_distance", ratio(ngd)}}},
                {"gd", {{"learning_rate", eta_gd}, {"steps_to_excess_loss_1e-8", gd.steps_to_target},
                        {"max_distance_from_segment", gd.max_off_segment}, {"path_length_over_distance", ratio(gd)}}}};
  r.expected = {{"fisher", {{9.0 + 1.0 / 9.0, 1.0}, {1.0, 1.0 / 9.0}}},
                {"ngd.max_distance_from_segment", 0.0}, {"ngd.path_length_over_distance", 1.0},
                {"gd", "leaves the segment (> 0.1) and needs > 100× the NGD steps"}};
  r.tolerance = {{"fisher", 1e-12}, {"ngd.max_distance_from_segment", 1e-12}, {"ngd.path_length_over_distance", 1e-9}};
  const bool fisher_ok = std::abs(F(0, 0) - (9.0 + 1.0 / 9.0)) < 1e-12 && std::abs(F(0, 1) - 1.0) < 1e-12 &&
                         std::abs(F(1, 1) - 1.0 / 9.0) < 1e-12;
  r.passed = fisher_ok && ngd.steps_to_target > 0 && ngd.max_off_segment < 1e-12 &&
             std::abs(ratio(ngd) - 1.0) < 1e-9 && gd.max_off_segment > 0.1 &&
             (gd.steps_to_target < 0 || gd.steps_to_target > 100 * ngd.steps_to_target);
  r.notes = "GD uses the largest stable-and-monotone step 1/λ_max(F); NGD uses η = 0.1 (any η ∈ (0, 2) is straight). "
            "Paths are the iterates (every step for the first 2000, then every 100th).";
  return r;
}

}  // namespace

void register_natural_gradient_coupled_gaussian(Registry& reg) {
  reg.add({"natural_gradient_coupled_gaussian",
           {"004 (Murphy, PML2 ch. 6)", "§6.4.3, eqs. 6.91–6.94, Fig 6.6"},
           "on the coupled Gaussian from θ = (1, −1), natural gradient descent goes in a straight line to the optimum "
           "while gradient descent winds and takes far more steps",
           run_natural_gradient_coupled_gaussian});
}

}  // namespace descent::experiments
