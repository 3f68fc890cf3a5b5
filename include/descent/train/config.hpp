#pragma once
// TrainConfig: everything that defines a training run, settable by flags or a JSON file,
// and written back to the run's folder (config.json) so a run can be resumed or repeated.
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace descent::train {

struct TrainConfig {
  // ---- data ----
  std::string dataset = "fashion-mnist";  // fashion-mnist | two-moons | gaussian-mixture
  std::string data_dir;                   // Fashion-MNIST folder ("" = default / env)
  int64_t train_examples = 0;             // use the first N training examples (0 = all)
  int64_t test_examples = 0;              // evaluate on the first N test examples (0 = all)
  // ---- model ----
  std::string model = "mlp";  // mlp | cnn
  std::vector<int64_t> hidden = {256, 256};
  std::string activation = "relu";
  std::string parameterization = "standard";  // standard | ntk | mean_field
  int64_t cnn_channels1 = 32, cnn_channels2 = 64;
  double dropout = 0.0;
  std::string dtype = "float32";
  // ---- optimization ----
  std::string optimizer = "momentum";  // a name of optim::optimizer_catalogue()
  double learning_rate = 0.05;
  // The optimizer's options by name (optim/factory.hpp): flags --optimizer-option KEY=VALUE,
  // JSON {"optimizer_options": {"beta2": 0.98}}. One the optimizer lacks is an error.
  std::map<std::string, double> optimizer_options;
  // Shorthands for the common options; NaN (JSON null) = not given, the optimizer's default.
  // Given to an optimizer that lacks them, they are an error like any other option.
  double momentum = NAN;
  double weight_decay = NAN;
  double beta1 = NAN, beta2 = NAN, eps = NAN;
  std::string schedule = "cosine";  // constant | cosine | step
  int64_t warmup_steps = 0;
  double step_gamma = 0.1;         // step schedule: η · γ^(epoch / step_epochs)
  int64_t step_epochs = 5;
  double clip_norm = 0.0;          // 0 = no clipping
  int64_t epochs = 10;
  int64_t batch_size = 128;
  int64_t max_steps = 0;  // stop after this many steps in all (0 = run every epoch)
  uint64_t seed = 0;
  int threads = 1;  // BLAS threads
  // ---- output ----
  std::string out;                    // run folder ("" = runs/<model>-seed<seed>)
  int64_t checkpoint_every = 500;     // steps between checkpoints (and at every epoch end)
  bool plots = true;                  // render PNG plots with gnuplot when it is installed
  bool progress = true;               // progress bar on a terminal
  // ---- landscape probes (train/probes.hpp) ----
  int64_t probe_every = 0;                  // steps between probes (0 = none); also at step 0
  std::string probe = "sharpness,trace,noise";  // which measurements
  int64_t probe_examples = 1000;            // the probe batch: the first N training examples
  int64_t probe_trace_matvecs = 30;         // Hutch++ products for Tr H
  double probe_tolerance = 1e-3;            // Lanczos relative residual for λ_max
  double probe_memory_cap_mb = 256;         // per-example gradients (Tr Σ) or cached Hessian state held at once
};

// JSON with every field; from_json refuses unknown keys and wrong types with InputError
// naming the key, and validate() checks ranges (positive batch size, rates, ...).
nlohmann::json to_json(const TrainConfig& c);
TrainConfig config_from_json(const nlohmann::json& j, const std::string& source);
TrainConfig load_config(const std::string& path);
void validate(const TrainConfig& c);
// The optimizer's options: optimizer_options plus the shorthands that are given (momentum,
// weight_decay, beta1, beta2, eps, clip_norm > 0). InputError when one is given twice.
std::map<std::string, double> optimizer_options_of(const TrainConfig& c);

// Why setting `key` has no effect under `c`, as "to --optimizer adam (it is used by momentum,
// nesterov)", or "" when it applies. The CLI refuses such flags instead of ignoring them.
std::string inapplicable_reason(const TrainConfig& c, const std::string& key);

}  // namespace descent::train
