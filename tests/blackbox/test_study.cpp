// A study never evaluates past its budget, logs each evaluation as it finishes, and resumes
// from its log to exactly the study that was not interrupted (blackbox/methods.hpp,
// blackbox/evaluation_log.hpp, minimize's replay).
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include <fmt/core.h>

#include "descent/blackbox/evaluation_log.hpp"
#include "descent/blackbox/functions.hpp"
#include "descent/blackbox/methods.hpp"
#include "descent/core/error.hpp"

using namespace descent;
using namespace descent::blackbox;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  return fs::temp_directory_path() / fmt::format("descent-study-{}-{}", name, ::getpid());
}

TEST(Study, NeverEvaluatesPastTheBudgetWhateverTheBatchOfTheMethod) {
  // The defect: cem evaluated 100 points, ga 50 and cmaes 6 for a budget of 3.
  const Bounds box = Bounds::cube(4, -2, 2);
  for (const std::string& name : method_names()) {
    for (const int64_t budget : {1, 3, 7}) {
      SCOPED_TRACE(fmt::format("{} budget {}", name, budget));
      std::atomic<int64_t> calls{0};
      const Function f = [&](const Vector& x) {
        ++calls;
        return x.squaredNorm();
      };
      auto method = make_method({.name = name, .seed = 2}, box);
      MinimizeOptions o;
      o.max_evaluations = budget;
      int64_t reported = 0;
      o.on_evaluation = [&](int64_t number, const Evaluation&, double) { EXPECT_EQ(number, ++reported); };
      const auto r = minimize(*method, f, o);
      EXPECT_EQ(calls.load(), budget);
      EXPECT_EQ(r.evaluations, budget);
      EXPECT_EQ(reported, budget);
    }
  }
}

TEST(Study, ResumedFromItsLogEqualsTheUninterruptedStudy) {
  const Benchmark b = make_benchmark("rosenbrock", 3);
  for (const std::string name : {"cmaes", "bo", "ga", "random"}) {
    SCOPED_TRACE(name);
    const int64_t budget = name == "bo" ? 16 : 60;
    const fs::path full = scratch(name + "-full.csv"), cut = scratch(name + "-cut.csv");
    MethodOptions mopt{.name = name, .seed = 5, .batch_size = name == "random" ? 4 : 1};
    MinimizeResult reference;
    {
      EvaluationLog log(full.string(), 3, false);
      MinimizeOptions o;
      o.max_evaluations = budget;
      o.on_evaluation = [&](int64_t n, const Evaluation& e, double best) { log.append(n, e, best); };
      auto method = make_method(mopt, b.bounds);
      reference = minimize(*method, b.f, o);
    }
    // A crash after `done` evaluations, in the middle of writing the next row.
    const int64_t done = budget / 2 - 1;
    {
      std::ifstream in(full);
      std::ofstream out(cut);
      std::string line;
      for (int64_t i = 0; i <= done && std::getline(in, line); ++i) out << line << "\n";
      std::getline(in, line);
      out << line.substr(0, line.size() / 2);
    }
    std::vector<Evaluation> logged = read_evaluation_log(cut.string(), 3);
    ASSERT_EQ(static_cast<int64_t>(logged.size()), done);
    for (size_t i = 0; i < logged.size(); ++i) {
      EXPECT_EQ(logged[i].x, reference.history[i].x) << "row " << i + 1;  // 17 digits: bitwise
      EXPECT_EQ(logged[i].f, reference.history[i].f);
    }
    int64_t calls = 0;
    const Function counted = [&](const Vector& x) {
      ++calls;
      return b.f(x);
    };
    MinimizeOptions o;
    o.max_evaluations = budget;
    o.replay = std::move(logged);
    auto method = make_method(mopt, b.bounds);
    const auto resumed = minimize(*method, counted, o);
    EXPECT_EQ(calls, budget - done);
    EXPECT_EQ(resumed.evaluations, reference.evaluations);
    EXPECT_EQ(resumed.f, reference.f);
    EXPECT_EQ(resumed.x, reference.x);
    // Another seed asks for other points: refused, not silently mixed.
    MinimizeOptions again;
    again.max_evaluations = budget;
    again.replay = read_evaluation_log(cut.string(), 3);
    auto other = make_method({.name = name, .seed = 6, .batch_size = mopt.batch_size}, b.bounds);
    EXPECT_THROW(minimize(*other, b.f, again), InputError);
    fs::remove(full);
    fs::remove(cut);
  }
}

TEST(Study, LogKeepsFailuresAndRefusesAForeignFile) {
  const fs::path path = scratch("failures.csv");
  {
    EvaluationLog log(path.string(), 2, false);
    Evaluation ok{Vector::Constant(2, 0.1), 1.5, true, ""};
    Evaluation bad{Vector::Constant(2, 1.0 / 3.0), INFINITY, false, "exit status 3, stderr: a,b\nc"};
    log.append(1, ok, 1.5);
    log.append(2, bad, 1.5);
  }
  const auto back = read_evaluation_log(path.string(), 2);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_TRUE(back[0].ok);
  EXPECT_FALSE(back[1].ok);
  EXPECT_EQ(back[1].f, INFINITY);
  EXPECT_EQ(back[1].x[0], 1.0 / 3.0);
  EXPECT_EQ(back[1].error, "exit status 3; stderr: a;b;c");
  EXPECT_THROW(read_evaluation_log(path.string(), 3), InputError);  // another dimension
  std::ofstream(path) << "a,b,c\n";
  EXPECT_THROW(read_evaluation_log(path.string(), 2), InputError);
  fs::remove(path);
}

TEST(Study, FactoryKnowsWhichSettingsEachMethodReads) {
  EXPECT_TRUE(method_uses("bo", "acquisition"));
  EXPECT_FALSE(method_uses("cmaes", "acquisition"));
  EXPECT_TRUE(method_uses("random", "batch_size"));
  EXPECT_FALSE(method_uses("ga", "sigma0"));
  EXPECT_EQ(methods_using("acquisition"), "bo");
  EXPECT_THROW(make_method({.name = "annealing"}, Bounds::cube(2, 0, 1)), InputError);
  for (const auto& name : method_names()) EXPECT_EQ(make_method({.name = name}, Bounds::cube(2, 0, 1)) != nullptr, true);
}

}  // namespace
