// Murphy §6.3.6 (E2): Gumbel-max draws argmax_k(log α_k + ε_k) have frequencies α_k/Σα
// (6.78); Gumbel-softmax samples (6.79) approach one-hot vectors as the temperature τ → 0.
#include <cmath>

#include "descent/estimators/gumbel.hpp"
#include "descent/experiments/experiment.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(gumbel_max_softmax, "004 (Murphy, PML2 ch. 6)", "§6.3.6, eqs. 6.78–6.79",
                   "Gumbel-max frequencies tend to α_k/Σα; Gumbel-softmax samples tend to one-hot as τ → 0") {
  using namespace estimators;
  const Eigen::VectorXd alpha = (Eigen::VectorXd(5) << 1.0, 2.0, 3.0, 4.0, 0.5).finished();
  const Eigen::VectorXd log_alpha = alpha.array().log();
  const int64_t S = ctx.pick<int64_t>(20000, 1000000);
  Rng rng(ctx.seed);
  Eigen::VectorXd counts = Eigen::VectorXd::Zero(alpha.size());
  for (int64_t s = 0; s < S; ++s) counts[gumbel_max_sample(log_alpha, rng)] += 1;
  Table& freq = ctx.table("frequencies", {"k", "frequency", "alpha_share", "standard_error"});
  for (int64_t k = 0; k < alpha.size(); ++k) {
    const double p = alpha[k] / alpha.sum(), se = std::sqrt(p * (1 - p) / static_cast<double>(S));
    freq.add_row({k, counts[k] / static_cast<double>(S), p, se});
    ctx.check.within("frequency_" + std::to_string(k), counts[k] / static_cast<double>(S), p, 4 * se);
  }
  // Distance of a relaxed sample to the vertex of its Gumbel-max draw (same ε): 1 − x_k.
  Table& soft = ctx.table("softmax_vs_temperature", {"tau", "mean_distance_to_one_hot", "argmax_agrees"});
  std::vector<double> distances;
  bool all_agree = true;
  const int64_t R = ctx.pick<int64_t>(2000, 20000);
  for (double tau : {5.0, 2.0, 1.0, 0.5, 0.1, 0.01}) {
    Rng a(ctx.seed + 1), b(ctx.seed + 1);
    double d = 0;
    int64_t agree = 0;
    for (int64_t r = 0; r < R; ++r) {
      const Eigen::VectorXd x = gumbel_softmax_sample(log_alpha, tau, a);
      const int64_t k = gumbel_max_sample(log_alpha, b);
      Eigen::Index am;
      x.maxCoeff(&am);
      agree += am == k;
      d += (1 - x[k]) / static_cast<double>(R);
    }
    distances.push_back(d);
    soft.add_row({tau, d, static_cast<double>(agree) / static_cast<double>(R)});
    all_agree &= agree == R;
  }
  soft.plot({.title = "Gumbel-softmax: distance to the one-hot draw", .x_label = "temperature",
             .y_label = "mean 1 - x_k", .series = {{"tau", "mean_distance_to_one_hot"}}, .log_y = true});
  ctx.check.holds("argmax_agrees", all_agree, "softmax keeps the order, so every relaxed sample's mode is its Gumbel-max draw");
  ctx.check.decreasing("distance_falls_with_tau", distances);
  ctx.check.below("distance_at_tau_0.01", distances.back(), 0.01);
  ctx.measure("samples", S);
  ctx.note("α = (1, 2, 3, 4, 0.5); frequencies within 4 binomial standard errors.");
}

}  // namespace descent::experiments
