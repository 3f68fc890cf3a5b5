// Every registered experiment, in its quick form, must confirm its claim; result.json must
// hold the documented fields. One test per experiment (so ctest reports and parallelizes
// them one by one): the list is the registry itself, so a new experiment is tested as soon
// as it is registered. (The seeds 0–9 of every quick form: tests/experiments/seeds/.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "descent/experiments/experiment.hpp"

using namespace descent::experiments;

TEST(Experiments, RegistryHoldsTheSeedClaims) {
  for (const char* n : {"queens8_local_search", "eda_one_max", "random_vs_grid_search", "ei_closed_form_vs_monte_carlo",
                        "overparameterized_least_squares"})
    EXPECT_NE(Registry::instance().find(n), nullptr) << n;
}

// The experiments' archive is linked whole so that no self-registering experiment is dropped
// by the linker: every DESCENT_EXPERIMENT(name, ...) in src/experiments/ must be registered.
TEST(Experiments, RegistryHoldsEveryExperimentOfTheSources) {
  const char* root = std::getenv("DESCENT_SOURCE_DIR");
  if (!root) GTEST_SKIP() << "DESCENT_SOURCE_DIR is not set (ctest sets it)";
  const std::regex macro(R"(DESCENT_EXPERIMENT\(\s*([A-Za-z0-9_]+)\s*,)");
  std::set<std::string> in_sources;
  for (const auto& f : std::filesystem::directory_iterator(std::filesystem::path(root) / "src" / "experiments")) {
    if (f.path().extension() != ".cpp") continue;
    std::ifstream in(f.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    for (auto it = std::sregex_iterator(s.begin(), s.end(), macro); it != std::sregex_iterator(); ++it)
      in_sources.insert((*it)[1]);
  }
  ASSERT_FALSE(in_sources.empty());
  for (const auto& n : in_sources) EXPECT_NE(Registry::instance().find(n), nullptr) << n << " is not registered";
}

namespace {
std::vector<std::string> experiment_names() {
  std::vector<std::string> names;
  for (const auto& e : Registry::instance().all()) names.push_back(e.name);
  return names;
}
}  // namespace

class QuickForm : public ::testing::TestWithParam<std::string> {};

TEST_P(QuickForm, ConfirmsItsClaimAndWritesResultJson) {
  const Experiment* e = Registry::instance().find(GetParam());
  ASSERT_NE(e, nullptr);
  const auto dir = std::filesystem::temp_directory_path() / ("descent_experiment_" + e->name);
  std::filesystem::remove_all(dir);
  RunOptions o;
  o.quick = true;
  o.seed = 1;
  o.output_dir = dir.string();
  const Result r = run(*e, o);
  EXPECT_TRUE(r.passed) << e->name << ": " << to_json(r).dump(2);
  std::ifstream in(dir / "result.json");
  ASSERT_TRUE(in.good()) << e->name;
  const json j = json::parse(in);
  for (const char* field : {"name", "source", "claim", "measured", "expected", "tolerance", "passed", "run"})
    EXPECT_TRUE(j.contains(field)) << e->name << " lacks " << field;
  EXPECT_EQ(j["passed"].get<bool>(), r.passed);
  EXPECT_EQ(j["run"]["seed"].get<uint64_t>(), 1u);
  EXPECT_EQ(j["run"]["form"].get<std::string>(), "quick");
  EXPECT_FALSE(j["run"]["descent_version"].get<std::string>().empty());
  EXPECT_GT(j["run"]["wall_time_s"].get<double>(), 0.0);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Registered, QuickForm, ::testing::ValuesIn(experiment_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });
