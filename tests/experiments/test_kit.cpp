// The experiment kit: checks record the one comparison they make; tables write the same
// rows to CSV and to result.json; run() records how the run was made.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "descent/core/error.hpp"
#include "descent/experiments/experiment.hpp"

using namespace descent::experiments;

TEST(Checks, RecordTheirComparisonAndNeverPassNaN) {
  Checks c;
  EXPECT_TRUE(c.at_most("a", -0.5, -0.4));
  EXPECT_FALSE(c.at_most("b", -0.39, -0.4));
  EXPECT_TRUE(c.within("c", 1.05, 1.0, 0.1));
  EXPECT_FALSE(c.within("d", 1.2, 1.0, 0.1));
  EXPECT_FALSE(c.at_least("e", NAN, 0.0));
  EXPECT_FALSE(c.below("f", 1.0, 1.0));
  EXPECT_TRUE(c.within_relative("g", 101.0, 100.0, 0.011));
  EXPECT_TRUE(c.decreasing("h", {3, 2, 1}));
  EXPECT_FALSE(c.decreasing("i", {3, 3, 1}));
  EXPECT_TRUE(c.frequency("j", 9, 10, 0.9));
  EXPECT_FALSE(c.frequency("k", std::vector<bool>{true, false, false}, 0.5));
  EXPECT_TRUE(c.between("l", 0.5, 0.0, 1.0));
  EXPECT_FALSE(c.all_passed());
  const Check& b = c.all()[1];
  EXPECT_EQ(b.relation, "<=");
  EXPECT_DOUBLE_EQ(b.measured.get<double>(), -0.39);
  EXPECT_DOUBLE_EQ(b.expected.get<double>(), -0.4);
  EXPECT_EQ(c.all()[3].tolerance.get<double>(), 0.1);
  EXPECT_EQ(c.all()[4].measured.get<std::string>(), "NaN");  // never null
  EXPECT_THROW(c.at_most("a", 0, 1), descent::Error);        // one name, one check
}

TEST(Checks, NoChecksMeansNotPassed) { EXPECT_FALSE(Checks().all_passed()); }

namespace {
void kit_body(Context& ctx) {
  Table& t = ctx.table("rows", {"k", "x", "label"});
  Table& tr = ctx.trace("trace", {"k", "x"});
  for (int k = 0; k < 3; ++k) {
    t.add_row({k, 0.5 * k, "a,b"});
    tr.add_row({k, double(k)});
  }
  EXPECT_THROW(t.add_row({1, 2.0}), descent::Error);  // a row must fill every column
  ctx.measure("n", 3);
  ctx.check.decreasing("x_reversed", {t.column("x")[2], t.column("x")[1], t.column("x")[0]});
  ctx.check.at_most("seed_is_small", double(ctx.seed), ctx.pick(10.0, 0.0));
  ctx.note("a note");
}
}  // namespace

TEST(Kit, OneRowGoesToCsvAndResultJson) {
  const Experiment e{"kit_test", {"000", "§0"}, "the kit works", kit_body};
  const auto dir = std::filesystem::temp_directory_path() / "descent_kit_test";
  std::filesystem::remove_all(dir);
  const Result r = run(e, RunOptions{.quick = true, .output_dir = dir.string(), .seed = 3});
  EXPECT_TRUE(r.passed) << to_json(r).dump(2);
  std::ifstream csv(dir / "rows.csv");
  std::stringstream s;
  s << csv.rdbuf();
  EXPECT_EQ(s.str(), "k,x,label\n0,0,\"a,b\"\n1,0.5,\"a,b\"\n2,1,\"a,b\"\n");
  std::ifstream in(dir / "result.json");
  const json j = json::parse(in);
  EXPECT_EQ(j["measured"]["rows"].size(), 3u);
  EXPECT_DOUBLE_EQ(j["measured"]["rows"][1]["x"].get<double>(), 0.5);
  EXPECT_FALSE(j["measured"].contains("trace"));  // a trace goes only to its CSV
  EXPECT_TRUE(std::filesystem::exists(dir / "trace.csv"));
  EXPECT_EQ(j["expected"]["seed_is_small"]["<="].get<double>(), 10.0);
  EXPECT_EQ(j["run"]["seed"].get<int>(), 3);
  EXPECT_EQ(j["run"]["form"].get<std::string>(), "quick");
  EXPECT_EQ(j["notes"].get<std::string>(), "a note");
  // The full form's bound is 0: the same body fails at seed 3.
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(run(e, RunOptions{.quick = false, .output_dir = "", .seed = 3}).passed);
  EXPECT_FALSE(std::filesystem::exists(dir));  // no output folder, nothing written
}
