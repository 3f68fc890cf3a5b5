// Murphy §6.5.2 (E4): binary logistic regression by MM with Böhning's bound,
// w ← w + 4(XᵀX)⁻¹Xᵀ(y − μ) (6.135 with the sign corrected), and by IRLS: both reach the same
// MLE, MM's log-likelihood never decreases, and MM takes more iterations that each cost less.
#include <chrono>
#include <cmath>

#include "descent/bound/logistic.hpp"
#include "descent/core/rng.hpp"
#include "descent/experiments/experiment.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(logistic_mm_vs_irls, "004 (Murphy, PML2 ch. 6)", "§6.5.2, eqs. 6.133–6.136",
                   "MM (Böhning bound) and IRLS reach the same logistic MLE; MM is monotone and cheaper per iteration") {
  using namespace bound;
  const int64_t N = ctx.pick<int64_t>(4000, 50000), D = ctx.pick<int64_t>(100, 200);
  Rng rng(ctx.seed);
  Eigen::MatrixXd X(N, D);
  Eigen::VectorXd w_true(D), y(N);
  for (auto& w : w_true) w = rng.normal() / std::sqrt(static_cast<double>(D));
  for (int64_t n = 0; n < N; ++n) {
    X(n, 0) = 1.0;
    for (int64_t j = 1; j < D; ++j) X(n, j) = rng.normal();
    y[n] = rng.bernoulli(1 / (1 + std::exp(-X.row(n).dot(w_true)))) ? 1.0 : 0.0;
  }
  using clock = std::chrono::steady_clock;
  auto seconds = [](clock::time_point a, clock::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  // Per-iteration time: the minimum over 3 runs of the whole fit / its iterations.
  double mm_time = 1e300, irls_time = 1e300;
  LogisticFit mm, irls;
  for (int r = 0; r < 3; ++r) {
    auto t0 = clock::now();
    mm = logistic_mm(X, y);
    auto t1 = clock::now();
    irls = logistic_irls(X, y);
    auto t2 = clock::now();
    mm_time = std::min(mm_time, seconds(t0, t1) / mm.iterations);
    irls_time = std::min(irls_time, seconds(t1, t2) / irls.iterations);
  }
  Table& trace = ctx.table("log_likelihood", {"iteration", "mm", "irls"});
  for (size_t i = 0; i < mm.log_likelihood.size(); ++i)
    trace.add_row({static_cast<int64_t>(i), mm.log_likelihood[i],
                   irls.log_likelihood[std::min(i, irls.log_likelihood.size() - 1)]});
  trace.plot({.title = "logistic regression: MM vs IRLS", .x_label = "iteration", .y_label = "log-likelihood",
              .series = {{"iteration", "mm", "MM (Bohning)"}, {"iteration", "irls", "IRLS"}}});
  // Monotone up to rounding: at convergence successive values agree to the last bits.
  double largest_drop = 0;
  for (size_t i = 1; i < mm.log_likelihood.size(); ++i)
    largest_drop = std::max(largest_drop, mm.log_likelihood[i - 1] - mm.log_likelihood[i]);
  const bool monotone = largest_drop <= 1e-12 * std::abs(mm.log_likelihood.back());
  ctx.measure("mm_largest_drop", largest_drop);
  ctx.check.holds("both_converged", mm.converged && irls.converged, "both fits meet max|Δw| ≤ 1e-13 (1 + max|w|)");
  ctx.check.at_most("max_coefficient_difference", (mm.weights - irls.weights).cwiseAbs().maxCoeff(), 1e-8);
  ctx.check.holds("mm_monotone", monotone, "MM's log-likelihood never decreases (6.124)");
  ctx.check.above("mm_iterations_over_irls", static_cast<double>(mm.iterations) / irls.iterations, 1.0);
  ctx.check.above("irls_over_mm_seconds_per_iteration", irls_time / mm_time, 1.0);
  ctx.measure("n", N);
  ctx.measure("d", D);
  ctx.measure("mm_iterations", mm.iterations);
  ctx.measure("irls_iterations", irls.iterations);
  ctx.measure("mm_seconds_per_iteration", mm_time);
  ctx.measure("irls_seconds_per_iteration", irls_time);
  ctx.note("MM's step costs O(ND + D²) after one Cholesky of XᵀX; IRLS forms and factors XᵀSX, O(ND² + D³), "
           "each step. Times: min over 3 fits.");
}

}  // namespace descent::experiments
