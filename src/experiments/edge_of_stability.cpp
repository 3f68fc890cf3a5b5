// Edge of stability (Arora et al., Fig. 2.4; Cohen, Kaur, Li, Kolter & Talwalkar, ICLR 2021).
//
// Full-batch gradient descent θ_{t+1} = θ_t − η ∇f(θ_t) on a quadratic is stable iff the
// sharpness λ_max(∇²f) ≤ 2/η (the update multiplies the top eigendirection by 1 − ηλ). On
// neural networks trained with a step size for which 2/η is well above the initial sharpness,
// the sharpness first rises ("progressive sharpening") until it reaches 2/η, and then hovers
// at about 2/η while the loss keeps falling over long times, non-monotonically.
//
// Setup after Cohen et al. §3: squared loss on one-hot targets (their progressive sharpening
// is strongest with MSE), a subset of the data, step sizes chosen by their 2/η. The last
// layer is initialized at a fraction of its usual scale: the initial sharpness is then low,
// so that every 2/η of the three arms lies well above it and the sharpness has to rise to
// get there.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "descent/core/plot.hpp"
#include "descent/experiments/experiment.hpp"
#include "landscape_common.hpp"

namespace descent::experiments {
namespace {

struct Arm {
  std::string model;  // "mlp" or "cnn"
  double eta;
};

// What the arms of one model share: data size, number of steps, probe period.
struct Family {
  std::string model;
  int64_t examples = 0, steps = 0, probe_every = 0;
  std::vector<double> two_over_eta;  // the arms' 2/η
};

struct Setup {
  std::vector<int64_t> mlp_hidden;
  nn::CnnOptions cnn;
  double output_scale = 1.0;  // the last layer's initial weights and biases, times this
  uint64_t seed = 0;
};

// Bounds of the checks, one place (see the notes of the result for why these values).
constexpr double kInitialBelow = 0.8;   // λ(0) < 0.8 · 2/η: the sharpness had to rise
constexpr double kReached = 0.9;        // the edge counts as reached at λ ≥ 0.9 · 2/η
constexpr double kHoverLow = 0.8, kHoverHigh = 1.2;  // median λ/(2/η) after reaching it

// Rows of the wide CSV for the plots: step → per arm (λ/(2/η) or NaN where not probed, loss).
using WideRows = std::map<int64_t, std::vector<double>>;

// Images [n, 28, 28] as [n, 1, 14, 14] by 2×2 means: a quarter of the CNN's convolution work,
// which is what makes thousands of full-batch steps and Hessian probes affordable.
Tensor half_resolution(const Tensor& images) {
  DESCENT_CHECK(images.rank() == 3 && images.dtype() == DType::f32, ShapeError,
                "half_resolution: expected float32 images [n, h, w], got {}", images.shape().str());
  const int64_t n = images.dim(0), h = images.dim(1) / 2, w = images.dim(2) / 2;
  Tensor out = Tensor::zeros({n, 1, h, w}, images.dtype());
  const float* x = images.data<float>();
  float* y = out.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < h; ++r)
      for (int64_t c = 0; c < w; ++c) {
        const float* p = x + (i * images.dim(1) + 2 * r) * images.dim(2) + 2 * c;
        y[(i * h + r) * w + c] = 0.25f * (p[0] + p[1] + p[images.dim(2)] + p[images.dim(2) + 1]);
      }
  return out;
}

nn::Model build_model(const Arm& arm, const Setup& s, const data::Dataset& d) {
  nn::Model model = arm.model == "mlp"
                        ? nn::mlp(d.inputs.dim(1), 10, {.hidden = s.mlp_hidden, .activation = nn::Activation::tanh})
                        : nn::small_cnn(d.example_shape(), 10, s.cnn);
  model.initialize(s.seed);
  // Shrink the output layer (the last layer's parameters in θ) by output_scale.
  const auto& info = model.parameters_info();
  const int last = info.back().layer;
  Tensor& theta = model.parameters();
  for (const auto& p : info)
    if (p.layer == last)
      for (int64_t i = p.offset; i < p.offset + p.numel(); ++i) theta.set(i, s.output_scale * theta.at(i));
  return model;
}

// Runs one arm, adds its row to `arms`, its steps to `trace` and `wide`, and makes its checks.
void run_arm(Context& ctx, const Arm& arm, const Family& fam, size_t index, size_t num_arms, const data::Dataset& d,
             const Tensor& targets, const Setup& s, Table& trace, Table& arms, WideRows& wide) {
  const auto start_time = std::chrono::steady_clock::now();
  nn::Model model = build_model(arm, s, d);
  nn::ModelObjective f(model, nn::Loss::mean_squared_error, d.inputs, targets, 1000);
  Tensor& theta = model.parameters();
  Tensor g = Tensor::zeros({model.num_parameters()}, model.dtype());
  const double threshold = 2.0 / arm.eta;
  std::vector<double> loss, lambda, residual;
  std::vector<int64_t> lambda_step;
  Tensor warm;
  int64_t hvps = 0;
  double worst_residual = 0.0;
  bool all_converged = true;
  for (int64_t t = 0; t <= fam.steps; ++t) {
    const double value = f.value_and_gradient(theta, g);
    DESCENT_CHECK(std::isfinite(value), NonFiniteError, "edge_of_stability: loss not finite at step {} (η = {})", t,
                  arm.eta);
    loss.push_back(value);
    auto& row = wide[t];
    row.resize(2 * num_arms, NAN);
    row[2 * index + 1] = value;
    if (t % fam.probe_every == 0 || t == fam.steps) {
      const landscape::Sharpness sh = landscape::sharpness(f, theta, warm, 1e-3, s.seed + uint64_t(t));
      warm = sh.vector;
      hvps += sh.matvecs;
      all_converged = all_converged && sh.converged;
      worst_residual = std::max(worst_residual, sh.relative_residual);
      lambda.push_back(sh.value);
      lambda_step.push_back(t);
      residual.push_back(sh.relative_residual);
      row[2 * index] = sh.value / threshold;
      trace.add_row({arm.model, arm.eta, t, value, sh.value, threshold, sh.relative_residual});
    } else {
      trace.add_row({arm.model, arm.eta, t, value, NAN, NAN, NAN});
    }
    if (t < fam.steps) axpy(theta, -arm.eta, g);
    ctx.progress(t, fam.steps, fmt::format("{} η = {:.4g}", arm.model, arm.eta));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  // The first probe at which λ reached kReached·2/η; the hovering and the loss increases are
  // measured from there on.
  size_t first = lambda.size();
  for (size_t i = 0; i < lambda.size() && first == lambda.size(); ++i)
    if (lambda[i] >= kReached * threshold) first = i;
  const bool reached = first < lambda.size();
  double hover_median = 0.0;
  int64_t increases_after = 0;
  if (reached) {
    std::vector<double> after(lambda.begin() + first, lambda.end());
    for (double& v : after) v /= threshold;
    std::sort(after.begin(), after.end());
    hover_median = after[after.size() / 2];
    increases_after = landscape::count_increases(std::vector<double>(loss.begin() + lambda_step[first], loss.end()));
  }
  const double sharpness_max = *std::max_element(lambda.begin(), lambda.end());
  arms.add_row({arm.model, arm.eta, d.size(), fam.steps, fam.probe_every, threshold, model.num_parameters(),
                lambda.front(), lambda.front() / threshold, lambda.back(), sharpness_max,
                reached ? lambda_step[first] : -1, hover_median, loss.front(), loss.back(), increases_after,
                worst_residual, all_converged, hvps, seconds});
  const std::string tag = fmt::format("{}_eta{:.4g}_", arm.model, arm.eta);
  ctx.check.below(tag + "sharpness_initial_over_two_over_eta", lambda.front() / threshold, kInitialBelow);
  ctx.check.at_least(tag + "sharpness_max_over_two_over_eta", sharpness_max / threshold, kReached);
  ctx.check.between(tag + "median_sharpness_over_two_over_eta_after_reaching", hover_median, kHoverLow, kHoverHigh);
  ctx.check.below(tag + "loss_final", loss.back(), loss.front());  // expected: below the initial loss
  ctx.check.above(tag + "loss_increases_after_reaching", double(increases_after), 0.0);
  ctx.check.holds(tag + "every_sharpness_converged", all_converged, "Lanczos relative residual ≤ 1e-3 at every probe");
}

}  // namespace

DESCENT_EXPERIMENT(edge_of_stability, "Arora et al. (seed text) Fig. 2.4; Cohen et al. ICLR 2021", "edge of stability",
                   "Full-batch GD: the sharpness rises to about 2/η and hovers there while the loss keeps falling "
                   "non-monotonically") {
  const bool quick = ctx.quick;
  Setup s;
  s.seed = ctx.seed;
  s.mlp_hidden = {32, 32};
  s.cnn = {.channels1 = 4, .channels2 = 8, .hidden = 32};
  s.output_scale = 0.1;
  // The 2/η of the arms sit at 1.5–3.5× the initial sharpness (the MLP's λ(0) ≈ 5.5, the CNN's 5–14 over
  // seeds 1–4). Both full forms use the 5,000 examples; the CNN's 1,200 steps take most of
  // the full form's time (one full-batch CNN step costs about twenty of the MLP's: im2col, one thread).
  const std::vector<Family> families = {
      {"mlp", quick ? 500 : 5000, quick ? 400 : 2000, quick ? 10 : 20, {10, 12, 14}},
      {"cnn", quick ? 250 : 5000, quick ? 300 : 1200, quick ? 10 : 20, {20, 25, 30}}};
  std::vector<std::pair<Arm, const Family*>> arms;
  for (const Family& fam : families)
    for (double two : fam.two_over_eta) arms.push_back({Arm{fam.model, 2.0 / two}, &fam});

  Table& trace = ctx.trace("edge_of_stability", {"model", "eta", "step", "loss", "sharpness", "two_over_eta",
                                                 "relative_residual"});
  Table& per_arm = ctx.table("arms", {"model", "eta", "examples", "steps", "probe_every", "two_over_eta", "parameters",
                                      "sharpness_initial", "sharpness_initial_over_two_over_eta", "sharpness_final",
                                      "sharpness_max", "step_reached_edge",
                                      "median_sharpness_over_two_over_eta_after_reaching", "loss_initial",
                                      "loss_final", "loss_increases_after_reaching", "worst_relative_residual",
                                      "every_sharpness_converged", "hessian_vector_products", "seconds"});
  WideRows wide_rows;
  for (const Family& fam : families) {
    if (fam.two_over_eta.empty()) continue;
    data::Dataset d = landscape::fashion_subset(fam.examples, fam.model == "mlp");
    if (fam.model == "cnn") d.inputs = half_resolution(d.inputs);
    const Tensor targets = landscape::one_hot(d.targets, 10);
    for (size_t i = 0; i < arms.size(); ++i)
      if (arms[i].second == &fam) run_arm(ctx, arms[i].first, fam, i, arms.size(), d, targets, s, trace, per_arm, wide_rows);
  }
  // One wide CSV for gnuplot: λ/(2/η) against the step (1 is the stability edge), and the loss.
  PlotSpec sharp{.title = "Sharpness relative to 2/η, full-batch GD",
                 .x_label = "step",
                 .y_label = "λ_{max} / (2/η)",
                 .extra = "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2"};
  PlotSpec losses{.title = "Training loss (½‖f − y‖², one-hot y), full-batch GD",
                  .x_label = "step",
                  .y_label = "loss",
                  .log_y = true};
  std::vector<std::string> columns = {"step"};
  for (const auto& [a, fam] : arms) {
    const std::string tag = fmt::format("{}_eta{:.4g}", a.model, a.eta);
    const std::string legend = fmt::format("{} η = {:.4g} (2/η = {:.4g})", a.model, a.eta, 2.0 / a.eta);
    sharp.series.push_back({"step", "ratio_" + tag, legend, true});
    losses.series.push_back({"step", "loss_" + tag, legend, false});
    columns.push_back("ratio_" + tag), columns.push_back("loss_" + tag);
  }
  Table& wide = ctx.trace("edge_of_stability_wide", columns);
  for (const auto& [step, values] : wide_rows) {
    std::vector<Cell> row = {step};
    for (double v : values) row.push_back(v);
    wide.add_row(row);
  }
  wide.plot(sharp, "_sharpness");
  wide.plot(losses, "_loss");
  ctx.note(fmt::format(
      "Fashion-MNIST, first training images (pixels minus their mean; the CNN's at 14×14 by 2×2 means), squared loss "
      "½‖f − y‖² on one-hot targets, full-batch GD from the same initialization for every η of a model (last layer "
      "initialized ×{} so that λ(0) is well below every 2/η); MLP 784-{}-10 tanh, CNN conv{}-conv{}-fc{} ReLU. "
      "Sharpness by Lanczos top-1 on the whole subset, warm-started from the last eigenvector. Bounds: λ(0) < {}·2/η "
      "(the sharpness had to rise); the edge is reached at λ ≥ {}·2/η; the median of λ/(2/η) over the probes from "
      "then on within [{}, {}]: Cohen et al. find λ at, or slightly above, 2/η, and probes every few steps also "
      "catch the overshoots of the self-stabilizing cycle; the loss at the end below the start, with upward steps "
      "after the edge is reached (below the edge, with η < 2/L, GD cannot go up: the descent lemma).",
      s.output_scale, fmt::join(s.mlp_hidden, "-"), s.cnn.channels1, s.cnn.channels2, s.cnn.hidden, kInitialBelow,
      kReached, kHoverLow, kHoverHigh));
}

}  // namespace descent::experiments
