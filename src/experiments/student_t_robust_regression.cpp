// Murphy §6.5.5 (E6): robust linear regression by EM on a Student-t likelihood. The E-step
// weights λ_n = (ν + 1)/(ν + δ_n) (6.170) are small for outliers, and the fit beats least
// squares on contaminated data.
#include <cmath>

#include <Eigen/Cholesky>

#include "descent/bound/student_t.hpp"
#include "descent/core/rng.hpp"
#include "descent/experiments/experiment.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(student_t_robust_regression, "004 (Murphy, PML2 ch. 6)", "§6.5.5, eqs. 6.165–6.170",
                   "Student-t EM down-weights outliers (λ_n small) and fits contaminated data better than least squares") {
  const int64_t N = ctx.pick<int64_t>(200, 2000);
  const double slope = 2.0, intercept = 0.5;
  Rng rng(ctx.seed);
  Eigen::MatrixXd X(N, 2);
  Eigen::VectorXd y(N);
  std::vector<bool> outlier(N);
  for (int64_t n = 0; n < N; ++n) {
    X(n, 0) = 1.0;
    X(n, 1) = rng.uniform(-2, 2);
    y[n] = intercept + slope * X(n, 1) + 0.3 * rng.normal();
    outlier[n] = n % 10 == 0;  // 10% gross errors, at high leverage
    if (outlier[n]) X(n, 1) = 1.8 + 0.1 * rng.normal(), y[n] = -6.0 + rng.normal();
  }
  bound::StudentTOptions o;
  o.estimate_nu = true;  // ECME
  const bound::StudentTFit fit = bound::fit_student_t_regression(X, y, o);
  const Eigen::Vector2d ols = (X.transpose() * X).ldlt().solve(X.transpose() * y);
  double out_max = 0, in_sum = 0, out_sum = 0;
  int64_t n_out = 0;
  Table& weights = ctx.trace("weights", {"x", "y", "lambda", "outlier"});
  for (int64_t n = 0; n < N; ++n) {
    weights.add_row({X(n, 1), y[n], fit.lambda[n], outlier[n] ? 1 : 0});
    if (outlier[n]) out_max = std::max(out_max, fit.lambda[n]), out_sum += fit.lambda[n], ++n_out;
    else in_sum += fit.lambda[n];
  }
  Table& fits = ctx.table("fits", {"method", "intercept", "slope", "slope_error"});
  fits.add_row({"least squares", ols[0], ols[1], std::abs(ols[1] - slope)});
  fits.add_row({"Student-t EM (ECME)", fit.weights[0], fit.weights[1], std::abs(fit.weights[1] - slope)});
  ctx.check.below("t_slope_error", std::abs(fit.weights[1] - slope), 0.1);
  ctx.check.above("ols_over_t_slope_error", std::abs(ols[1] - slope) / std::abs(fit.weights[1] - slope), 5.0);
  ctx.check.below("max_outlier_lambda", out_max, 0.1);
  ctx.check.above("mean_inlier_lambda", in_sum / static_cast<double>(N - n_out), 0.5);
  ctx.check.holds("em_converged", fit.trace.converged, "EM meets its relative-change tolerance (monotone checked)");
  ctx.measure("nu", fit.nu);
  ctx.measure("mean_outlier_lambda", out_sum / static_cast<double>(n_out));
  ctx.measure("em_iterations", fit.trace.iterations);
  ctx.note("y = 0.5 + 2x + N(0, 0.3²), x ~ U(−2, 2); every 10th point replaced by (1.8 + N(0, 0.1²), −6 + N(0, 1)).");
}

}  // namespace descent::experiments
