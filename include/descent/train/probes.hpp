#pragma once
// Periodic landscape probes during training (`descent train --probe-every N --probe
// sharpness,trace,noise`): every N optimizer steps, on a fixed probe batch (the first
// `probe_examples` training examples, evaluation mode), measure
//   sharpness   the top Hessian eigenvalue λ_max by Lanczos (probe/curvature.hpp), warm-started
//               from the previous probe's eigenvector, with its residual and HVP count;
//   trace       Tr H by Hutch++ with its standard error;
//   noise       Tr Σ of the per-example gradient covariance (exact, under a memory cap).
// Probes read θ and never write it, the optimizer state or any generator the training uses,
// so a run with probes ends with bitwise the parameters of a run without.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "descent/core/tensor.hpp"
#include "descent/data/dataset.hpp"
#include "descent/nn/model.hpp"
#include "descent/nn/objective.hpp"
#include "descent/train/config.hpp"

namespace descent::train {

struct ProbeSelection {
  bool sharpness = false, trace = false, noise = false;
};
// "sharpness,trace,noise" (any non-empty subset); InputError naming the choices otherwise.
ProbeSelection parse_probe_selection(const std::string& list);

// One probe. Fields of measurements not selected stay NaN (null in JSON, absent from CSV).
struct ProbeRecord {
  int64_t step = 0;   // optimizer steps taken before the probe
  int64_t epoch = 0;  // 0-based epoch in progress
  double learning_rate = 0.0;        // η of the next step
  double stability_threshold = 0.0;  // λ_max above which the next step's iteration is unstable (NaN: adaptive)
  double loss = 0.0;                 // mean loss on the probe batch
  double sharpness = 0.0, sharpness_relative_residual = 0.0;
  int64_t sharpness_hvps = 0;
  bool sharpness_converged = false;
  double hessian_trace = 0.0, hessian_trace_standard_error = 0.0;
  double noise_trace = 0.0;  // Tr Σ; the noise of a batch of B is Tr Σ / B
  double seconds = 0.0;      // wall time of this probe
};
nlohmann::json to_json(const ProbeRecord& r);
ProbeRecord probe_record_from_json(const nlohmann::json& j);
// The forms nlohmann::json finds by argument-dependent lookup (records inside checkpoints).
inline void to_json(nlohmann::json& j, const ProbeRecord& r) { j = to_json(r); }
inline void from_json(const nlohmann::json& j, ProbeRecord& r) { r = probe_record_from_json(j); }

// λ_max beyond which the iteration of the configured optimizer diverges on a quadratic of that
// curvature: 2/η for GD (Cohen et al. 2021, Arora Fig 2.4), (2 + 2β)/η for heavy-ball momentum
// and (2 + 2β)/((1 + 2β)η) for Nesterov (Cohen et al. 2021, App. B); NaN for Adam/AdamW, whose
// threshold is on the preconditioned Hessian.
double stability_threshold(const TrainConfig& c, double learning_rate);

class TrainingProbes {
 public:
  // `train`: the standardized training set; the probe batch is its first probe_examples rows.
  TrainingProbes(const TrainConfig& config, nn::Model& model, const data::Dataset& train);
  ProbeRecord measure(const Tensor& theta, int64_t step, int64_t epoch, double learning_rate);
  // The last top eigenvector (the next Lanczos start), saved with checkpoints so that a
  // resumed run's probes equal an uninterrupted run's.
  Tensor& warm_start() { return warm_start_; }
  const ProbeSelection& selection() const { return selection_; }

 private:
  TrainConfig config_;
  ProbeSelection selection_;
  nn::Model& model_;
  data::Dataset batch_;
  std::optional<nn::ModelObjective> objective_;
  Tensor warm_start_;
};

// probes.csv text: step, epoch, learning_rate, stability_threshold, loss and the selected columns.
std::string probes_csv(const std::vector<ProbeRecord>& records, const ProbeSelection& selection);
// sharpness.png (λ_max, with the stability threshold when the optimizer has one) and
// traces.png (Tr H, Tr Σ; log scale) from run_dir/probes.csv.
void render_probe_plots(const std::string& run_dir, const ProbeSelection& selection, bool with_threshold);

}  // namespace descent::train
