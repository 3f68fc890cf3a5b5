// Weight decay on a scale-invariant network is an exponentially growing learning rate
// (Arora ch. 13, Thm 13.3.1; Li & Arora 2020). The network x ↦ head(relu(LN(W x))) with
// LayerNorm without affine parameters and ε = 0 and a frozen head is scale-invariant in W:
// L(cW) = L(W) for c > 0, so ∇L(cW) = ∇L(W)/c (Lemma 13.2.3).
//
// Derivation of the equivalence (plain GD, no momentum). GD with weight decay λ (13.1):
//   w_{t+1} = (1 − ηλ) w_t − η ∇L(w_t).
// Put ŵ_t = w_t / (1 − ηλ)^t. Dividing by (1 − ηλ)^{t+1} and using ∇L(w_t) = ∇L((1−ηλ)^t ŵ_t)
// = ∇L(ŵ_t)/(1 − ηλ)^t:
//   ŵ_{t+1} = ŵ_t − η (1 − ηλ)^{−(2t+1)} ∇L(ŵ_t),
// plain GD with η_t = η(1 − ηλ)^{−(2t+1)} (the seed drops the factor η, spec ⚠ §13.3;
// optim::weight_decay_equivalent_exponential). So the two runs from the same w_0 give the same
// function at every step, and their weights agree after rescaling by (1 − ηλ)^{−t}. Measured:
// the largest difference of test outputs and of rescaled weights over the whole trajectory,
// against a control (plain GD at the constant rate η), which gives a different function.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/nn/model.hpp"
#include "descent/nn/objective.hpp"
#include "descent/optim/minimize.hpp"
#include "descent/optim/optimizers.hpp"
#include "descent/optim/schedule.hpp"
#include "implicit_bias.hpp"

namespace descent::experiments {
namespace {

struct Snapshot {
  std::vector<Tensor> weights;  // W after each recorded step (index k: after k updates)
};

}  // namespace

DESCENT_EXPERIMENT(scale_invariant_weight_decay, "001 (Arora, ch. 13)",
                   "§13.3, Thm 13.3.1 (corrected: η_t = η(1−ηλ)^{−(2t+1)})",
                   "on a scale-invariant network, GD with weight decay λ at rate η and plain GD with the rate "
                   "η(1−ηλ)^{−(2t+1)} compute the same function at every step; their weights differ by the factor "
                   "(1−ηλ)^{−t}") {
  const int64_t inputs = 8, hidden = 16, classes = 3;
  const int64_t n_train = ctx.pick(64, 256), n_test = 32;
  const int64_t steps = ctx.pick(1500, 6000);
  const double eta = 0.2, lambda = ctx.pick(5e-3, 1e-3);  // ηλT = 1.5 (quick), 1.2 (full)
  Rng rng(ctx.seed);

  std::vector<nn::LayerPtr> layers;
  layers.push_back(std::make_unique<nn::Linear>(hidden, nn::Linear::Options{.bias = false}));
  layers.push_back(std::make_unique<nn::LayerNorm>(0.0, false));  // ε = 0: exact scale invariance
  layers.push_back(std::make_unique<nn::ActivationLayer>(nn::Activation::relu));
  layers.push_back(std::make_unique<nn::Linear>(classes, nn::Linear::Options{.role = nn::LayerRole::output}));
  nn::Model model(Shape{inputs}, std::move(layers), DType::f64);
  const int64_t P = model.num_parameters(), P_w = model.parameters_info()[0].numel();
  // Labels from a random teacher of the same form (initialized from another seed), so the
  // task is learnable; then the student's own initialization.
  const Tensor x_train = rng.normal_tensor(Shape{n_train, inputs}, DType::f64);
  const Tensor x_test = rng.normal_tensor(Shape{n_test, inputs}, DType::f64);
  Tensor y_train = Tensor::zeros(Shape{n_train}, DType::i64);
  model.initialize(ctx.seed + 1);
  const Tensor scores = model.predict(x_train);
  for (int64_t i = 0; i < n_train; ++i) {
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (scores.at(i * classes + c) > scores.at(i * classes + best)) best = c;
    y_train.set(i, double(best));
  }
  model.initialize(ctx.seed);
  const Tensor theta_init = model.parameters().clone();
  nn::ModelObjective full(model, nn::Loss::softmax_cross_entropy, x_train, y_train);

  // The trained parameters are W only; the head stays at its initialization (frozen), which
  // is what makes the loss scale-invariant in W (Arora Lemma 13.2.2).
  Tensor theta_full = theta_init.clone(), grad_full = Tensor::zeros(Shape{P}, DType::f64);
  FunctionObjective loss_in_w(P_w, [&](const Tensor& w, Tensor& g) {
    for (int64_t j = 0; j < P_w; ++j) theta_full.set(j, w.at(j));
    const double value = full.value_and_gradient(theta_full, grad_full);
    for (int64_t j = 0; j < P_w; ++j) g.set(j, grad_full.at(j));
    return value;
  });
  auto outputs_at = [&](const Tensor& w) {
    for (int64_t j = 0; j < P_w; ++j) model.parameters().set(j, w.at(j));
    return model.predict(x_test);
  };
  Tensor w0 = Tensor::empty(Shape{P_w}, DType::f64);
  for (int64_t j = 0; j < P_w; ++j) w0.set(j, theta_init.at(j));

  auto run = [&](const optim::GradientTransformation& optimizer) {
    Snapshot s;
    s.weights.push_back(w0.clone());
    optim::minimize(loss_in_w, w0, optimizer, {.max_steps = steps},
                    {[&](const optim::StepRecord&, const Tensor& w) {
                      s.weights.push_back(w.clone());
                      return false;
                    }});
    return s;
  };
  // optim::sgd's coupled decay gives u = g + λw, w ← w − ηu = (1 − ηλ)w − ηg: exactly (13.1).
  const Snapshot decay = run(optim::sgd(eta, 0.0, false, lambda));
  const Snapshot growing = run(optim::sgd(optim::weight_decay_equivalent_exponential(eta, lambda)));
  const Snapshot constant = run(optim::sgd(eta));
  DESCENT_CHECK(decay.weights.size() == size_t(steps + 1) && growing.weights.size() == size_t(steps + 1), Error,
                "scale_invariant_weight_decay: a run stopped early ({} and {} of {} steps)", decay.weights.size() - 1,
                growing.weights.size() - 1, steps);

  auto max_abs_diff = [](const Tensor& a, const Tensor& b) {
    double m = 0;
    for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.at(i) - b.at(i)));
    return m;
  };
  const double shrink = 1.0 - eta * lambda;
  double max_output_diff = 0, max_weight_diff = 0, control_output_diff = 0;
  const int64_t every = std::max<int64_t>(1, steps / 300);
  Table& trace = ctx.trace("scale_invariant_weight_decay",
                           {"step", "norm_weight_decay", "norm_growing_rate", "rescaled_norm_weight_decay",
                            "output_difference", "rescaled_weight_difference", "control_output_difference",
                            "train_loss_weight_decay", "train_loss_growing_rate"});
  for (int64_t t = 0; t <= steps; ++t) {
    const Tensor& w = decay.weights[t];
    const Tensor& w_hat = growing.weights[t];
    // ŵ_t = (1 − ηλ)^{−t} w_t, compared relative to ‖ŵ_t‖.
    const double factor = std::pow(shrink, -double(t));
    double diff = 0, scale = 0;
    for (int64_t j = 0; j < P_w; ++j) {
      diff = std::max(diff, std::abs(w_hat.at(j) - factor * w.at(j)));
      scale = std::max(scale, std::abs(w_hat.at(j)));
    }
    const double weight_diff = diff / scale;
    max_weight_diff = std::max(max_weight_diff, weight_diff);
    if (t % every == 0 || t == steps) {
      const Tensor out_decay = outputs_at(w), out_growing = outputs_at(w_hat), out_constant = outputs_at(constant.weights[t]);
      const double out_diff = max_abs_diff(out_decay, out_growing), control = max_abs_diff(out_decay, out_constant);
      max_output_diff = std::max(max_output_diff, out_diff);
      if (t == steps) control_output_diff = control;
      trace.add_row({t, norm(w), norm(w_hat), factor * norm(w), std::max(out_diff, 1e-300),
                     std::max(weight_diff, 1e-300), control, loss_in_w.value(w), loss_in_w.value(w_hat)});
    }
  }
  const double final_loss = loss_in_w.value(decay.weights.back()), initial_loss = loss_in_w.value(w0);
  trace.plot({.title = "GD + weight decay vs plain GD with η_t = η(1−ηλ)^{−(2t+1)}: same function",
              .x_label = "step",
              .y_label = "max |difference|",
              .series = {{"step", "output_difference", "test outputs: decay vs growing rate"},
                         {"step", "rescaled_weight_difference", "‖ŵ_t − (1−ηλ)^{−t} w_t‖∞ / ‖ŵ_t‖∞"},
                         {"step", "control_output_difference", "control: test outputs, decay vs constant η"}},
              .log_y = true});
  trace.plot({.title = "weight norms: decay shrinks, the growing rate inflates, by (1−ηλ)^{−t}",
              .x_label = "step",
              .y_label = "‖W‖₂",
              .series = {{"step", "norm_weight_decay", "GD + weight decay: ‖w_t‖"},
                         {"step", "norm_growing_rate", "plain GD, growing rate: ‖ŵ_t‖"},
                         {"step", "rescaled_norm_weight_decay", "(1−ηλ)^{−t} ‖w_t‖"}},
              .log_y = true},
             "_norms");
  ctx.measure("final_weight_norm_decay", norm(decay.weights.back()));
  ctx.measure("final_weight_norm_growing_rate", norm(growing.weights.back()));
  ctx.measure("final_learning_rate_growing", eta * std::pow(shrink, -(2.0 * double(steps - 1) + 1.0)));
  ctx.measure("steps", steps);
  ctx.measure("learning_rate", eta);
  ctx.measure("weight_decay", lambda);
  // Tolerances: both runs are the same arithmetic up to rounding (the rescaling is exact in
  // real numbers), so the differences are float64 round-off amplified along the trajectory.
  ctx.check.at_most("max_output_difference", max_output_diff, 1e-8);
  ctx.check.at_most("max_rescaled_weight_difference", max_weight_diff, 1e-8);
  // The control (constant η) computes a different function: the schedule is what makes them equal.
  ctx.check.at_least("control_output_difference_at_end", control_output_diff, 1e-3);
  ctx.check.below("final_train_loss", final_loss, initial_loss);  // the runs learn
  ctx.note(fmt::format(
      "Linear({0}→{1}, no bias) → LayerNorm(ε = 0, no affine) → relu → frozen Linear({1}→{2}); softmax cross-entropy "
      "on {3} Gaussian inputs labelled by a random teacher of the same form; outputs compared on {4} test inputs; "
      "float64. The final_train_loss check's expected value is the initial train loss.",
      inputs, hidden, classes, n_train, n_test));
}

}  // namespace descent::experiments
