#include "descent/train/trainer.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <optional>
#include <fstream>

#include <fmt/format.h>

#include "descent/core/error.hpp"
#include "descent/core/file_io.hpp"
#include "descent/core/json_numbers.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/plot.hpp"
#include "descent/core/safetensors.hpp"
#include "descent/core/thread_pool.hpp"
#include "descent/data/dataset.hpp"
#include "descent/data/fashion_mnist.hpp"
#include "descent/data/synthetic.hpp"
#include "descent/nn/objective.hpp"
#include "descent/optim/factory.hpp"
#include "descent/train/probes.hpp"

namespace descent::train {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::atomic<int> g_interrupt{0};
extern "C" void on_interrupt(int signal) { g_interrupt.store(signal); }

constexpr const char* kCheckpointFile = "checkpoint.safetensors";
constexpr const char* kDivergedFile = "diverged.json";

struct Data {
  data::Dataset train, test;
};

Data load_data(const TrainConfig& c) {
  const DType dtype = c.dtype == "float64" ? DType::f64 : DType::f32;
  Data d;
  if (c.dataset == "fashion-mnist") {
    data::FashionMnistOptions o{c.data_dir, dtype, c.model == "mlp"};
    d.train = data::load_fashion_mnist("train", o);
    d.test = data::load_fashion_mnist("test", o);
    if (c.model == "cnn") {  // [n, 28, 28] → [n, 1, 28, 28]
      d.train.inputs = d.train.inputs.reshape({d.train.size(), 1, 28, 28});
      d.test.inputs = d.test.inputs.reshape({d.test.size(), 1, 28, 28});
    }
  } else {
    DESCENT_CHECK(c.model == "mlp", InputError, "config: dataset '{}' has flat inputs; use model 'mlp'", c.dataset);
    const int64_t n = c.train_examples > 0 ? c.train_examples : 2000;
    const int64_t n_test = c.test_examples > 0 ? c.test_examples : 1000;
    auto make = [&](int64_t count, uint64_t seed) {
      return c.dataset == "two-moons" ? data::two_moons(count, 0.1, seed, dtype)
                                      : data::gaussian_mixture(count, 20, 4, 3.0, 1.0, seed, dtype).data;
    };
    d.train = make(n, c.seed * 2 + 1);
    d.test = make(n_test, c.seed * 2 + 2);
  }
  if (c.train_examples > 0) {
    DESCENT_CHECK(c.train_examples <= d.train.size(), InputError,
                  "config: train_examples {} exceeds the {} training examples", c.train_examples, d.train.size());
    d.train = d.train.take(c.train_examples);
  }
  if (c.test_examples > 0 && c.test_examples < d.test.size()) d.test = d.test.take(c.test_examples);
  // Standardize with the training set's statistics only (no test information leaks in).
  d.train.inputs = d.train.inputs.clone();
  d.test.inputs = d.test.inputs.clone();
  const auto standardizer = data::Standardizer::fit(d.train.inputs, data::Normalization::global);
  standardizer.apply(d.train);
  standardizer.apply(d.test);
  return d;
}

nn::Model build_model(const TrainConfig& c, const data::Dataset& train) {
  const DType dtype = c.dtype == "float64" ? DType::f64 : DType::f32;
  const int64_t classes = train.num_classes;
  DESCENT_CHECK(classes > 1, InputError, "train: the dataset has no class labels");
  if (c.model == "cnn") {
    nn::CnnOptions o;
    o.channels1 = c.cnn_channels1;
    o.channels2 = c.cnn_channels2;
    o.dropout = c.dropout;
    return nn::small_cnn(train.example_shape(), classes, o, dtype);
  }
  nn::MlpOptions o;
  o.hidden = c.hidden;
  o.activation = nn::parse_activation(c.activation);
  o.parameterization = c.parameterization == "ntk"          ? nn::Parameterization::ntk
                       : c.parameterization == "mean_field" ? nn::Parameterization::mean_field
                                                            : nn::Parameterization::standard;
  o.dropout = c.dropout;
  return nn::mlp(train.example_shape().numel(), classes, o, dtype);
}

optim::Schedule build_schedule(const TrainConfig& c, int64_t total_steps) {
  optim::Schedule rate = optim::constant_schedule(c.learning_rate);
  const int64_t decay_steps = std::max<int64_t>(1, total_steps - c.warmup_steps);
  if (c.schedule == "cosine") rate = optim::cosine_decay(c.learning_rate, decay_steps);
  if (c.schedule == "step") {
    const int64_t steps_per_epoch = std::max<int64_t>(1, total_steps / c.epochs);
    rate = optim::step_decay(c.learning_rate, c.step_gamma, c.step_epochs * steps_per_epoch);
  }
  if (c.warmup_steps > 0) rate = optim::linear_warmup(rate, c.warmup_steps);
  return rate;
}

// One block per parameter tensor, split into rows along its first axis (a Linear weight
// [out, in] has one row per output unit: AGC's units, Adafactor's factored rows).
std::vector<optim::Block> parameter_blocks(const nn::Model& model) {
  std::vector<optim::Block> blocks;
  for (const auto& info : model.parameters_info()) {
    const int64_t rows = info.shape.rank() >= 2 ? info.shape[0] : 1;
    blocks.push_back({info.offset, info.offset + info.numel(), rows});
  }
  return blocks;
}

optim::GradientTransformation build_optimizer(const TrainConfig& c, const optim::Schedule& rate,
                                              const nn::Model& model) {
  const optim::OptimizerRequest request{c.optimizer, rate, optimizer_options_of(c), parameter_blocks(model), c.seed};
  return optim::make_optimizer(request);
}

// The loop's position and running sums, saved with every checkpoint.
struct Progress {
  int64_t epoch = 0;  // 0-based epoch in progress
  int64_t step = 0;   // next batch within it
  int64_t global_step = 0;
  double loss_sum = 0.0, epoch_seconds = 0.0, total_seconds = 0.0;
  int64_t correct = 0, seen = 0;
  std::vector<EpochMetrics> history;
  std::vector<ProbeRecord> probes;
};

// With defaults: checkpoints written before a field existed (probes) still load.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Progress, epoch, step, global_step, loss_sum, epoch_seconds,
                                                total_seconds, correct, seen, history, probes)

class Run {
 public:
  Run(TrainConfig config, std::string dir, bool quiet)
      : c_(std::move(config)), dir_(std::move(dir)), quiet_(quiet) {}

  TrainResult execute(bool resume);

 private:
  void save_checkpoint();
  void load_checkpoint();
  void write_metrics() const;
  void render_plots() const;
  void show_progress(int64_t steps_per_epoch, bool force);
  void take_probe(const optim::Schedule& schedule);
  void write_probes() const;
  [[noreturn]] void diverged(const std::string& what, double last_finite_loss);

  TrainConfig c_;
  std::string dir_;
  bool quiet_ = false;
  Data data_;
  std::optional<nn::Model> model_;
  std::optional<optim::GradientTransformation> optimizer_;
  optim::State state_;
  std::optional<TrainingProbes> probes_;
  Rng dropout_rng_;
  Progress p_;
  std::chrono::steady_clock::time_point last_progress_{};
  bool terminal_ = false;
};

void Run::save_checkpoint() {
  TensorMap tensors;
  tensors["theta"] = model_->parameters();
  for (auto& [name, t] : state_.named_tensors()) tensors["optimizer." + name] = t;
  for (auto& [name, t] : model_->buffers()) tensors["buffer." + name] = *t;
  const Rng::State rs = dropout_rng_.state();
  Tensor rng_words = Tensor::empty({4}, DType::i64);
  std::memcpy(rng_words.raw(), rs.s.data(), sizeof(rs.s));
  tensors["rng.state"] = rng_words;
  tensors["rng.cached_normal"] =
      Tensor::from_vector(std::vector<double>{rs.cached_normal, rs.has_cached_normal ? 1.0 : 0.0}, {2});
  if (probes_ && probes_->warm_start().defined()) tensors["probe.warm_start"] = probes_->warm_start();
  save_safetensors((fs::path(dir_) / kCheckpointFile).string(), tensors,
                   {{"descent.progress", encode_non_finite(json(p_)).dump()}, {"descent.config", to_json(c_).dump()}});
}

void Run::load_checkpoint() {
  const std::string path = (fs::path(dir_) / kCheckpointFile).string();
  auto contents = load_safetensors(path, {.require_checksum = true});
  auto take = [&](const std::string& name) -> Tensor& {
    auto it = contents.tensors.find(name);
    DESCENT_CHECK(it != contents.tensors.end(), InputError, "checkpoint '{}': missing tensor '{}'", path, name);
    return it->second;
  };
  const Tensor& theta = take("theta");
  DESCENT_CHECK(theta.numel() == model_->num_parameters() && theta.dtype() == model_->dtype(), InputError,
                "checkpoint '{}': θ has {} {} values but the configured model has {} {}", path, theta.numel(),
                dtype_name(theta.dtype()), model_->num_parameters(), dtype_name(model_->dtype()));
  model_->parameters().copy_from(theta);
  std::vector<std::pair<std::string, Tensor>> saved;
  for (auto& [name, t] : contents.tensors)
    if (name.starts_with("optimizer.")) saved.emplace_back(name.substr(10), t);
  state_.restore(saved);
  for (auto& [name, t] : model_->buffers()) t->copy_from(take("buffer." + name));
  Rng::State rs;
  std::memcpy(rs.s.data(), take("rng.state").raw(), sizeof(rs.s));
  const Tensor& cached = take("rng.cached_normal");
  rs.cached_normal = cached.at(0);
  rs.has_cached_normal = cached.at(1) != 0.0;
  dropout_rng_.set_state(rs);
  if (auto w = contents.tensors.find("probe.warm_start"); probes_ && w != contents.tensors.end())
    probes_->warm_start() = w->second;
  auto it = contents.metadata.find("descent.progress");
  DESCENT_CHECK(it != contents.metadata.end(), InputError, "checkpoint '{}': no training progress recorded", path);
  try {
    p_ = decode_non_finite(json::parse(it->second)).get<Progress>();
  } catch (const json::exception& e) {
    fail<InputError>("checkpoint '{}': its progress record is unreadable ({}); the file is damaged or from another "
                     "version: start the run again",
                     path, e.id == 101 ? "not JSON" : "a field has the wrong type");
  }
}

void Run::write_metrics() const {
  std::string csv =
      "epoch,steps,train_loss,train_accuracy,test_loss,test_accuracy,learning_rate,seconds,examples_per_second\n";
  std::string jsonl;
  for (const auto& m : p_.history) {
    csv += fmt::format("{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.4f},{:.1f}\n", m.epoch, m.steps, m.train_loss,
                       m.train_accuracy, m.test_loss, m.test_accuracy, m.learning_rate, m.seconds,
                       m.examples_per_second);
    jsonl += encode_non_finite(to_json(m)).dump() + "\n";
  }
  write_file_atomically((fs::path(dir_) / "metrics.csv").string(), csv);
  write_file_atomically((fs::path(dir_) / "metrics.jsonl").string(), jsonl);
}

void Run::render_plots() const {
  const std::string csv = (fs::path(dir_) / "metrics.csv").string();
  render_plot({csv, (fs::path(dir_) / "loss.png").string(), "Loss", "epoch", "mean loss",
               {{"epoch", "train_loss", "train"}, {"epoch", "test_loss", "test"}}});
  render_plot({csv, (fs::path(dir_) / "accuracy.png").string(), "Accuracy", "epoch", "accuracy",
               {{"epoch", "train_accuracy", "train"}, {"epoch", "test_accuracy", "test"}}});
}

// Probes read θ only (train/probes.hpp); their time is kept out of the training time.
void Run::take_probe(const optim::Schedule& schedule) {
  const ProbeRecord r = probes_->measure(model_->parameters(), p_.global_step, p_.epoch, schedule(p_.global_step));
  p_.probes.push_back(r);
  std::string line = fmt::format("probe step {:>6}  loss {:.4f}", r.step, r.loss);
  if (probes_->selection().sharpness)
    line += fmt::format("  λ_max {:.6g} ({} HVPs, rel. residual {:.1e}{})  threshold {:.4g}", r.sharpness,
                        r.sharpness_hvps, r.sharpness_relative_residual, r.sharpness_converged ? "" : ", NOT converged",
                        r.stability_threshold);
  if (probes_->selection().trace)
    line += fmt::format("  Tr H {:.6g} ± {:.2g}", r.hessian_trace, r.hessian_trace_standard_error);
  if (probes_->selection().noise) line += fmt::format("  Tr Σ {:.6g}", r.noise_trace);
  if (terminal_) fmt::print(stderr, "\r\033[2K");
  if (!quiet_) {
    fmt::print("{}  ({:.2f} s)\n", line, r.seconds);
    std::fflush(stdout);
  }
  write_probes();
}

void Run::write_probes() const {
  if (!probes_) return;
  std::string jsonl;
  for (const auto& r : p_.probes) jsonl += encode_non_finite(to_json(r)).dump() + "\n";
  write_file_atomically((fs::path(dir_) / "probes.csv").string(), probes_csv(p_.probes, probes_->selection()));
  write_file_atomically((fs::path(dir_) / "probes.jsonl").string(), jsonl);
}

// A non-finite loss or θ ends the run (exit 1). The last checkpoint, from before, is kept;
// diverged.json records where and why, so that `--resume` says so instead of repeating the
// same steps into the same divergence.
void Run::diverged(const std::string& what, double last_finite_loss) {
  const int64_t step = p_.global_step + 1;
  write_file_atomically((fs::path(dir_) / kDivergedFile).string(),
                        encode_non_finite(json{{"step", step},
                                               {"epoch", p_.epoch + 1},
                                               {"what", what},
                                               {"last_finite_loss", last_finite_loss},
                                               {"learning_rate", c_.learning_rate}})
                                .dump(2) +
                            "\n");
  if (terminal_) fmt::print(stderr, "\n");
  fail<NonFiniteError>(
      "train: {} at step {} (epoch {}, batch {}); the last finite loss was {:.6g}. Lower the learning rate (now {}) "
      "or clip gradients (--clip-norm), and start the run again",
      what, step, p_.epoch + 1, p_.step + 1, last_finite_loss, c_.learning_rate);
}

void Run::show_progress(int64_t steps_per_epoch, bool force) {
  if (!terminal_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_progress_ < std::chrono::milliseconds(200)) return;
  last_progress_ = now;
  const double frac = static_cast<double>(p_.step) / static_cast<double>(steps_per_epoch);
  const int width = 24, filled = static_cast<int>(frac * width);
  const double rate = p_.epoch_seconds > 0 ? static_cast<double>(p_.seen) / p_.epoch_seconds : 0.0;
  fmt::print(stderr, "\r\033[2Kepoch {}/{} [{}{}] {:3.0f}%  loss {:.4f}  acc {:5.1f}%  {:.0f} ex/s", p_.epoch + 1,
             c_.epochs, std::string(filled, '#'), std::string(width - filled, '.'), 100 * frac,
             p_.seen ? p_.loss_sum / static_cast<double>(p_.step) : 0.0,
             p_.seen ? 100.0 * static_cast<double>(p_.correct) / static_cast<double>(p_.seen) : 0.0, rate);
}

TrainResult Run::execute(bool resume) {
  set_blas_threads(c_.threads);
  terminal_ = c_.progress && !quiet_ && ::isatty(STDERR_FILENO);
  data_ = load_data(c_);
  model_.emplace(build_model(c_, data_.train));
  nn::ModelObjective train_objective(*model_, nn::Loss::softmax_cross_entropy, data_.train.inputs,
                                     data_.train.targets);
  nn::ModelObjective test_objective(*model_, nn::Loss::softmax_cross_entropy, data_.test.inputs, data_.test.targets);
  data::BatchSampler sampler(data_.train.size(), c_.batch_size, c_.seed);
  const int64_t steps_per_epoch = sampler.steps_per_epoch();
  const int64_t total_steps = c_.max_steps > 0 ? std::min(c_.max_steps, steps_per_epoch * c_.epochs)
                                               : steps_per_epoch * c_.epochs;
  const optim::Schedule schedule = build_schedule(c_, steps_per_epoch * c_.epochs);
  optimizer_.emplace(build_optimizer(c_, schedule, *model_));
  model_->initialize(c_.seed);
  state_ = optimizer_->init(model_->parameters());
  dropout_rng_ = Rng(c_.seed, /*stream=*/1000);
  if (c_.probe_every > 0) probes_.emplace(c_, *model_, data_.train);
  if (resume) load_checkpoint();
  train_objective.set_training(true, &dropout_rng_);

  if (!quiet_ && !resume)
    fmt::print("descent train: {} on {} ({} train / {} test examples), {} for {} epochs, batch {}\n  run folder: {}\n",
               model_->describe(), c_.dataset, data_.train.size(), data_.test.size(), optimizer_->name(), c_.epochs,
               c_.batch_size, dir_);
  else if (!quiet_)
    fmt::print("descent train: resuming {} at epoch {}, step {} ({} steps done)\n", dir_, p_.epoch + 1, p_.step,
               p_.global_step);

  Tensor& theta = model_->parameters();
  Tensor gradient = Tensor::zeros(theta.shape(), theta.dtype());
  double last_finite_loss = NAN;
  TrainResult result;
  result.run_dir = dir_;
  int64_t since_checkpoint = 0;
  if (probes_ && p_.global_step == 0 && p_.probes.empty()) take_probe(schedule);  // at initialization
  while (p_.epoch < c_.epochs && p_.global_step < total_steps) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto indices = sampler.batch({p_.epoch, p_.step});
    const double loss = train_objective.batch_value_and_gradient(theta, indices, gradient);
    if (!std::isfinite(loss)) diverged(fmt::format("the loss became {}", loss), last_finite_loss);
    last_finite_loss = loss;
    // Before the step: a link may evaluate the batch elsewhere (SAM) and replace the outputs.
    p_.correct += nn::count_correct(train_objective.last_outputs(), train_objective.last_targets());
    const optim::StepContext context{
        loss, [&](const Tensor& at, Tensor& g) { return train_objective.batch_value_and_gradient(at, indices, g); }};
    optimizer_->step(theta, gradient, state_, context);
    if (!all_finite(theta)) diverged("the parameters became non-finite after the update", last_finite_loss);
    p_.loss_sum += loss;
    p_.seen += static_cast<int64_t>(indices.size());
    ++p_.step;
    ++p_.global_step;
    p_.epoch_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    show_progress(steps_per_epoch, false);
    // Before the checkpoint of this step, so that a resumed run neither repeats nor skips it.
    if (probes_ && p_.global_step % c_.probe_every == 0) take_probe(schedule);

    const bool epoch_done = p_.step == steps_per_epoch || p_.global_step == total_steps;
    if (epoch_done) {
      const auto eval = test_objective.evaluate(theta);
      EpochMetrics m;
      m.epoch = p_.epoch + 1;
      m.steps = p_.global_step;
      m.train_loss = p_.loss_sum / static_cast<double>(p_.step);
      m.train_accuracy = static_cast<double>(p_.correct) / static_cast<double>(p_.seen);
      m.test_loss = eval.loss;
      m.test_accuracy = eval.accuracy;
      m.learning_rate = schedule(p_.global_step - 1);  // the rate of the epoch's last step
      m.seconds = p_.epoch_seconds;
      m.examples_per_second = static_cast<double>(p_.seen) / std::max(p_.epoch_seconds, 1e-9);
      p_.total_seconds += p_.epoch_seconds;
      p_.history.push_back(m);
      show_progress(steps_per_epoch, true);
      if (terminal_) fmt::print(stderr, "\n");
      if (!quiet_)
        fmt::print("epoch {:>3}  train loss {:.4f} acc {:6.2f}%  test loss {:.4f} acc {:6.2f}%  {:.1f} s  {:.0f} ex/s\n",
                 m.epoch, m.train_loss, 100 * m.train_accuracy, m.test_loss, 100 * m.test_accuracy, m.seconds,
                 m.examples_per_second);
      std::fflush(stdout);
      p_.epoch += 1;
      p_.step = 0;
      p_.loss_sum = 0;
      p_.correct = p_.seen = 0;
      p_.epoch_seconds = 0;
      write_metrics();
    }
    if (++since_checkpoint >= c_.checkpoint_every || epoch_done) {
      save_checkpoint();
      since_checkpoint = 0;
    }
    if (const int sig = g_interrupt.load()) {
      save_checkpoint();
      if (terminal_) fmt::print(stderr, "\n");
      fmt::print(stderr, "descent train: {} received; checkpoint written at step {}. Resume with: descent train --resume {}\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", p_.global_step, dir_);
      result.interrupted = true;
      result.interrupt_signal = sig;
      break;
    }
  }
  result.completed = !result.interrupted;
  result.epochs = p_.history;
  result.steps = p_.global_step;
  result.seconds = p_.total_seconds;
  if (result.completed) {
    TensorMap named;
    const auto views = model_->parameter_views(theta);
    for (size_t i = 0; i < views.size(); ++i) named[model_->parameters_info()[i].name] = views[i];
    for (auto& [name, t] : model_->buffers()) named[name] = *t;
    save_safetensors((fs::path(dir_) / "model.safetensors").string(), named, {{"descent.model", model_->describe()}});
    if (c_.plots && !p_.history.empty()) render_plots();
    if (c_.plots && probes_ && !p_.probes.empty())
      render_probe_plots(dir_, probes_->selection(), std::isfinite(stability_threshold(c_, c_.learning_rate)));
    if (!p_.history.empty() && !quiet_) {
      const auto& last = p_.history.back();
      fmt::print("done: {} steps in {:.1f} s of training; final test accuracy {:.2f}% (loss {:.4f}); outputs in {}\n",
                 p_.global_step, p_.total_seconds, 100 * last.test_accuracy, last.test_loss, dir_);
    }
  }
  return result;
}

}  // namespace

json to_json(const EpochMetrics& m) { return m; }
EpochMetrics epoch_metrics_from_json(const json& j) { return j.get<EpochMetrics>(); }

TrainResult run_training(const TrainConfig& config, const OutputOptions& output) {
  validate(config);
  TrainConfig c = config;
  if (c.out.empty()) c.out = fmt::format("runs/{}-seed{}", c.model, c.seed);
  // The folder is checked before any data is read: a run writes only into a folder of its own.
  DESCENT_CHECK(output.overwrite || !fs::exists(fs::path(c.out) / kCheckpointFile), InputError,
                "train: '{}' already holds a run; resume it with `descent train --resume {}`, choose another --out, "
                "or pass --overwrite to start it again",
                c.out, c.out);
  check_output_folder(c.out, "train: --out", output.overwrite,
                      "choose another --out, or pass --overwrite to write into it");
  fs::create_directories(c.out);
  fs::remove(fs::path(c.out) / kDivergedFile);  // a run started again with --overwrite
  write_file_atomically((fs::path(c.out) / "config.json").string(), to_json(c).dump(2) + "\n");
  Run run(c, c.out, output.quiet);
  return run.execute(false);
}

TrainResult resume_training(const std::string& run_dir, const OutputOptions& output) {
  const std::string config_path = (fs::path(run_dir) / "config.json").string();
  DESCENT_CHECK(fs::exists(config_path), InputError, "train --resume: '{}' has no config.json; is it a run folder?",
                run_dir);
  if (const fs::path diverged = fs::path(run_dir) / kDivergedFile; fs::exists(diverged)) {
    json record = json::object();
    try {
      record = decode_non_finite(json::parse(read_file_bytes(diverged.string(), "diverged.json")));
    } catch (const json::exception&) {
    }
    fail<InputError>("train --resume: the run in '{}' diverged ({} at step {}); resuming would repeat the same steps. "
                     "Start it again with a lower --learning-rate or --clip-norm (--overwrite to reuse the folder)",
                     run_dir, record.value("what", std::string("a non-finite loss")), record.value("step", int64_t{0}));
  }
  DESCENT_CHECK(fs::exists(fs::path(run_dir) / kCheckpointFile), InputError,
                "train --resume: '{}' has no checkpoint yet; start the run again instead", run_dir);
  TrainConfig c = load_config(config_path);
  c.out = run_dir;
  Run run(c, run_dir, output.quiet);
  return run.execute(true);
}

void check_run_folder(const std::string& run_dir) {
  DESCENT_CHECK(fs::exists(fs::path(run_dir) / "config.json"), InputError,
                "'{}' has no config.json; is it a run folder written by `descent train`?", run_dir);
}

LoadedRun load_run(const std::string& run_dir) {
  check_run_folder(run_dir);
  const std::string config_path = (fs::path(run_dir) / "config.json").string();
  const TrainConfig c = load_config(config_path);
  const Data d = load_data(c);
  nn::Model model = build_model(c, d.train);
  const fs::path final_model = fs::path(run_dir) / "model.safetensors";
  if (fs::exists(final_model)) {
    const auto contents = load_safetensors(final_model.string(), {.require_checksum = true});
    const auto views = model.parameter_views(model.parameters());
    for (size_t i = 0; i < views.size(); ++i) {
      const std::string& name = model.parameters_info()[i].name;
      auto it = contents.tensors.find(name);
      DESCENT_CHECK(it != contents.tensors.end() && it->second.shape() == views[i].shape(), InputError,
                    "run folder: '{}' lacks parameter '{}' of shape {} (does config.json match the model?)",
                    final_model.string(), name, views[i].shape());
      Tensor dst = views[i];
      dst.copy_from(it->second);
    }
    for (auto& [name, t] : model.buffers())
      if (auto it = contents.tensors.find(name); it != contents.tensors.end()) t->copy_from(it->second);
  } else {
    const auto contents =
        load_safetensors((fs::path(run_dir) / kCheckpointFile).string(), {.require_checksum = true});
    auto it = contents.tensors.find("theta");
    DESCENT_CHECK(it != contents.tensors.end() && it->second.numel() == model.num_parameters(), InputError,
                  "run folder: the checkpoint in '{}' does not hold this model's parameters", run_dir);
    model.parameters().copy_from(it->second);
  }
  return {c, std::move(model), d.train, d.test};
}

RunEvaluation evaluate_run(const std::string& run_dir) {
  LoadedRun run = load_run(run_dir);
  nn::ModelObjective test(run.model, nn::Loss::softmax_cross_entropy, run.test.inputs, run.test.targets);
  const auto e = test.evaluate(run.model.parameters());
  return {e.loss, e.accuracy, e.examples};
}

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

std::atomic<int>& interrupt_flag() { return g_interrupt; }

}  // namespace descent::train
