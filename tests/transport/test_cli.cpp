// `descent transport` end to end: the real binary on small CSV and NPY point clouds written
// here. The printed cost must equal the library's result on the same points, the written
// plan must be that result's plan, and bad input must give a clear message and exit 1.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/core.h>

#include "common/peer.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/data/readers.hpp"
#include "descent/transport/cost.hpp"
#include "descent/transport/exact.hpp"
#include "descent/transport/sinkhorn.hpp"

using namespace descent;
using namespace descent::transport;
namespace fs = std::filesystem;

namespace {

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

CliRun run_transport(const std::string& args) {
  const std::string cmd = fmt::format("{} transport {} 2>&1", DESCENT_CLI_PATH, args);
  CliRun r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The value printed on the line "KEY value"; NaN when there is no such line.
double printed(const std::string& output, const std::string& key) {
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + " ", 0) == 0) return std::stod(line.substr(key.size() + 1));
  return NAN;
}

// Full precision, so that the binary reads exactly the values the library is given.
void write_csv(const fs::path& path, const Tensor& t) {
  std::ofstream out(path);
  const int64_t cols = t.rank() == 2 ? t.dim(1) : 1;
  for (int64_t k = 0; k < t.numel(); ++k) out << fmt::format("{:.17g}", t.at(k)) << ((k + 1) % cols ? "," : "\n");
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

class TransportCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / fmt::format("transport_cli_{}", ::getpid());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

Tensor random_weights(Rng& rng, int64_t n) {
  const Tensor w = rng.uniform_tensor({n}, DType::f64, 0.2, 1.0);
  return mul(w, 1.0 / sum_all(w));
}

}  // namespace

TEST_F(TransportCli, ExactFromCsvPrintsTheLibraryCostAndWritesItsPlan) {
  Rng rng(21);
  const Tensor x = rng.uniform_tensor({7, 2}, DType::f64), y = rng.uniform_tensor({5, 2}, DType::f64, 0.3, 1.3);
  const Tensor a = random_weights(rng, 7), b = random_weights(rng, 5);
  write_csv(path("x.csv"), x);
  write_csv(path("y.csv"), y);
  write_csv(path("a.csv"), a);
  write_csv(path("b.csv"), b);
  const CliRun run = run_transport(fmt::format("{} {} --weights-x {} --weights-y {} --plan {}", path("x.csv"),
                                               path("y.csv"), path("a.csv"), path("b.csv"), path("plan.csv")));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const ExactResult expected = exact_ot(a, b, cost_matrix(x, y));
  EXPECT_NEAR(printed(run.output, "cost"), expected.cost, 1e-15);
  EXPECT_NEAR(printed(run.output, "wasserstein"), std::sqrt(expected.cost), 1e-15);
  const Tensor plan = data::read_csv(path("plan.csv")).values;
  ASSERT_EQ(plan.shape(), expected.plan.shape());
  for (int64_t k = 0; k < plan.numel(); ++k) EXPECT_EQ(plan.at(k), expected.plan.at(k)) << "plan entry " << k;
  // The file is a transport plan between the given weights.
  EXPECT_LT(norm(sub(sum(plan, {1}), a)) + norm(sub(sum(plan, {0}), b)), 1e-14);
}

TEST_F(TransportCli, SinkhornLogFromNpyPrintsTheLibraryCostAndWritesItsPlan) {
  Rng rng(22);
  const Tensor x = rng.normal_tensor({12, 3}, DType::f64), y = rng.normal_tensor({9, 3}, DType::f64, 0.5);
  data::save_npy(path("x.npy"), x);
  data::save_npy(path("y.npy"), y);
  const CliRun run =
      run_transport(fmt::format("{} {} --method sinkhorn-log --epsilon 0.2 --tolerance 1e-10 --plan {}", path("x.npy"),
                                path("y.npy"), path("plan.npy")));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  SinkhornOptions o;
  o.epsilon = 0.2;
  o.tolerance = 1e-10;
  const SinkhornResult expected = sinkhorn_log(Tensor(), Tensor(), cost_matrix(x, y), o);
  ASSERT_TRUE(expected.converged) << expected.marginal_error;
  EXPECT_NEAR(printed(run.output, "cost"), expected.cost, 1e-15);
  EXPECT_NEAR(printed(run.output, "regularized_objective"), expected.objective, 1e-15);
  EXPECT_EQ(printed(run.output, "iterations"), double(expected.iterations));
  const Tensor plan = data::read_npy(path("plan.npy"));
  ASSERT_EQ(plan.shape(), expected.plan.shape());
  EXPECT_EQ(max_relative_difference(plan, expected.plan, 1e-300), 0.0);
}

TEST_F(TransportCli, PlainSinkhornAgreesWithTheExactCostAtSmallEpsilon) {
  // The entropic cost exceeds the LP's by O(ε log n) (Murphy §6.8.3): a check on the
  // binary's arithmetic that does not go through the library's Sinkhorn at all.
  Rng rng(23);
  const Tensor x = rng.uniform_tensor({10, 2}, DType::f64), y = rng.uniform_tensor({10, 2}, DType::f64, 0.2, 1.2);
  write_csv(path("x.csv"), x);
  write_csv(path("y.csv"), y);
  const CliRun exact = run_transport(fmt::format("{} {}", path("x.csv"), path("y.csv")));
  const CliRun entropic = run_transport(fmt::format("{} {} --method sinkhorn --epsilon 0.002", path("x.csv"), path("y.csv")));
  ASSERT_EQ(exact.exit_code, 0) << exact.output;
  ASSERT_EQ(entropic.exit_code, 0) << entropic.output;
  const double lp = printed(exact.output, "cost"), sk = printed(entropic.output, "cost");
  EXPECT_GE(sk, lp - 1e-12);
  EXPECT_LT(sk - lp, 0.002 * std::log(10.0));
}

TEST_F(TransportCli, BadInputGivesAClearErrorAndExitOne) {
  write_text(path("x.csv"), "0,0\n1,0\n0,1\n");
  write_text(path("y.csv"), "2,2\n3,1\n");
  write_text(path("nan.csv"), "0,0\nnan,1\n");
  write_text(path("a.csv"), "0.2\n0.3\n0.5\n");
  write_text(path("b_more.csv"), "0.5\n0.6\n");  // total 1.1 against 1.0
  write_text(path("a_negative.csv"), "0.7\n-0.2\n0.5\n");
  write_text(path("empty.csv"), "");
  data::save_npy(path("empty.npy"), Tensor::zeros({0, 2}, DType::f64));
  const std::string x = path("x.csv"), y = path("y.csv");
  struct Case {
    std::string args, message;
  };
  const Case cases[] = {
      {fmt::format("{} {} --weights-x {} --weights-y {}", x, y, path("a.csv"), path("b_more.csv")),
       "different totals"},
      {fmt::format("{} {} --weights-x {}", x, y, path("a_negative.csv")), "negative"},
      {fmt::format("{} {}", path("nan.csv"), y), "must be finite"},
      {fmt::format("{} {} --method sinkhorn", x, path("nan.csv")), "must be finite"},
      {fmt::format("{} {}", x, path("empty.csv")), "empty"},
      {fmt::format("{} {}", path("empty.npy"), y), "empty"},
      {fmt::format("{} {} --method wasserstein-gan", x, y), "unknown"},
      {fmt::format("{} {} --method sinkhorn --epsilon -1", x, y), "must be positive"},
      {fmt::format("{} {} --weights-x {}", x, y, path("b_more.csv")), "2 weights for 3 points"},
      {fmt::format("{} {}", x, path("missing.csv")), "missing.csv"},
  };
  for (const Case& c : cases) {
    const CliRun run = run_transport(c.args);
    EXPECT_EQ(run.exit_code, 2) << c.args << "\n" << run.output;
    EXPECT_NE(run.output.find(c.message), std::string::npos) << c.args << "\nexpected '" << c.message << "' in:\n"
                                                              << run.output;
  }
}
