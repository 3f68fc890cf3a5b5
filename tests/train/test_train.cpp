// train: configuration handling, a training run that learns, and crash safety: runs killed
// with SIGKILL at random moments and resumed end with bitwise the parameters of an
// uninterrupted run.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "descent/core/rng.hpp"
#include "descent/core/safetensors.hpp"
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
  EXPECT_THROW(config_from_json({{"optimizer", "adamax"}}, "test"), InputError);
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
  fs::remove_all(c.out);
}

// ---- crash safety through the real binary ----

std::string cli_args(const fs::path& out) {
  return fmt::format(
      "--dataset two-moons --train-examples 2000 --test-examples 200 --hidden 64,64 --epochs 30 --batch-size 16 "
      "--dropout 0.1 --optimizer adam --learning-rate 0.003 --checkpoint-every 5 --plots false --progress false "
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
  // the same on a fast or a loaded machine); each resumed run has less left to do.
  for (int attempt = 0; attempt < 40 && status != 0; ++attempt) {
    const double extra = rng.uniform(0.0, 0.4) * run_seconds;
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

}  // namespace
}  // namespace descent::train
