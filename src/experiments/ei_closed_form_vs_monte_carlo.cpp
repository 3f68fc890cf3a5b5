// Murphy §6.6, eqs. (6.176)-(6.178) and Fig. 6.10: for a noise-free 1-D GP, the closed
// form of expected improvement equals its Monte Carlo estimate from posterior samples, and
// EI is zero at the points already queried.
#include <cmath>

#include "descent/blackbox/bayesopt.hpp"
#include "descent/experiments/experiment.hpp"
#include "output.hpp"

namespace descent::experiments {
namespace {

Result run_ei(const RunOptions& opt) {
  using namespace blackbox;
  const int samples = opt.quick ? 20000 : 200000, grid = opt.quick ? 25 : 101;
  Rng rng(opt.seed);
  // Four queried points of f(x) = sin(3x) + x^2 / 2 on [-2, 2] (a Fig. 6.10-like setup).
  Matrix X(1, 4);
  X << -1.6, -0.4, 0.5, 1.7;
  Vector y(4);
  for (int i = 0; i < 4; ++i) y[i] = std::sin(3 * X(0, i)) + 0.5 * X(0, i) * X(0, i);
  GaussianProcess gp(Kernel::matern52, 1);
  gp.set_data(X, y);
  gp.set_hyperparameters(Vector{{std::log(0.7), 0.0, std::log(1e-12)}});  // noise-free
  const double best = y.minCoeff();

  auto csv = open_output(opt.output_dir, "ei.csv");
  if (csv.is_open()) csv << "x,mean,sd,ei_closed,ei_monte_carlo,standard_error\n";
  double max_z = 0.0, max_abs = 0.0;
  for (int i = 0; i < grid; ++i) {
    const double x = -2.0 + 4.0 * i / (grid - 1);
    Vector mu, var;
    gp.predict(Vector::Constant(1, x), mu, var);
    const double sd = std::sqrt(var[0]);
    const double closed = expected_improvement(mu[0], sd, best);
    const Matrix F = gp.sample_posterior(Vector::Constant(1, x), samples, rng);
    const Eigen::ArrayXd imp = (best - F.col(0).array()).max(0.0);
    const double mc = imp.mean();
    const double se = std::sqrt((imp - mc).square().sum() / (samples - 1) / samples);
    max_abs = std::max(max_abs, std::abs(mc - closed));
    if (se > 0) max_z = std::max(max_z, std::abs(mc - closed) / se);
    if (csv.is_open()) csv << x << "," << mu[0] << "," << sd << "," << closed << "," << mc << "," << se << "\n";
  }
  double max_ei_at_data = 0.0;
  for (int i = 0; i < 4; ++i) {
    Vector mu, var;
    gp.predict(X.col(i), mu, var);
    max_ei_at_data = std::max(max_ei_at_data, expected_improvement(mu[0], std::sqrt(var[0]), best));
  }
  Result r;
  r.measured = {{"max_abs_difference", max_abs}, {"max_z_score", max_z}, {"max_ei_at_queried_points", max_ei_at_data},
                {"samples", samples}, {"grid_points", grid}};
  r.expected = {{"max_z_score", 0.0}, {"max_ei_at_queried_points", 0.0}};
  // Over `grid` points, |z| <= 4.5 holds with probability > 0.999 when the two agree.
  r.tolerance = {{"max_z_score", 4.5}, {"max_ei_at_queried_points", 1e-5}};
  r.passed = max_z <= 4.5 && max_ei_at_data <= 1e-5;
  r.notes = "Minimization form: improvement = max(best - f, 0). Matérn-5/2, l = 0.7, s_f^2 = 1, s_n^2 = 1e-12.";
  return r;
}

}  // namespace

void register_ei_closed_form_vs_monte_carlo(Registry& reg) {
  reg.add({"ei_closed_form_vs_monte_carlo",
           {"004 (Murphy, PML2 ch. 6)", "§6.6, eqs. 6.176-6.178, Fig. 6.10"},
           "expected improvement's closed form equals its Monte Carlo estimate, and is 0 at queried points of a "
           "noise-free GP",
           run_ei});
}

}  // namespace descent::experiments
