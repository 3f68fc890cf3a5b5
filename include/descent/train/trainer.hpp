#pragma once
// The training loop behind `descent train`: data, model, optimizer, metrics, checkpoints.
//
// Crash safety. A checkpoint (checkpoint.safetensors in the run folder) holds θ, the
// optimizer state, the model's buffers, the dropout generator, the position in the epoch
// and the metrics so far; it is written atomically (temporary file, fsync, rename) with a
// checksum verified on load, so kill -9 at any moment leaves the previous one intact.
// Batches are a pure function of (seed, epoch, step), so a resumed run computes exactly
// the steps the uninterrupted run would have: the final parameters are bitwise identical
// (for the same thread count).
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "descent/data/dataset.hpp"
#include "descent/nn/model.hpp"
#include "descent/train/config.hpp"

namespace descent::train {

struct EpochMetrics {
  int64_t epoch = 0;        // 1-based
  int64_t steps = 0;        // optimizer steps so far, in all
  double train_loss = 0.0;  // mean over the epoch's batches (training mode)
  double train_accuracy = 0.0;
  double test_loss = 0.0;
  double test_accuracy = 0.0;
  double learning_rate = 0.0;  // at the epoch's last step
  double seconds = 0.0;        // wall time of the epoch's training steps
  double examples_per_second = 0.0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EpochMetrics, epoch, steps, train_loss, train_accuracy, test_loss, test_accuracy,
                                   learning_rate, seconds, examples_per_second)
nlohmann::json to_json(const EpochMetrics& m);
EpochMetrics epoch_metrics_from_json(const nlohmann::json& j);

struct TrainResult {
  std::string run_dir;
  std::vector<EpochMetrics> epochs;
  int64_t steps = 0;
  double seconds = 0.0;       // training time (this process and earlier ones if resumed)
  bool interrupted = false;   // stopped by SIGINT/SIGTERM after writing a checkpoint
  bool completed = false;     // every epoch (or max_steps) done
  int interrupt_signal = 0;
};

// How a run treats its folder and the terminal (not part of the run's configuration).
struct OutputOptions {
  bool overwrite = false;  // write into an existing non-empty folder (else InputError before any work)
  bool quiet = false;      // print nothing (the folder still gets every file)
};

// Runs `config` in a new run folder (created). An existing non-empty folder is refused
// before any work unless `output.overwrite` (a folder holding a run's checkpoint: resume it
// instead). Throws InputError for bad configurations or data, NonFiniteError when the loss
// or the parameters stop being finite (naming the step and the last finite loss).
TrainResult run_training(const TrainConfig& config, const OutputOptions& output = {});
// Continues the run in `run_dir` from its checkpoint (its config.json is the configuration).
TrainResult resume_training(const std::string& run_dir, const OutputOptions& output = {});

// Loss and accuracy on the test set of a finished run's model (model.safetensors, or the
// last checkpoint's θ when the run was not finished).
struct RunEvaluation {
  double loss = 0.0, accuracy = 0.0;
  int64_t examples = 0;
};
RunEvaluation evaluate_run(const std::string& run_dir);

// A run's configuration, model (θ from model.safetensors, or the last checkpoint's) and
// data, rebuilt from its folder: what `descent eval` and `descent probe` read.
struct LoadedRun {
  TrainConfig config;
  nn::Model model;
  data::Dataset train, test;
};
LoadedRun load_run(const std::string& run_dir);
// Throws InputError unless `run_dir` looks like a run folder (config.json): the cheap check a
// command makes before checking its outputs and loading the run.
void check_run_folder(const std::string& run_dir);

// SIGINT/SIGTERM handling: while installed, a signal sets a flag that the loop checks
// after each step; it then writes a checkpoint and returns with interrupted = true.
void install_interrupt_handlers();
std::atomic<int>& interrupt_flag();

}  // namespace descent::train
