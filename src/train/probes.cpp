#include "descent/train/probes.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "descent/core/error.hpp"
#include "descent/core/plot.hpp"
#include "descent/probe/curvature.hpp"
#include "descent/probe/gradient_noise.hpp"
#include "descent/probe/linear_operator.hpp"
#include "descent/probe/model_hessian.hpp"
#include "descent/probe/trace_estimation.hpp"

namespace descent::train {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Every numeric field once, by name: JSON in both directions walks this list.
template <class Record, class F>
void visit_fields(Record& r, F&& f) {
  f("step", r.step);
  f("epoch", r.epoch);
  f("learning_rate", r.learning_rate);
  f("stability_threshold", r.stability_threshold);
  f("loss", r.loss);
  f("sharpness", r.sharpness);
  f("sharpness_relative_residual", r.sharpness_relative_residual);
  f("sharpness_hvps", r.sharpness_hvps);
  f("sharpness_converged", r.sharpness_converged);
  f("hessian_trace", r.hessian_trace);
  f("hessian_trace_standard_error", r.hessian_trace_standard_error);
  f("noise_trace", r.noise_trace);
  f("seconds", r.seconds);
}

// A seed per (run seed, step) for the probes' random vectors, apart from the training streams.
uint64_t probe_seed(uint64_t run_seed, int64_t step) {
  return run_seed * 0x9E3779B97F4A7C15ULL + uint64_t(step) * 0xBF58476D1CE4E5B9ULL + 0x5EED;
}
}  // namespace

ProbeSelection parse_probe_selection(const std::string& list) {
  ProbeSelection s;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (item == "sharpness") s.sharpness = true;
    else if (item == "trace") s.trace = true;
    else if (item == "noise") s.noise = true;
    else fail<InputError>("config: probe '{}' is not one of sharpness, trace, noise (comma-separated)", item);
  }
  DESCENT_CHECK(s.sharpness || s.trace || s.noise, InputError,
                "config: probe must list at least one of sharpness, trace, noise");
  return s;
}

json to_json(const ProbeRecord& r) {
  json j = json::object();
  // NaN (a measurement not taken) becomes null: JSON has no NaN.
  visit_fields(r, [&](const char* key, const auto& v) {
    if constexpr (std::is_floating_point_v<std::decay_t<decltype(v)>>)
      j[key] = std::isfinite(v) ? json(v) : json(nullptr);
    else j[key] = v;
  });
  return j;
}

ProbeRecord probe_record_from_json(const json& j) {
  ProbeRecord r;
  visit_fields(r, [&](const char* key, auto& v) {
    using T = std::decay_t<decltype(v)>;
    auto it = j.find(key);
    if (it == j.end()) return;
    if constexpr (std::is_floating_point_v<T>) v = it->is_null() ? kNaN : it->template get<T>();
    else v = it->template get<T>();
  });
  return r;
}

double stability_threshold(const TrainConfig& c, double eta) {
  if (c.optimizer == "sgd") return 2.0 / eta;
  if (c.optimizer == "momentum") return (2.0 + 2.0 * c.momentum) / eta;
  if (c.optimizer == "nesterov") return (2.0 + 2.0 * c.momentum) / ((1.0 + 2.0 * c.momentum) * eta);
  return kNaN;
}

TrainingProbes::TrainingProbes(const TrainConfig& config, nn::Model& model, const data::Dataset& train)
    : config_(config), selection_(parse_probe_selection(config.probe)), model_(model),
      batch_(train.take(std::min(config.probe_examples, train.size()))) {
  objective_.emplace(model_, nn::Loss::softmax_cross_entropy, batch_.inputs, batch_.targets);
}

ProbeRecord TrainingProbes::measure(const Tensor& theta, int64_t step, int64_t epoch, double learning_rate) {
  const auto t0 = std::chrono::steady_clock::now();
  ProbeRecord r;
  r.step = step;
  r.epoch = epoch;
  r.learning_rate = learning_rate;
  r.stability_threshold = stability_threshold(config_, learning_rate);
  r.sharpness = r.sharpness_relative_residual = r.hessian_trace = r.hessian_trace_standard_error = r.noise_trace =
      kNaN;
  nn::ModelObjective& f = *objective_;
  r.loss = f.value(theta);
  const uint64_t seed = probe_seed(config_.seed, step);
  // MLPs reuse their v-independent state between the probe's products (within the cap).
  probe::ModelHessianOperator h(f, theta, size_t(config_.probe_memory_cap_mb * 1024.0 * 1024.0));
  if (selection_.sharpness) {
    probe::LanczosOptions o;
    o.num_eigenpairs = 1;
    o.tolerance = config_.probe_tolerance;
    o.seed = seed;
    o.start = warm_start_;
    const probe::EigenResult e = probe::lanczos_eigenpairs(h, o);
    const probe::Eigenpair& top = e.pairs.front();
    r.sharpness = top.value;
    r.sharpness_relative_residual = top.relative_residual;
    r.sharpness_hvps = e.matvecs;
    r.sharpness_converged = e.converged;
    warm_start_ = top.vector.clone();
  }
  if (selection_.trace) {
    const probe::TraceEstimate t = probe::hutch_plus_plus_trace(h, {config_.probe_trace_matvecs, seed + 1});
    r.hessian_trace = t.trace;
    r.hessian_trace_standard_error = t.standard_error;
  }
  if (selection_.noise) {
    const size_t cap = size_t(config_.probe_memory_cap_mb * 1024.0 * 1024.0);
    r.noise_trace = probe::gradient_noise_covariance_operator(f, theta, {}, cap).trace();
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::string probes_csv(const std::vector<ProbeRecord>& records, const ProbeSelection& s) {
  std::string csv = "step,epoch,learning_rate,stability_threshold,loss";
  if (s.sharpness) csv += ",sharpness,sharpness_relative_residual,sharpness_hvps,sharpness_converged";
  if (s.trace) csv += ",hessian_trace,hessian_trace_standard_error";
  if (s.noise) csv += ",noise_trace";
  csv += ",seconds\n";
  for (const auto& r : records) {
    csv += fmt::format("{},{},{:.9g},{:.9g},{:.9g}", r.step, r.epoch, r.learning_rate, r.stability_threshold, r.loss);
    if (s.sharpness)
      csv += fmt::format(",{:.9g},{:.3g},{},{}", r.sharpness, r.sharpness_relative_residual, r.sharpness_hvps,
                         r.sharpness_converged ? 1 : 0);
    if (s.trace) csv += fmt::format(",{:.9g},{:.3g}", r.hessian_trace, r.hessian_trace_standard_error);
    if (s.noise) csv += fmt::format(",{:.9g}", r.noise_trace);
    csv += fmt::format(",{:.4f}\n", r.seconds);
  }
  return csv;
}

void render_probe_plots(const std::string& run_dir, const ProbeSelection& s, bool with_threshold) {
  const std::string csv = (fs::path(run_dir) / "probes.csv").string();
  if (s.sharpness) {
    std::vector<PlotSeries> series = {{"step", "sharpness", "top eigenvalue (Lanczos)", true}};
    if (with_threshold) series.push_back({"step", "stability_threshold", "stability threshold of the step"});
    render_plot({csv, (fs::path(run_dir) / "sharpness.png").string(), "Sharpness on the probe batch", "step",
                 "top Hessian eigenvalue", series});
  }
  if (s.trace || s.noise) {
    std::vector<PlotSeries> series;
    if (s.trace) series.push_back({"step", "hessian_trace", "Tr H (Hutch++)", true});
    if (s.noise) series.push_back({"step", "noise_trace", "Tr Σ (per-example gradients)", true});
    render_plot({csv, (fs::path(run_dir) / "traces.png").string(), "Traces on the probe batch", "step", "trace",
                 series, /*log_y=*/true});
  }
}

}  // namespace descent::train
