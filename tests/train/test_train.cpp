// train: configuration handling, a training run that learns, and crash safety: runs killed
// with SIGKILL at random moments and resumed end with bitwise the parameters of an
// uninterrupted run.
#include <sys/wait.h>

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

int run_cli(const std::string& args, double kill_after_seconds = 0) {
  std::string cmd = fmt::format("{} train {} >/dev/null 2>&1", DESCENT_CLI_PATH, args);
  if (kill_after_seconds > 0) cmd = fmt::format("timeout -s KILL {:.3f} {}", kill_after_seconds, cmd);
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string cli_args(const fs::path& out) {
  return fmt::format(
      "--dataset two-moons --train-examples 2000 --test-examples 200 --hidden 64,64 --epochs 12 --batch-size 16 "
      "--dropout 0.1 --optimizer adam --learning-rate 0.003 --checkpoint-every 5 --plots false --progress false "
      "--seed 7 --out {}",
      out.string());
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
  ASSERT_EQ(run_cli(cli_args(reference)), 0);
  Rng rng(2024);
  int kills = 0, attempts = 0;
  int status = -1;
  while (status != 0 && attempts++ < 60) {
    const double t = rng.uniform(0.05, 0.5);
    const bool has_checkpoint = fs::exists(crashed / "checkpoint.safetensors");
    status = has_checkpoint ? run_cli(fmt::format("--resume {}", crashed.string()), t) : run_cli(cli_args(crashed), t);
    if (status != 0) {
      ASSERT_EQ(status, 128 + SIGKILL) << "the run failed other than by being killed";
      ++kills;
    }
  }
  ASSERT_EQ(status, 0) << "never finished after " << attempts << " attempts";
  EXPECT_GE(kills, 2) << "the run was too short to be killed: the test proved nothing";
  const Tensor a = final_parameters(reference), b = final_parameters(crashed);
  ASSERT_EQ(a.numel(), b.numel());
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << "resumed parameters differ from the uninterrupted run";
  fs::remove_all(reference);
  fs::remove_all(crashed);
}

TEST(CrashSafety, SigtermWritesACheckpointAndExitsCleanly) {
  const fs::path dir = fresh_dir("sigterm");
  const std::string cmd = fmt::format("timeout --preserve-status -s TERM 0.4 {} train {} >/dev/null 2>&1", DESCENT_CLI_PATH, cli_args(dir));
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  EXPECT_TRUE(fs::exists(dir / "checkpoint.safetensors"));
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
