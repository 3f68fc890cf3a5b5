// Murphy §6.6, eqs. (6.176)-(6.178) and Fig. 6.10: for a noise-free 1-D GP, the closed
// form of expected improvement equals its Monte Carlo estimate from posterior samples, and
// EI is zero at the points already queried.
#include <cmath>

#include "descent/blackbox/bayesopt.hpp"
#include "descent/experiments/experiment.hpp"

namespace descent::experiments {
namespace {

// Standard deviation of one Monte Carlo term I = max(best - f, 0), f ~ N(mean, sd^2), from
// E[I^2] = sd^2 ((u^2 + 1) Phi(u) + u phi(u)), u = (best - mean) / sd. The sample's own
// standard deviation is no yardstick where improvement is rare: with a handful of
// improving draws it is mostly too small, and a correct estimate then looks 5 standard
// errors off.
double improvement_sd(double mean, double sd, double best) {
  if (sd <= 0) return 0.0;
  const double u = (best - mean) / sd;
  const double Phi = 0.5 * std::erfc(-u / std::sqrt(2.0));
  const double phi = std::exp(-0.5 * u * u) / std::sqrt(2.0 * M_PI);
  const double second_moment = sd * sd * ((u * u + 1.0) * Phi + u * phi);
  const double ei = sd * (u * Phi + phi);
  return std::sqrt(std::max(second_moment - ei * ei, 0.0));
}

}  // namespace

DESCENT_EXPERIMENT(ei_closed_form_vs_monte_carlo, "004 (Murphy, PML2 ch. 6)", "§6.6, eqs. 6.176-6.178, Fig. 6.10",
                   "expected improvement's closed form equals its Monte Carlo estimate, and is 0 at queried points "
                   "of a noise-free GP") {
  using namespace blackbox;
  const int samples = ctx.pick(20000, 200000), grid = ctx.pick(25, 101);
  Rng rng(ctx.seed);
  // Four queried points of f(x) = sin(3x) + x^2 / 2 on [-2, 2] (a Fig. 6.10-like setup).
  Matrix X(1, 4);
  X << -1.6, -0.4, 0.5, 1.7;
  Vector y(4);
  for (int i = 0; i < 4; ++i) y[i] = std::sin(3 * X(0, i)) + 0.5 * X(0, i) * X(0, i);
  GaussianProcess gp(Kernel::matern52, 1);
  gp.set_data(X, y);
  gp.set_hyperparameters(Vector{{std::log(0.7), 0.0, std::log(1e-12)}});  // noise-free
  const double best = y.minCoeff();

  Table& t = ctx.table("ei", {"x", "mean", "sd", "ei_closed", "ei_monte_carlo", "standard_error"});
  // The z-test needs the CLT: at least 30 improving draws expected. Rarer improvement (the
  // far tails) is a Poisson count K of a few draws, lambda = S P(improve) expected, where one
  // extra draw already looks like "4 standard errors". There the Monte Carlo sum may be off
  // by at most 5 sqrt(lambda) + 5 draws (Poisson tail < 1e-6 for lambda < 30) of twice the
  // mean improvement given improvement, EI / P: rare_ratio = |MC - closed| / that <= 1.
  constexpr double kMinImprovingDraws = 30.0;
  double max_z = 0.0, max_abs = 0.0, max_rare_ratio = 0.0;
  int rare = 0;
  for (int i = 0; i < grid; ++i) {
    const double x = -2.0 + 4.0 * i / (grid - 1);
    Vector mu, var;
    gp.predict(Vector::Constant(1, x), mu, var);
    const double sd = std::sqrt(var[0]);
    const double closed = expected_improvement(mu[0], sd, best);
    const Matrix F = gp.sample_posterior(Vector::Constant(1, x), samples, rng);
    const Eigen::ArrayXd imp = (best - F.col(0).array()).max(0.0);
    const double mc = imp.mean();
    const double se = improvement_sd(mu[0], sd, best) / std::sqrt(double(samples));
    max_abs = std::max(max_abs, std::abs(mc - closed));
    const double improving_draws = samples * probability_of_improvement(mu[0], sd, best);
    if (improving_draws >= kMinImprovingDraws) {
      max_z = std::max(max_z, std::abs(mc - closed) / se);
    } else if (improving_draws > 0) {
      ++rare;
      const double mean_excess = closed / probability_of_improvement(mu[0], sd, best);
      const double tolerance = (5.0 * std::sqrt(improving_draws) + 5.0) * 2.0 * mean_excess / samples;
      max_rare_ratio = std::max(max_rare_ratio, std::abs(mc - closed) / tolerance);
    }
    t.add_row({x, mu[0], sd, closed, mc, se});
  }
  double max_ei_at_data = 0.0;
  for (int i = 0; i < 4; ++i) {
    Vector mu, var;
    gp.predict(X.col(i), mu, var);
    max_ei_at_data = std::max(max_ei_at_data, expected_improvement(mu[0], std::sqrt(var[0]), best));
  }
  ctx.measure("max_abs_difference", max_abs);
  ctx.measure("rare_improvement_points", rare);
  ctx.measure("samples", samples);
  // Over `grid` points, |z| <= 4.5 holds with probability > 0.999 when the two agree.
  ctx.check.at_most("max_z_score", max_z, 4.5);
  ctx.check.at_most("max_rare_ratio", max_rare_ratio, 1.0);
  ctx.check.at_most("max_ei_at_queried_points", max_ei_at_data, 1e-5);
  ctx.note("Minimization form: improvement = max(best - f, 0). Matérn-5/2, l = 0.7, s_f^2 = 1, s_n^2 = 1e-12. "
           "z = (MC - closed) / exact standard error of the MC mean (from the closed-form second moment), where at "
           "least 30 improving draws are expected; elsewhere a Poisson bound on the count of improving draws.");
}

}  // namespace descent::experiments
