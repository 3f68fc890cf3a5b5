// Every registered experiment, in its quick form, must confirm its claim; result.json must
// hold the documented fields.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "descent/experiments/experiment.hpp"

using namespace descent::experiments;

TEST(Experiments, RegistryHoldsTheBlackboxClaims) {
  for (const char* n : {"queens8_local_search", "eda_one_max", "random_vs_grid_search", "ei_closed_form_vs_monte_carlo"})
    EXPECT_NE(Registry::instance().find(n), nullptr) << n;
}

TEST(Experiments, EveryQuickFormPasses) {
  const auto root = std::filesystem::temp_directory_path() / "descent_experiments_test";
  for (const auto& e : Registry::instance().all()) {
    RunOptions o;
    o.quick = true;
    o.seed = 1;
    o.output_dir = (root / e.name).string();
    const Result r = run(e, o);
    EXPECT_TRUE(r.passed) << e.name << ": " << to_json(r).dump(2);
    std::ifstream in(root / e.name / "result.json");
    ASSERT_TRUE(in.good()) << e.name;
    const json j = json::parse(in);
    for (const char* field : {"name", "source", "claim", "measured", "expected", "tolerance", "passed"})
      EXPECT_TRUE(j.contains(field)) << e.name << " lacks " << field;
    EXPECT_EQ(j["passed"].get<bool>(), r.passed);
  }
  std::filesystem::remove_all(root);
}
