// Armijo backtracking, SVRG and SAGA against constant-step SGD, perturbed GD at a strict
// saddle, and SGLD's stationary variance.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/core/ops.hpp"
#include "descent/optim/armijo.hpp"
#include "descent/optim/langevin.hpp"
#include "descent/optim/optimizers.hpp"
#include "descent/optim/problems.hpp"
#include "descent/optim/variance_reduction.hpp"

using namespace descent;
using namespace descent::optim;
using namespace descent::optim::problems;

TEST(Armijo, EveryStepSatisfiesSufficientDecreaseAndItConverges) {
  Rosenbrock r(2);
  ArmijoOptions o;
  o.initial_step = 1.0;
  auto t = gradient_descent_armijo(r, r.classic_start(), o, {.max_steps = 300});
  ASSERT_GT(t.steps.size(), 10u);
  for (size_t k = 0; k + 1 < t.steps.size(); ++k) {
    // α‖g‖² = step_size · ‖g‖.
    EXPECT_LE(t.steps[k + 1].value, t.steps[k].value - o.c1 * t.steps[k].step_size * t.steps[k].gradient_norm);
  }
  auto q = Quadratic::with_condition_number(10, 100.0, 2);
  auto tq = gradient_descent_armijo(q, Tensor::zeros({10}, DType::f64), o,
                                    {.max_steps = 20000, .gradient_tolerance = 1e-8});
  EXPECT_TRUE(tq.converged) << tq.stop_reason;
  EXPECT_LT(norm(sub(tq.theta, q.minimizer())), 1e-7);
}

TEST(VarianceReduction, SvrgAndSagaConvergeLinearlyWhereConstantStepSgdStalls) {
  // Noisy least squares: the per-example gradients do not vanish at θ*, so SGD with a
  // constant step hovers at a noise floor; SVRG and SAGA reach θ* with the same step.
  auto ls = LeastSquares::ill_conditioned(200, 5, 10.0, 3, 0.5);
  const Tensor x0 = Tensor::zeros({5}, DType::f64), star = ls.minimizer();
  const double eta = 0.005;
  VarianceReducedOptions o{.learning_rate = eta, .epochs = 40, .inner_steps = 0, .seed = 1};
  const auto a = svrg(ls, x0, o);
  const auto b = saga(ls, x0, o);
  // SGD gets as many example gradients as SAGA (n per epoch) — SVRG uses 3n per epoch.
  const auto c = minimize_stochastic(ls, x0, sgd(eta), {.batch_size = 1, .seed = 1}, {.max_steps = 40 * 200});
  const double ea = norm(sub(a.theta, star)), eb = norm(sub(b.theta, star)), ec = norm(sub(c.theta, star));
  EXPECT_LT(ea, 1e-6);
  EXPECT_LT(eb, 1e-6);
  EXPECT_GT(ec, 1e-3) << "SGD with a constant step should not reach θ* on a noisy problem";
  // Linear convergence: the per-epoch values decrease geometrically to the optimum.
  const double fstar = ls.value(star);
  EXPECT_LT(a.steps.back().value - fstar, 1e-6 * (a.steps.front().value - fstar));
}

TEST(PerturbedGd, EscapesAStrictSaddleThatGradientDescentConvergesTo) {
  // f(x, y) = ½x² − ½y² + ¼y⁴: strict saddle at 0, minima (0, ±1) with f = −¼. Started on
  // the saddle's stable manifold (y = 0), GD converges to the saddle.
  FunctionObjective f(2, [](const Tensor& t, Tensor& g) {
    const double x = t.at(0), y = t.at(1);
    g.set(0, x);
    g.set(1, -y + y * y * y);
    return 0.5 * x * x - 0.5 * y * y + 0.25 * y * y * y * y;
  });
  Tensor x0 = Tensor::from_vector(std::vector<double>{1.0, 0.0}, {2});
  auto gd = minimize(f, x0, sgd(0.1), {.max_steps = 2000});
  EXPECT_NEAR(gd.value, 0.0, 1e-12);
  auto p = perturbed_gradient_descent(f, x0, {.learning_rate = 0.1, .gradient_threshold = 1e-3, .radius = 1e-2,
                                              .quiet_steps = 50, .seed = 4},
                                      {.max_steps = 2000});
  // At the minimum the small gradient keeps triggering perturbations of radius r, so PGD
  // hovers within O(r²) in value of it.
  EXPECT_NEAR(p.trace.value, -0.25, 1e-4);
  EXPECT_NEAR(std::abs(p.trace.theta.at(1)), 1.0, 2e-2);
  ASSERT_FALSE(p.perturbation_steps.empty());
  for (size_t i = 1; i < p.perturbation_steps.size(); ++i)
    EXPECT_GT(p.perturbation_steps[i] - p.perturbation_steps[i - 1], 50);
}

TEST(Sgld, StationaryVarianceOfTheDiscreteChain) {
  // f = Σ ½λθ_i²: each coordinate is the AR(1) chain θ ← (1−ηλ)θ + √(2η/β)ξ, whose stationary
  // variance is 2/(βλ(2−ηλ)), slightly above the target law's 1/(βλ) (discretization bias).
  const double lambda = 2.0, eta = 0.05, beta = 4.0;
  const int64_t p = 4000;
  FunctionObjective f(p, [&](const Tensor& t, Tensor& g) {
    g.copy_from(t);
    scale_inplace(g, lambda);
    return 0.5 * lambda * dot(t, t);
  });
  const Tensor s = sgld(f, Tensor::zeros({p}, DType::f64),
                        {.learning_rate = eta, .inverse_temperature = beta, .steps = 2400, .burn_in = 400,
                         .thin = 20, .seed = 9});
  ASSERT_EQ(s.dim(0), 100);
  const double m = sum_all(s) / static_cast<double>(s.numel());
  const double var = dot(s, s) / static_cast<double>(s.numel()) - m * m;
  const double exact = 2.0 / (beta * lambda * (2.0 - eta * lambda)), target = 1.0 / (beta * lambda);
  EXPECT_NEAR(var, exact, 0.01 * exact);
  EXPECT_GT(var, 1.03 * target);
  EXPECT_NEAR(m, 0.0, 0.01);
}

TEST(MoreMethods, InvalidOptionsAreRefused) {
  auto q = Quadratic::with_condition_number(2, 2.0, 1);
  Tensor x0 = Tensor::zeros({2}, DType::f64);
  EXPECT_THROW(gradient_descent_armijo(q, x0, {.initial_step = 1.0, .shrink = 1.5}), InputError);
  EXPECT_THROW(svrg(q, x0, {}), InputError);  // not a finite sum
  EXPECT_THROW(sgld(q, x0, {.learning_rate = -1.0}), InputError);
  EXPECT_THROW(perturbed_gradient_descent(q, x0, {.radius = 0.0}), InputError);
}
