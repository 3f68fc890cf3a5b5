// Murphy §6.5.4.4 (E5, Fig. 6.8): EM for a Gaussian with entries missing at random. With
// N = 100, D = 10 and 50% missing, the imputations E[x_h | x_v, θ̂] with the EM estimate are
// close to those with the true θ, and closer with more data and less missingness. The seed
// gives no generating parameters (⚠): Σ = AAᵀ/D + ½I with A standard normal, μ ~ N(0, I).
#include <cmath>

#include <Eigen/Cholesky>

#include "descent/bound/mvn_missing.hpp"
#include "descent/core/rng.hpp"
#include "descent/experiments/experiment.hpp"

namespace descent::experiments {

namespace {

struct Truth {
  Eigen::VectorXd mu;
  Eigen::MatrixXd sigma, L;
};

Truth random_gaussian(int64_t D, Rng& rng) {
  Truth t;
  Eigen::MatrixXd A(D, D);
  for (auto& a : A.reshaped()) a = rng.normal();
  t.sigma = A * A.transpose() / static_cast<double>(D) + 0.5 * Eigen::MatrixXd::Identity(D, D);
  t.mu.resize(D);
  for (auto& m : t.mu) m = rng.normal();
  t.L = t.sigma.llt().matrixL();
  return t;
}

struct Run {
  double gap = 0;          // RMS over hidden entries of (imputation with θ̂ − with θ)
  double correlation = 0;  // of the imputations with θ̂ and with θ over the hidden entries
  double mse_hat = 0, mse_true = 0;  // imputation error against the hidden values
  bool converged = false;
};

Run one_run(const Truth& t, int64_t N, double missing, Rng& rng) {
  const int64_t D = t.mu.size();
  Eigen::MatrixXd full(N, D), X(N, D);
  for (int64_t n = 0; n < N; ++n) {
    Eigen::VectorXd e(D);
    for (auto& x : e) x = rng.normal();
    full.row(n) = (t.mu + t.L * e).transpose();
  }
  X = full;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < D; ++j)
      if (rng.uniform() < missing) X(n, j) = std::nan("");
  bound::MvnMissingOptions o;
  o.em.tolerance = 1e-7;
  const bound::MvnMissingFit fit = bound::fit_mvn_missing(X, o);
  const Eigen::MatrixXd hat = bound::impute_mvn(X, fit.mean, fit.covariance);
  const Eigen::MatrixXd tru = bound::impute_mvn(X, t.mu, t.sigma);
  Run r;
  int64_t hidden = 0;
  std::vector<double> a, b;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < D; ++j)
      if (std::isnan(X(n, j))) {
        ++hidden;
        a.push_back(hat(n, j));
        b.push_back(tru(n, j));
        r.gap += std::pow(hat(n, j) - tru(n, j), 2);
        r.mse_hat += std::pow(hat(n, j) - full(n, j), 2);
        r.mse_true += std::pow(tru(n, j) - full(n, j), 2);
      }
  r.gap = std::sqrt(r.gap / hidden);
  const Eigen::Map<const Eigen::ArrayXd> ea(a.data(), a.size()), eb(b.data(), b.size());
  const Eigen::ArrayXd ca = ea - ea.mean(), cb = eb - eb.mean();
  r.correlation = (ca * cb).sum() / std::sqrt(ca.square().sum() * cb.square().sum());
  r.mse_hat /= hidden;
  r.mse_true /= hidden;
  r.converged = fit.trace.converged;
  return r;
}

}  // namespace

DESCENT_EXPERIMENT(mvn_missing_data_imputation, "004 (Murphy, PML2 ch. 6)", "§6.5.4.4, eqs. 6.151–6.164, Fig. 6.8",
                   "EM imputations of a 10-D Gaussian with 50% missing are close to those with the true θ, and closer "
                   "with more data and less missingness") {
  const int64_t D = 10;
  const int replicates = ctx.pick(4, 40);
  Rng rng(ctx.seed);
  const Truth t = random_gaussian(D, rng);
  Table& table =
      ctx.table("imputation", {"n", "missing", "rms_gap_hat_vs_true_theta", "correlation", "mse_hat", "mse_true"});
  auto average = [&](int64_t N, double missing) {
    Run a;
    for (int r = 0; r < replicates; ++r) {
      const Run x = one_run(t, N, missing, rng);
      a.gap += x.gap / replicates;
      a.mse_hat += x.mse_hat / replicates;
      a.mse_true += x.mse_true / replicates;
      a.correlation += x.correlation / replicates;
    }
    table.add_row({N, missing, a.gap, a.correlation, a.mse_hat, a.mse_true});
    return a;
  };
  const Run n100 = average(100, 0.5), n400 = average(400, 0.5), n1600 = average(1600, 0.5);
  const Run m30 = average(100, 0.3), m10 = average(100, 0.1);
  // "Almost identical" (Fig. 6.8) holds only loosely at N = 100, 50% missing: at seeds 0–9
  // the two imputations correlate 0.71–0.90 and the EM imputations' error is 1.28–1.55× the
  // oracle's; the bounds below state that, and the clear claim is the improvement with N.
  ctx.check.at_least("correlation_n100_50pct", n100.correlation, 0.6);
  ctx.check.at_most("mse_hat_over_mse_true_n100_50pct", n100.mse_hat / n100.mse_true, 2.0);
  ctx.check.decreasing("gap_falls_with_n", {n100.gap, n400.gap, n1600.gap});
  ctx.check.decreasing("gap_falls_with_less_missingness", {n100.gap, m30.gap, m10.gap});
  ctx.check.at_most("mse_hat_over_mse_true_n1600", n1600.mse_hat / n1600.mse_true, 1.02);
  ctx.measure("replicates", replicates);
  ctx.note("Measured at seeds 0–9 (quick): correlation of the θ̂ and θ imputations 0.71–0.90 and MSE ratio "
           "1.28–1.55 at N = 100, 50% missing: close, not identical. ");
  ctx.note("Each row averages `replicates` data sets from one random Σ = AAᵀ/D + I/2 (seed's parameters not given). "
           "gap = RMS difference of the imputations with θ̂ and with θ over the hidden entries; mse = error against "
           "the hidden values. EM's monotonicity is checked inside every fit.");
}

}  // namespace descent::experiments
