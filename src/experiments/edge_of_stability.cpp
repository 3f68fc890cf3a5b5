// Edge of stability (Arora et al., Fig. 2.4; Cohen, Kaur, Li, Kolter & Talwalkar, ICLR 2021).
//
// Full-batch gradient descent θ_{t+1} = θ_t − η ∇f(θ_t) on a quadratic is stable iff the
// sharpness λ_max(∇²f) ≤ 2/η (the update multiplies the top eigendirection by 1 − ηλ). On
// neural networks the sharpness first rises ("progressive sharpening") until it reaches
// 2/η, and then hovers at (just above) 2/η while the loss keeps falling over long times,
// non-monotonically. Measured here for each step size η:
//   • λ(0) < 2/η: the sharpness had to rise to get there;
//   • median of λ_t/(2/η) over the last 40% of the steps within [lo, hi];
//   • the loss fell (final < initial) and went up at some steps (non-monotone).
// The sharpness is Lanczos top-1 of the exact Hessian (forward-over-reverse HVPs) on the
// whole training subset, each value with its relative residual ‖Hv − λv‖/|λ|.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "descent/core/plot.hpp"
#include "descent/experiments/experiment.hpp"
#include "landscape_common.hpp"
#include "output.hpp"

namespace descent::experiments {
namespace {

struct Arm {
  std::string model;  // "mlp" or "cnn"
  double eta;
};

// Rows of the wide CSV for the plots: step → per arm (λ/(2/η) or empty, loss).
using WideRows = std::map<int64_t, std::vector<std::string>>;

json run_arm(const Arm& arm, size_t index, size_t num_arms, const data::Dataset& d, int64_t steps, int64_t probe_every,
             bool quick, uint64_t seed, std::ofstream& csv, WideRows& wide, double lo, double hi, bool& passed) {
  nn::Model model = arm.model == "mlp"
                        ? nn::mlp(d.inputs.dim(1), 10, {.hidden = quick ? std::vector<int64_t>{32} : std::vector<int64_t>{200, 200},
                                                        .activation = nn::Activation::tanh})
                        : nn::small_cnn(d.example_shape(), 10, {.channels1 = 8, .channels2 = 16, .hidden = 64});
  model.initialize(seed);
  nn::ModelObjective f(model, nn::Loss::softmax_cross_entropy, d.inputs, d.targets, 1000);
  Tensor& theta = model.parameters();
  Tensor g = Tensor::zeros({model.num_parameters()}, model.dtype());
  std::vector<double> loss, lambda, lambda_step, residual;
  Tensor warm;
  int64_t hvps = 0;
  double worst_residual = 0.0;
  bool all_converged = true;
  for (int64_t t = 0; t <= steps; ++t) {
    const double value = f.value_and_gradient(theta, g);
    DESCENT_CHECK(std::isfinite(value), NonFiniteError, "edge_of_stability: loss not finite at step {} (η = {})", t,
                  arm.eta);
    loss.push_back(value);
    auto& row = wide[t];
    row.resize(2 * num_arms);
    row[2 * index + 1] = fmt::format("{}", value);
    if (t % probe_every == 0 || t == steps) {
      const landscape::Sharpness s = landscape::sharpness(f, theta, warm, 1e-3, seed + t);
      warm = s.vector;
      hvps += s.matvecs;
      all_converged = all_converged && s.converged;
      worst_residual = std::max(worst_residual, s.relative_residual);
      lambda.push_back(s.value);
      lambda_step.push_back(double(t));
      residual.push_back(s.relative_residual);
      row[2 * index] = fmt::format("{}", s.value * arm.eta / 2.0);
      if (csv.is_open())
        csv << arm.model << "," << arm.eta << "," << t << "," << value << "," << s.value << "," << 2.0 / arm.eta << ","
            << s.relative_residual << "\n";
    } else if (csv.is_open()) {
      csv << arm.model << "," << arm.eta << "," << t << "," << value << ",,," << "\n";
    }
    if (t < steps) axpy(theta, -arm.eta, g);
  }
  const double threshold = 2.0 / arm.eta;
  std::vector<double> late;
  for (size_t i = 0; i < lambda.size(); ++i)
    if (lambda_step[i] >= 0.6 * double(steps)) late.push_back(lambda[i] / threshold);
  std::sort(late.begin(), late.end());
  const double late_median = late[late.size() / 2];
  // The first step at which λ reached 0.9·2/η, and the loss increases after it.
  int64_t reached = -1;
  for (size_t i = 0; i < lambda.size() && reached < 0; ++i)
    if (lambda[i] >= 0.9 * threshold) reached = int64_t(lambda_step[i]);
  const int64_t increases = landscape::count_increases(loss);
  const bool rose = lambda.front() < threshold;
  const bool hovered = late_median >= lo && late_median <= hi;
  const bool fell = loss.back() < loss.front();
  const bool non_monotone = increases > 0;
  passed = rose && hovered && fell && non_monotone && all_converged;
  return {{"model", arm.model}, {"eta", arm.eta}, {"two_over_eta", threshold},
          {"parameters", model.num_parameters()}, {"sharpness_initial", lambda.front()},
          {"sharpness_final", lambda.back()}, {"sharpness_max", *std::max_element(lambda.begin(), lambda.end())},
          {"late_median_sharpness_over_two_over_eta", late_median}, {"step_reached_0.9_two_over_eta", reached},
          {"loss_initial", loss.front()}, {"loss_final", loss.back()}, {"loss_increases", increases},
          {"worst_relative_residual", worst_residual}, {"every_sharpness_converged", all_converged},
          {"hessian_vector_products", hvps}, {"passed", passed}};
}

Result run_edge_of_stability(const RunOptions& opt) {
  const bool quick = opt.quick;
  const int64_t n = quick ? 500 : 5000;
  const int64_t steps = quick ? 300 : 2000;
  const int64_t probe_every = quick ? 15 : 25;
  const double lo = 0.85, hi = 1.3;  // Cohen et al.: λ hovers at, or slightly above, 2/η
  std::vector<Arm> arms;
  for (double eta : quick ? std::vector<double>{0.4, 0.6, 1.0} : std::vector<double>{0.1, 0.2, 0.4})
    arms.push_back({"mlp", eta});
  if (!quick)
    for (double eta : {0.05, 0.1, 0.2}) arms.push_back({"cnn", eta});

  const data::Dataset flat = landscape::fashion_subset(n, true);
  data::Dataset images;
  if (!quick) {
    images = landscape::fashion_subset(n, false);
    images.inputs = images.inputs.reshape({n, 1, 28, 28});
  }
  auto csv = open_output(opt.output_dir, "edge_of_stability.csv");
  if (csv.is_open()) csv << "model,eta,step,loss,sharpness,two_over_eta,relative_residual\n";
  json per_arm = json::array();
  WideRows wide_rows;
  bool all = true;
  for (size_t i = 0; i < arms.size(); ++i) {
    bool ok = false;
    per_arm.push_back(run_arm(arms[i], i, arms.size(), arms[i].model == "mlp" ? flat : images, steps, probe_every,
                              quick, opt.seed, csv, wide_rows, lo, hi, ok));
    all = all && ok;
  }
  csv.close();
  if (!opt.output_dir.empty()) {
    // One CSV per arm for gnuplot, sharpness/(2/η) against the step: 1 is the stability edge.
    PlotSpec sharp{.csv_path = "", .png_path = (std::filesystem::path(opt.output_dir) / "sharpness.png").string(),
                   .title = "Sharpness relative to 2/η, full-batch GD", .x_label = "step", .y_label = "λ_max / (2/η)",
                   .extra = "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2"};
    PlotSpec losses{.csv_path = "", .png_path = (std::filesystem::path(opt.output_dir) / "loss.png").string(),
                    .title = "Training loss, full-batch GD", .x_label = "step", .y_label = "loss", .log_y = true};
    const auto path = (std::filesystem::path(opt.output_dir) / "edge_of_stability_wide.csv").string();
    std::ofstream wide(path);
    for (const Arm& a : arms) {
      const std::string tag = fmt::format("{}_eta{}", a.model, a.eta);
      sharp.series.push_back({"step", "ratio_" + tag, fmt::format("{} η = {}", a.model, a.eta), true});
      losses.series.push_back({"step", "loss_" + tag, fmt::format("{} η = {}", a.model, a.eta)});
    }
    wide << "step";
    for (const auto& s : sharp.series) wide << "," << s.y_column << ",loss_" << s.y_column.substr(6);
    wide << "\n";
    for (const auto& [step, row] : wide_rows) {
      wide << step;
      for (const auto& v : row) wide << "," << v;
      wide << "\n";
    }
    wide.close();
    sharp.csv_path = losses.csv_path = path;
    render_plot(sharp);
    render_plot(losses);
  }
  Result r;
  r.measured = {{"arms", per_arm}, {"examples", n}, {"steps", steps}, {"probe_every", probe_every}};
  r.expected = {{"sharpness_initial", "< 2/η"}, {"late_median_sharpness_over_two_over_eta", 1.0},
                {"loss_final", "< loss_initial"}, {"loss_increases", "> 0"}, {"every_sharpness_converged", true}};
  r.tolerance = {{"late_median_sharpness_over_two_over_eta", fmt::format("[{}, {}]", lo, hi)},
                 {"lanczos_relative_residual", 1e-3}};
  r.passed = all;
  r.notes = fmt::format(
      "Fashion-MNIST, first {} training images (pixels minus their mean), softmax cross-entropy, full-batch GD from "
      "the same initialization for every η; {}. Sharpness every {} steps by Lanczos top-1 warm-started from the last "
      "eigenvector; 'late' = the last 40% of the steps.",
      n, quick ? "MLP 784-32-10 tanh only (quick form)" : "MLP 784-200-200-10 tanh and CNN conv8-conv16-fc64",
      probe_every);
  return r;
}

}  // namespace

void register_edge_of_stability(Registry& reg) {
  reg.add({"edge_of_stability",
           {"Arora et al. (seed text) Fig. 2.4; Cohen et al. ICLR 2021", "edge of stability"},
           "Full-batch GD: the sharpness rises to about 2/η and hovers there while the loss keeps falling "
           "non-monotonically",
           run_edge_of_stability});
}

}  // namespace descent::experiments
