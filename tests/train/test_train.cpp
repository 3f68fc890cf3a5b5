// train: configuration handling, a training run that learns, and crash safety: runs killed
// with SIGKILL at random moments and resumed end with bitwise the parameters of an
// uninterrupted run.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <map>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include <Eigen/Dense>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "descent/core/rng.hpp"
#include "descent/core/safetensors.hpp"
#include "descent/nn/objective.hpp"
#include "descent/probe/curvature_matrices.hpp"
#include "descent/probe/linear_operator.hpp"
#include "descent/train/probes.hpp"
#include "descent/train/trainer.hpp"

namespace descent::train {
namespace {
namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / fmt::format("descent-train-{}-{}", name, ::getpid());
  fs::remove_all(d);
  return d;
}

TEST(TrainConfig, JsonRoundTripAndStrictParsing) {
  TrainConfig c;
  c.hidden = {32, 16};
  c.learning_rate = 0.3;
  const TrainConfig back = config_from_json(to_json(c), "test");
  EXPECT_EQ(back.hidden, c.hidden);
  EXPECT_EQ(back.learning_rate, 0.3);
  try {
    config_from_json({{"learnig_rate", 0.1}}, "test");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown setting 'learnig_rate'"), std::string::npos) << e.what();
  }
  try {
    config_from_json({{"epochs", "ten"}}, "test");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'epochs' must be an integer"), std::string::npos) << e.what();
  }
  EXPECT_THROW(config_from_json({{"batch_size", 0}}, "test"), InputError);
  EXPECT_THROW(config_from_json({{"momentum", 1.0}}, "test"), InputError);
  EXPECT_THROW(config_from_json({{"optimizer", "no_such_optimizer"}}, "test"), InputError);
  // Options are kept by name and round-trip; the shorthands stay "not given" (null).
  TrainConfig o;
  o.optimizer = "lion";
  o.optimizer_options = {{"beta2", 0.98}};
  const TrainConfig o2 = config_from_json(to_json(o), "test");
  EXPECT_EQ(o2.optimizer_options, o.optimizer_options);
  EXPECT_TRUE(std::isnan(o2.momentum));
  EXPECT_THROW(config_from_json({{"optimizer_options", {{"beta2", "high"}}}}, "test"), InputError);
}

TrainConfig two_moons_config(const fs::path& out) {
  TrainConfig c;
  c.dataset = "two-moons";
  c.train_examples = 1000;
  c.test_examples = 500;
  c.hidden = {32, 32};
  c.optimizer = "momentum";
  c.learning_rate = 0.1;
  c.epochs = 20;
  c.batch_size = 32;
  c.dropout = 0.1;  // so that the generator's state is part of what must be restored
  c.out = out.string();
  c.plots = false;
  c.progress = false;
  return c;
}

TEST(Training, LearnsTwoMoonsAndWritesTheRunFolder) {
  const fs::path dir = fresh_dir("moons");
  const TrainResult r = run_training(two_moons_config(dir));
  ASSERT_TRUE(r.completed);
  ASSERT_EQ(r.epochs.size(), 20u);
  EXPECT_GT(r.epochs.back().test_accuracy, 0.97);
  EXPECT_LT(r.epochs.back().train_loss, r.epochs.front().train_loss);
  for (const char* f : {"config.json", "metrics.csv", "metrics.jsonl", "checkpoint.safetensors", "model.safetensors"})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  EXPECT_NEAR(evaluate_run(dir.string()).accuracy, r.epochs.back().test_accuracy, 1e-12);
  // A second run into the same folder is refused, not silently overwritten.
  EXPECT_THROW(run_training(two_moons_config(dir)), InputError);
  fs::remove_all(dir);
}

TEST(Training, NonFiniteLossStopsWithTheStep) {
  TrainConfig c = two_moons_config(fresh_dir("nan"));
  c.optimizer = "sgd";
  c.learning_rate = 1e30;
  c.dropout = 0;
  try {
    run_training(c);
    FAIL() << "expected NonFiniteError";
  } catch (const NonFiniteError& e) {
    EXPECT_NE(std::string(e.what()).find("at step"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("last finite loss"), std::string::npos) << e.what();
  }
  // The folder says it diverged: --resume refuses with that, instead of repeating the same steps.
  ASSERT_TRUE(fs::exists(fs::path(c.out) / "diverged.json"));
  try {
    resume_training(c.out);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos) << e.what();
  }
  fs::remove_all(c.out);
}

Tensor final_parameters(const fs::path& dir);

// Every optimizer the trainer can name, interrupted (the SIGTERM path: checkpoint, stop) after
// steps 1, 2 and 3 and resumed each time, ends bitwise where an uninterrupted run ends: the
// whole optimizer state (moments, products, slow weights, averages, step counts) is in the
// checkpoint, and the noise of sgld depends on the step alone.
TEST(Training, EveryOptimizerResumesBitwise) {
  struct Case {
    const char* name;
    double rate;
    std::map<std::string, double> options;
    std::string schedule = "cosine";
  };
  const std::vector<Case> cases = {
      {"nadam", 3e-3, {}},
      {"radam", 3e-3, {{"weight_decay", 1e-3}}},
      {"adam", 3e-3, {{"amsgrad", 1}, {"ema", 0.9}}},
      {"lion", 3e-4, {{"lookahead_steps", 3}}},
      {"lamb", 3e-3, {{"agc", 0.1}}},
      {"lars", 2.0, {}},
      {"adafactor", 1e-2, {{"accumulate", 2}}},
      {"adadelta", 1.0, {}},
      {"adagrad", 0.05, {}},
      {"rmsprop", 1e-3, {{"centered", 1}, {"momentum", 0.5}}},
      {"asgd", 0.05, {{"t0", 10}}, "constant"},
      {"rprop", 1e-3, {}, "constant"},
      {"sam", 0.05, {{"rho", 0.05}}},
      {"sgld", 0.01, {{"inverse_temperature", 1e4}}, "constant"},
      {"polyak", 0.5, {}, "constant"},
  };
  for (const auto& k : cases) {
    TrainConfig c = two_moons_config(fresh_dir(std::string("opt-ref-") + k.name));
    c.optimizer = k.name;
    c.learning_rate = k.rate;
    c.optimizer_options = k.options;
    c.schedule = k.schedule;
    c.epochs = 2;
    c.train_examples = 256;
    const std::string reference = c.out;
    const TrainResult whole = run_training(c);
    ASSERT_TRUE(whole.completed) << k.name;
    EXPECT_TRUE(std::isfinite(whole.epochs.back().train_loss)) << k.name;
    c.out = fresh_dir(std::string("opt-int-") + k.name).string();
    interrupt_flag().store(SIGTERM);
    TrainResult part = run_training(c);
    for (int i = 0; i < 2 && part.interrupted; ++i) {
      interrupt_flag().store(SIGTERM);
      part = resume_training(c.out);
    }
    interrupt_flag().store(0);
    ASSERT_TRUE(part.interrupted) << k.name << ": the interruptions did not happen";
    part = resume_training(c.out);
    ASSERT_TRUE(part.completed) << k.name;
    const Tensor a = final_parameters(reference), b = final_parameters(c.out);
    ASSERT_EQ(a.numel(), b.numel());
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << k.name << ": resumed parameters differ";
    fs::remove_all(reference);
    fs::remove_all(c.out);
  }
}

// An option the chosen optimizer does not have is an error, not ignored (issue 13's contract).
TEST(Training, OptionsThatDoNotApplyAreRefused) {
  TrainConfig c = two_moons_config(fresh_dir("refused"));
  c.optimizer = "adam";
  c.momentum = 0.9;
  EXPECT_THROW(run_training(c), InputError);
  c.momentum = NAN;
  c.optimizer_options = {{"rho", 0.9}};
  EXPECT_THROW(run_training(c), InputError);
  fs::remove_all(c.out);
}

// ---- crash safety through the real binary ----

std::string cli_args(const fs::path& out) {
  return fmt::format(
      "--dataset two-moons --train-examples 2000 --test-examples 200 --hidden 64,64 --epochs 30 --batch-size 16 "
      "--dropout 0.1 --optimizer adam --learning-rate 0.003 --checkpoint-every 5 --no-plots --no-progress "
      "--seed 7 --out {}",
      out.string());
}

int run_cli(const std::string& args) {
  const std::string cmd = fmt::format("{} train {} >/dev/null 2>&1", DESCENT_CLI_PATH, args);
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Starts `descent train ARGS`, waits until the run folder holds a checkpoint (so the run is
// under way whatever the machine's speed), waits `extra_seconds` more and sends `signal`.
// Returns the exit status (128 + signal when it was killed, 0 when it finished first).
int run_cli_and_signal(const std::string& args, const fs::path& dir, double extra_seconds, int signal) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string cmd = fmt::format("exec {} train {} >/dev/null 2>&1", DESCENT_CLI_PATH, args);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  const auto start = std::chrono::steady_clock::now();
  while (!fs::exists(dir / "checkpoint.safetensors")) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(60)) break;
    ::usleep(1000);
  }
  ::usleep(static_cast<useconds_t>(extra_seconds * 1e6));
  ::kill(pid, signal);
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Tensor final_parameters(const fs::path& dir) {
  auto contents = load_safetensors((dir / "model.safetensors").string(), {.require_checksum = true});
  std::vector<double> all;
  for (auto& [name, t] : contents.tensors)
    for (double v : t.to_vector()) all.push_back(v);
  return Tensor::from_vector(all, {static_cast<int64_t>(all.size())}, DType::f64);
}

TEST(CrashSafety, KilledAtRandomMomentsAndResumedEqualsAnUninterruptedRunBitwise) {
  const fs::path reference = fresh_dir("reference"), crashed = fresh_dir("crashed");
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(run_cli(cli_args(reference)), 0);
  const double run_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Rng rng(2024);
  int kills = 0, status = -1;
  // Kill moments spread over the run (relative to its measured length, so the test means
  // the same on a fast or a loaded machine); each resumed run has less left to do. At most a
  // quarter of the run per attempt, so that a machine whose load drops after the reference run
  // (it then runs faster) still sees several kills before the run completes.
  for (int attempt = 0; attempt < 40 && status != 0; ++attempt) {
    const double extra = rng.uniform(0.0, 0.25) * run_seconds;
    const bool has_checkpoint = fs::exists(crashed / "checkpoint.safetensors");
    const std::string args = has_checkpoint ? fmt::format("--resume {}", crashed.string()) : cli_args(crashed);
    status = attempt < 6 ? run_cli_and_signal(args, crashed, extra, SIGKILL) : run_cli(args);
    if (status != 0) {
      ASSERT_EQ(status, 128 + SIGKILL) << "the run failed other than by being killed";
      ++kills;
    }
  }
  ASSERT_EQ(status, 0) << "never finished";
  EXPECT_GE(kills, 2) << "the run was too short to be killed: the test proved nothing";
  const Tensor a = final_parameters(reference), b = final_parameters(crashed);
  ASSERT_EQ(a.numel(), b.numel());
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << "resumed parameters differ from the uninterrupted run";
  fs::remove_all(reference);
  fs::remove_all(crashed);
}

TEST(CrashSafety, SigtermWritesACheckpointAndExitsCleanly) {
  const fs::path dir = fresh_dir("sigterm");
  EXPECT_EQ(run_cli_and_signal(cli_args(dir), dir, 0.0, SIGTERM), 128 + SIGTERM);
  EXPECT_TRUE(fs::exists(dir / "checkpoint.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "model.safetensors")) << "the run finished before the signal: nothing was tested";
  EXPECT_EQ(run_cli(fmt::format("--resume {}", dir.string())), 0);
  EXPECT_TRUE(fs::exists(dir / "model.safetensors"));
  fs::remove_all(dir);
}

TEST(CrashSafety, CorruptedCheckpointIsRefusedOnResume) {
  const fs::path dir = fresh_dir("corrupt");
  ASSERT_EQ(run_cli(cli_args(dir) + " --max-steps 20"), 0);
  {
    std::fstream f(dir / "checkpoint.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f.put('\x5a');
  }
  const std::string cmd =
      fmt::format("{} train --resume {} 2>&1", DESCENT_CLI_PATH, dir.string());
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_NE(out.find("checkpoint.safetensors"), std::string::npos) << out;
  fs::remove_all(dir);
}


// ---- periodic landscape probes (--probe-every) and `descent probe` ----

// The largest eigenvalue and the trace of the dense Hessian (or Gauss–Newton matrix) of the
// cross-entropy on the first n training examples of a run, at the θ its model holds.
struct DenseCurvature {
  double top = 0, trace = 0;
};
DenseCurvature dense_curvature(LoadedRun& run, int64_t n, const std::string& matrix = "hessian") {
  const data::Dataset d = run.train.take(n);
  nn::ModelObjective f(run.model, nn::Loss::softmax_cross_entropy, d.inputs, d.targets);
  std::unique_ptr<probe::LinearOperator> op;
  if (matrix == "ggn")
    op = std::make_unique<probe::GaussNewtonOperator>(probe::gauss_newton_operator(f, run.model.parameters()));
  else op = std::make_unique<probe::HessianOperator>(f, run.model.parameters());
  const Tensor a = probe::dense_matrix(*op);
  const int64_t p = a.dim(0);
  Eigen::MatrixXd m(p, p);
  for (int64_t i = 0; i < p; ++i)
    for (int64_t j = 0; j < p; ++j) m(i, j) = 0.5 * (a.at(i * p + j) + a.at(j * p + i));
  const Eigen::VectorXd eig = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(m, Eigen::EigenvaluesOnly).eigenvalues();
  return {eig.maxCoeff(), m.trace()};
}

std::vector<ProbeRecord> read_probes(const fs::path& dir) {
  std::ifstream in(dir / "probes.jsonl");
  std::vector<ProbeRecord> out;
  for (std::string line; std::getline(in, line);) out.push_back(probe_record_from_json(nlohmann::json::parse(line)));
  return out;
}

TrainConfig probed_config(const fs::path& out) {
  TrainConfig c = two_moons_config(out);
  c.hidden = {16, 16};
  c.dtype = "float64";
  c.max_steps = 60;
  c.optimizer = "sgd";
  c.schedule = "constant";
  return c;
}

TEST(Probes, ProbingLeavesTheTrajectoryBitwiseAndRecordsTheDenseCurvature) {
  const fs::path plain = fresh_dir("unprobed"), probed = fresh_dir("probed");
  ASSERT_TRUE(run_training(probed_config(plain)).completed);
  TrainConfig c = probed_config(probed);
  c.probe_every = 20;
  c.probe_examples = 300;
  c.probe_tolerance = 1e-6;
  c.probe_trace_matvecs = 60;
  ASSERT_TRUE(run_training(c).completed);
  const Tensor a = final_parameters(plain), b = final_parameters(probed);
  ASSERT_EQ(a.numel(), b.numel());
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << "probes changed the training trajectory";
  EXPECT_FALSE(fs::exists(plain / "probes.csv"));
  ASSERT_TRUE(fs::exists(probed / "probes.csv"));

  const std::vector<ProbeRecord> records = read_probes(probed);
  ASSERT_EQ(records.size(), 4u);  // steps 0, 20, 40, 60
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].step, int64_t(20 * i));
    EXPECT_TRUE(records[i].sharpness_converged);
    EXPECT_NEAR(records[i].stability_threshold, 2.0 / c.learning_rate, 1e-12);  // plain GD: 2/η
  }
  // The last probe saw the final θ, the first the initialization: both against dense matrices.
  LoadedRun run = load_run(probed.string());
  for (const ProbeRecord* r : {&records.back(), &records.front()}) {
    if (r == &records.front()) run.model.initialize(c.seed);
    const DenseCurvature dense = dense_curvature(run, c.probe_examples);
    EXPECT_NEAR(r->sharpness, dense.top, 1e-6 * dense.top) << "step " << r->step;
    EXPECT_LE(std::abs(r->hessian_trace - dense.trace), 4 * r->hessian_trace_standard_error + 1e-9 * dense.trace)
        << "step " << r->step << ": Tr H " << r->hessian_trace << " ± " << r->hessian_trace_standard_error
        << ", dense " << dense.trace;
    EXPECT_GT(r->noise_trace, 0.0);
  }
  fs::remove_all(plain);
  fs::remove_all(probed);
}

TEST(Probes, ConfigurationIsCheckedAndRoundTrips) {
  TrainConfig c;
  c.probe_every = 7;
  c.probe = "sharpness,noise";
  const TrainConfig back = config_from_json(to_json(c), "test");
  EXPECT_EQ(back.probe_every, 7);
  EXPECT_EQ(back.probe, "sharpness,noise");
  try {
    config_from_json({{"probe_every", 5}, {"probe", "sharpness,curvature"}}, "test");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'curvature' is not one of sharpness, trace, noise"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(config_from_json({{"probe_every", -1}}, "test"), InputError);
  EXPECT_THROW(config_from_json({{"probe_examples", 0}}, "test"), InputError);
}

std::string probe_cli_args(const fs::path& out) {
  return fmt::format(
      "--dataset two-moons --train-examples 2000 --test-examples 200 --hidden 32,32 --epochs 30 --batch-size 16 "
      "--dropout 0.1 --optimizer momentum --learning-rate 0.05 --max-steps 400 --checkpoint-every 5 --no-plots "
      "--no-progress --seed 5 --out {}",
      out.string());
}
const char* kProbeFlags = " --probe-every 50 --probe-examples 200 --probe sharpness,trace,noise";

TEST(Probes, ResumedProbedRunEqualsUninterruptedRunsWithAndWithoutProbes) {
  const fs::path plain = fresh_dir("probe-plain"), probed = fresh_dir("probe-ref"), crashed = fresh_dir("probe-term");
  ASSERT_EQ(run_cli(probe_cli_args(plain)), 0);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(run_cli(probe_cli_args(probed) + kProbeFlags), 0);
  const double run_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(run_cli_and_signal(probe_cli_args(crashed) + kProbeFlags, crashed, 0.3 * run_seconds, SIGTERM),
            128 + SIGTERM);
  EXPECT_FALSE(fs::exists(crashed / "model.safetensors")) << "the run finished before the signal: nothing was tested";
  ASSERT_EQ(run_cli(fmt::format("--resume {}", crashed.string())), 0);
  const Tensor a = final_parameters(plain), b = final_parameters(probed), r = final_parameters(crashed);
  ASSERT_EQ(a.numel(), b.numel());
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << "probes changed the trajectory";
  EXPECT_EQ(std::memcmp(b.raw(), r.raw(), b.nbytes()), 0) << "the resumed probed run differs";
  // The probes themselves resume exactly too (the Lanczos warm start is checkpointed).
  const auto ref = read_probes(probed), resumed = read_probes(crashed);
  ASSERT_EQ(ref.size(), 9u);  // steps 0, 50, ..., 400
  ASSERT_EQ(resumed.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    EXPECT_EQ(resumed[i].step, ref[i].step);
    EXPECT_EQ(resumed[i].sharpness, ref[i].sharpness) << "step " << ref[i].step;
    EXPECT_EQ(resumed[i].sharpness_hvps, ref[i].sharpness_hvps) << "step " << ref[i].step;
    EXPECT_EQ(resumed[i].hessian_trace, ref[i].hessian_trace) << "step " << ref[i].step;
    EXPECT_EQ(resumed[i].noise_trace, ref[i].noise_trace) << "step " << ref[i].step;
  }
  fs::remove_all(plain);
  fs::remove_all(probed);
  fs::remove_all(crashed);
}

struct CliOutput {
  int status = 0;
  std::string text;
};
CliOutput run_descent(const std::string& args) {
  const std::string cmd = fmt::format("{} {} 2>&1", DESCENT_CLI_PATH, args);
  FILE* p = ::popen(cmd.c_str(), "r");
  CliOutput out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.text.append(buf, n);
  const int status = ::pclose(p);
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

TEST(ProbeCommand, TopEigenvaluesOfACheckpointAgreeWithTheLibraryAndBadInputFailsClearly) {
  const fs::path dir = fresh_dir("probe-cli");
  // A run stopped by SIGTERM leaves a checkpoint and no model.safetensors: probe reads the checkpoint.
  const std::string train_args = fmt::format(
      "--dataset two-moons --train-examples 500 --hidden 12,12 --dtype float64 --epochs 1000 --batch-size 20 "
      "--checkpoint-every 5 --no-plots --no-progress --seed 3 --out {}",
      dir.string());
  ASSERT_EQ(run_cli_and_signal(train_args, dir, 0.2, SIGTERM), 128 + SIGTERM);
  ASSERT_TRUE(fs::exists(dir / "checkpoint.safetensors"));
  ASSERT_FALSE(fs::exists(dir / "model.safetensors"));
  LoadedRun run = load_run(dir.string());
  for (const std::string matrix : {"hessian", "ggn"}) {
    const fs::path json_path = dir / ("probe-" + matrix + ".json");
    const CliOutput o = run_descent(fmt::format("probe {} --matrix {} --measure sharpness,trace --examples 300 --k 2 "
                                                "--tolerance 1e-9 --trace-matvecs 60 --out {}",
                                                dir.string(), matrix, json_path.string()));
    ASSERT_EQ(o.status, 0) << o.text;
    const nlohmann::json j = nlohmann::json::parse(std::ifstream(json_path));
    const DenseCurvature dense = dense_curvature(run, 300, matrix);
    const auto& top = j.at(matrix + "_top");
    EXPECT_TRUE(top.at("converged").get<bool>()) << o.text;
    EXPECT_NEAR(top.at("eigenpairs")[0].at("value").get<double>(), dense.top, 1e-8 * dense.top) << matrix;
    const auto& trace = j.at(matrix + "_trace");
    EXPECT_LE(std::abs(trace.at("value").get<double>() - dense.trace),
              4 * trace.at("standard_error").get<double>() + 1e-9 * dense.trace)
        << matrix;
  }
  // Per layer: three blocks (the Linear layers) that tile the parameters.
  const CliOutput blocks = run_descent(fmt::format("probe {} --block each --measure sharpness --examples 100 --out {}",
                                                   dir.string(), (dir / "blocks.json").string()));
  ASSERT_EQ(blocks.status, 0) << blocks.text;
  const nlohmann::json jb = nlohmann::json::parse(std::ifstream(dir / "blocks.json"));
  ASSERT_EQ(jb.at("hessian_blocks").size(), 3u);
  EXPECT_EQ(jb.at("hessian_blocks")[2].at("end").get<int64_t>(), run.model.num_parameters());

  const std::vector<std::pair<std::string, std::string>> bad = {
      {fmt::format("probe {}", (dir / "missing").string()), "no config.json"},
      {fmt::format("probe {} --matrix hessain", dir.string()), "unknown --matrix 'hessain'"},
      {fmt::format("probe {} --k 0", dir.string()), "--k must be positive"},
      {fmt::format("probe {} --block 1", dir.string()), "not a layer with parameters"},
      {fmt::format("probe {} --measure sharpnes", dir.string()), "unknown measurement 'sharpnes'"},
  };
  for (const auto& [args, message] : bad) {
    const CliOutput o = run_descent(args);
    EXPECT_NE(o.status, 0) << args;
    EXPECT_NE(o.text.find(message), std::string::npos) << args << "\n" << o.text;
  }
  fs::remove_all(dir);
}
}  // namespace
}  // namespace descent::train
