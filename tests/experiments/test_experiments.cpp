// Every registered experiment, in its quick form, must confirm its claim; result.json must
// hold the documented fields. One test per experiment (so ctest reports and parallelizes
// them one by one): the list is the registry itself, so a new experiment is tested as soon
// as it is registered.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "descent/experiments/experiment.hpp"

using namespace descent::experiments;

TEST(Experiments, RegistryHoldsTheSeedClaims) {
  for (const char* n : {"queens8_local_search", "eda_one_max", "random_vs_grid_search", "ei_closed_form_vs_monte_carlo",
                        "overparameterized_least_squares"})
    EXPECT_NE(Registry::instance().find(n), nullptr) << n;
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
  for (const char* field : {"name", "source", "claim", "measured", "expected", "tolerance", "passed"})
    EXPECT_TRUE(j.contains(field)) << e->name << " lacks " << field;
  EXPECT_EQ(j["passed"].get<bool>(), r.passed);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Registered, QuickForm, ::testing::ValuesIn(experiment_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });
