// The bad input, across every ask–tell method: an f that never returns a number
// (NaN, an exception) is a recorded failure and the run ends on its budget; a box with
// lower > upper is an InputError naming the dimension.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <stdexcept>

#include "descent/blackbox/bayesopt.hpp"
#include "descent/blackbox/cmaes.hpp"
#include "descent/blackbox/population.hpp"

using namespace descent::blackbox;

namespace {
std::vector<std::unique_ptr<AskTell>> every_method(const Bounds& box) {
  std::vector<std::unique_ptr<AskTell>> m;
  const Vector x0 = box.center();
  m.push_back(std::make_unique<RandomSearch>(box, 4, 1));
  m.push_back(std::make_unique<GridSearch>(box, 5, 4));
  m.push_back(std::make_unique<GeneticAlgorithm>(box, GeneticOptions{.population_size = 10}));
  for (auto sel : {GeneticOptions::Selection::truncation, GeneticOptions::Selection::proportional})
    m.push_back(std::make_unique<GeneticAlgorithm>(box, GeneticOptions{.population_size = 10, .selection = sel}));
  m.push_back(std::make_unique<BernoulliEda>(3, BernoulliEdaOptions{.samples = 10, .elite = 5}));
  m.push_back(std::make_unique<CrossEntropyMethod>(x0, 1.0, CrossEntropyOptions{.samples = 10, .full_covariance = true}));
  m.push_back(std::make_unique<SeparableNes>(x0, 1.0));
  m.push_back(std::make_unique<Cmaes>(x0, 1.0));
  m.push_back(std::make_unique<CmaesWithRestarts>(x0, 1.0));
  for (const char* a : {"ei", "pi", "ucb", "thompson", "kg", "wei"}) {
    BayesOptOptions o;
    o.acquisition = parse_acquisition(a);
    o.batch_size = 2;
    m.push_back(std::make_unique<BayesianOptimizer>(box, o));
  }
  return m;
}
}  // namespace

TEST(Failures, EveryMethodRunsItsBudgetWhenFAlwaysFails) {
  const Bounds box = Bounds::cube(3, -1.0, 1.0);
  const Function nan = [](const Vector&) { return std::nan(""); };
  const Function throws = [](const Vector&) -> double { throw std::runtime_error("simulator crashed"); };
  for (const Function& f : {nan, throws}) {
    for (auto& method : every_method(box)) {
      MinimizeOptions mo;
      mo.max_evaluations = 40;
      const MinimizeResult r = minimize(*method, f, mo);
      EXPECT_EQ(r.failures, r.evaluations) << method->name();
      EXPECT_EQ(r.evaluations, 40) << method->name() << ": " << r.reason;
      EXPECT_EQ(r.x.size(), 0) << method->name();  // no best point: none succeeded
      EXPECT_TRUE(std::isinf(r.f)) << method->name();
      EXPECT_FALSE(r.history.front().ok);
      EXPECT_FALSE(r.history.front().error.empty());
    }
  }
}

TEST(Failures, OccasionalFailuresDoNotStopAnyMethodFromImproving) {
  // f fails on a third of the box (x0 > 1/3); the optimum at -0.5 lies in the rest.
  const Bounds box = Bounds::cube(3, -1.0, 1.0);
  const Function f = [](const Vector& x) {
    return x[0] > 1.0 / 3.0 ? std::nan("") : (x.array() + 0.5).square().sum();
  };
  for (auto& method : every_method(box)) {
    if (method->name() == "umda") continue;  // bit strings: not this box
    MinimizeOptions mo;
    mo.max_evaluations = 30;
    const MinimizeResult r = minimize(*method, f, mo);
    EXPECT_GT(r.failures, 0) << method->name();
    EXPECT_LT(r.failures, r.evaluations) << method->name();
    // Better than the centre of the box, f(0) = 0.75.
    EXPECT_LT(r.f, 0.75) << method->name();
  }
}

TEST(Failures, BoundsWithLowerAboveUpperAreInputErrorsNamingTheDimension) {
  try {
    Bounds(Vector{{0.0, 2.0, 0.0}}, Vector{{1.0, 1.0, 1.0}});
    FAIL() << "no exception";
  } catch (const descent::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("dimension 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Bounds(Vector{{0.0, std::nan("")}}, Vector{{1.0, 1.0}}), descent::InputError);
  EXPECT_THROW(Bounds(Vector::Zero(2), Vector::Ones(3)), descent::InputError);
  EXPECT_THROW(Bounds::cube(2, 1.0, -1.0), descent::InputError);
  MinimizeOptions mo;
  mo.max_evaluations = 0;
  RandomSearch rs(Bounds::cube(1, 0, 1));
  EXPECT_THROW(minimize(rs, [](const Vector& x) { return x[0]; }, mo), descent::InputError);
}
