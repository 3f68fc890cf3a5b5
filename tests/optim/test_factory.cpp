// The optimizer factory: every catalogued name builds the chain it names (checked against the
// direct call), makes progress on a quadratic, and options that do not apply are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "descent/core/objective.hpp"
#include "descent/optim/factory.hpp"
#include "descent/optim/minimize.hpp"
#include "descent/optim/optimizers.hpp"

using namespace descent;
using namespace descent::optim;

namespace {

// f(x) = ½ Σ c_i x_i², c = (1, 2, …, 8).
FunctionObjective quadratic() {
  return FunctionObjective(8, [](const Tensor& x, Tensor& g) {
    double f = 0;
    for (int i = 0; i < 8; ++i) {
      g.set(i, (i + 1) * x.at(i));
      f += 0.5 * (i + 1) * x.at(i) * x.at(i);
    }
    return f;
  });
}

Tensor start() { return Tensor::from_vector(std::vector<double>{1, -1, 2, -2, 0.5, 1.5, -0.5, 1}, {8}); }

std::vector<double> trajectory_end(const GradientTransformation& opt, int steps = 40) {
  auto f = quadratic();
  return minimize(f, start(), opt, {.max_steps = steps}).theta.to_vector();
}

}  // namespace

TEST(Factory, EveryOptimizerReducesTheLoss) {
  auto f = quadratic();
  std::vector<double> g(8);
  Tensor grad = Tensor::empty({8}, DType::f64);
  const double f0 = f.value_and_gradient(start(), grad);
  for (const auto& entry : optimizer_catalogue()) {
    // Rates that suit this quadratic (curvatures 1..8).
    double lr = 0.05;
    if (entry.name == "adadelta") lr = 1.0;
    if (entry.name == "polyak") lr = 1.0;
    if (entry.name == "lars") lr = 20.0;
    if (entry.name == "adafactor") lr = 0.05;
    OptimizerRequest r{entry.name, lr, {}, {}, 1};
    const auto opt = make_optimizer(r);
    const Trace t = minimize(f, start(), opt, {.max_steps = 300});
    EXPECT_LT(t.value, 0.5 * f0) << entry.name << " (" << opt.name() << ")";
    EXPECT_TRUE(std::isfinite(t.value)) << entry.name;
  }
}

TEST(Factory, NamesBuildTheDirectChains) {
  EXPECT_EQ(trajectory_end(make_optimizer({"sgd", 0.05, {{"momentum", 0.8}, {"nesterov", 1}}})),
            trajectory_end(sgd(0.05, 0.8, true)));
  EXPECT_EQ(trajectory_end(make_optimizer({"nadam", 0.01, {{"beta2", 0.99}}})),
            trajectory_end(nadam(0.01, 0.9, 0.99)));
  EXPECT_EQ(trajectory_end(make_optimizer({"lion", 0.01, {{"weight_decay", 0.1}}})),
            trajectory_end(lion(0.01, 0.9, 0.99, 0.1)));
  // Common options wrap the optimizer: maximize, then clipping, then the method.
  EXPECT_EQ(trajectory_end(make_optimizer({"adam", 0.01, {{"clip_norm", 1.0}, {"maximize", 1}}})),
            trajectory_end(chain(negate(), clip_by_global_norm(1.0), adam(0.01))));
}

TEST(Factory, RefusesWhatDoesNotApply) {
  EXPECT_THROW(make_optimizer({"adam", 0.01, {{"momentum", 0.9}}}), InputError);
  EXPECT_THROW(make_optimizer({"no_such_method", 0.01, {}}), InputError);
  EXPECT_THROW(make_optimizer({"rprop", cosine_decay(0.01, 100), {}}), InputError);  // rate is its own
  EXPECT_THROW(make_optimizer({"sgd", 0.01, {{"accumulate", 2.5}}}), InputError);
  try {
    make_optimizer({"adam", 0.01, {{"momentum", 0.9}}});
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("beta1"), std::string::npos) << e.what();
  }
}

TEST(Factory, CatalogueHasTheIssuesOptimizers) {
  for (const char* name : {"sgd", "momentum", "nesterov", "adam", "adamw", "nadam", "radam", "adamax", "adagrad",
                           "rmsprop", "adadelta", "asgd", "rprop", "lion", "lamb", "lars", "adafactor", "sam", "sgld",
                           "noisy_sgd", "polyak"})
    EXPECT_NO_THROW(find_optimizer(name)) << name;
}
