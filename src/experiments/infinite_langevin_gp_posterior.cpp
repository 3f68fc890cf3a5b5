// Infinite-dimensional Langevin dynamics (Suzuki §2.7; Muzellec, Sato, Massias & Suzuki 2020),
// truncated to J = 50 modes with prior eigenvalues μ_j = j^{−2}, run by the semi-implicit Euler
// scheme X_{n+1} = S_η(X_n − η∇L(X_n) + √(2η/β)ξ_n), S_η = (I + ηλA)⁻¹ (dynamics::
// infinite_dimensional_langevin). Linear-Gaussian case: L(x) = (1/2n) Σ_i (⟨φ(t_i), x⟩ − y_i)²
// with φ_j(t) = √2 cos(jπt)/j, n = 20 points t_i = (i + ½)/n, y_i = sin(2πt_i); λ = 5, β = 20.
// Then π ∝ exp(−βL − (βλ/2)Σ x_j²/μ_j) is the Gaussian-process posterior and the scheme is
// linear-Gaussian, so its law after n steps and its invariant law μ_η are exact
// (semi_implicit_langevin_laws / _invariant_law). Measured:
//   (1) a Monte Carlo chain (η = 0.01) against μ_η and π: per-mode means of the first 3 modes;
//   (2) the stationary bias |E_{μ_η}φ − E_πφ| for φ = ‖x‖² against η: slope ≈ 1/2 in log-log, the
//       η^{1/2−κ} term (μ_j ~ j^{−2}: η^{(p−1)/p} with p = 2, §2.7 Lemma 2);
//   (3) the transient |E φ(X_n) − E_{μ_η}φ| from X_0 = 0 decays at least at the spectral gap
//       (i) Λ*_η = (λ/μ_1 − M)/(1 + ηλ/μ_1), M = ‖∇²L‖ (Lemma 1): the e^{−Λnη} term.
#include <cmath>

#include "descent/dynamics/diffusion.hpp"
#include "descent/dynamics/langevin.hpp"
#include "descent/dynamics/statistics.hpp"
#include "descent/experiments/experiment.hpp"

namespace descent::experiments {
namespace {

double expected_square_norm(const dynamics::GaussianLaw& g) { return g.covariance.trace() + g.mean.squaredNorm(); }

}  // namespace

DESCENT_EXPERIMENT(infinite_langevin_gp_posterior, "002 (Suzuki, COSS2020)", "§2.7 (semi-implicit Euler, Lemmas 1–2)",
                   "the semi-implicit infinite-dimensional Langevin scheme samples the GP posterior in a linear-Gaussian "
                   "case, with error e^{−Λnη} (transient) + η^{1/2−κ} (discretization) visible in η") {
  using namespace dynamics;
  const int j = 50, n = 20;
  InfiniteLangevinOptions o{.step = 0.01, .inverse_temperature = 20.0, .regularization = 5.0};
  for (int k = 1; k <= j; ++k) o.prior_eigenvalues.push_back(1.0 / (double(k) * k));
  Eigen::MatrixXd phi(n, j);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    const double t = (i + 0.5) / n;
    y(i) = std::sin(2 * M_PI * t);
    for (int k = 1; k <= j; ++k) phi(i, k - 1) = std::sqrt(2.0) * std::cos(k * M_PI * t) / k;
  }
  const Eigen::MatrixXd q = phi.transpose() * phi / n;
  const Eigen::VectorXd b = phi.transpose() * y / n;
  const GaussianLaw post = gaussian_process_posterior(q, b, o);
  const double lipschitz = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(q).eigenvalues().maxCoeff();

  // (1) Monte Carlo against μ_η and π.
  FunctionObjective loss(j, [&](const Tensor& t, Tensor& g) {
    const Eigen::VectorXd x = as_vector(t);
    as_vector(g) = q * x - b;
    return 0.5 * x.dot(q * x) - b.dot(x) + 0.5 * y.squaredNorm() / n;
  });
  InfiniteLangevinOptions mc = o;
  mc.steps = ctx.pick(60000, 400000);
  mc.burn_in = 2000;
  mc.seed = ctx.seed;
  const Tensor samples = infinite_dimensional_langevin(loss, Tensor::zeros({j}, DType::f64), mc);
  const GaussianLaw inv = semi_implicit_langevin_invariant_law(q, b, o);
  Table& modes = ctx.table("modes", {"mode", "chain_mean", "standard_error", "invariant_mean", "posterior_mean",
                                     "invariant_sd", "posterior_sd"});
  for (int k = 0; k < 3; ++k) {
    std::vector<double> series(size_t(samples.dim(0)));
    for (int64_t r = 0; r < samples.dim(0); ++r) series[size_t(r)] = samples.at(r * j + k);
    const TimeAverage a = batch_means(series);
    modes.add_row({k + 1, a.mean, a.standard_error, inv.mean(k), post.mean(k), std::sqrt(inv.covariance(k, k)),
                   std::sqrt(post.covariance(k, k))});
    ctx.check.within("mode_" + std::to_string(k + 1) + "_chain_mean_vs_posterior", a.mean, post.mean(k),
                     4.5 * a.standard_error);
  }

  // (2) Stationary bias against η.
  const double target = expected_square_norm(post);
  Table& bias_t = ctx.table("stationary_bias", {"eta", "bias", "transient_rate", "spectral_gap_i"});
  std::vector<double> log_eta, log_bias;
  for (double eta : {0.1, 0.05, 0.02, 0.01, 0.005, 0.002}) {
    InfiniteLangevinOptions oe = o;
    oe.step = eta;
    const double bias = std::abs(expected_square_norm(semi_implicit_langevin_invariant_law(q, b, oe)) - target);
    // (3) Transient from X_0 = 0 over time 3: the decay rate of the last third.
    const int64_t steps = int64_t(std::lround(3.0 / eta));
    const auto laws = semi_implicit_langevin_laws(q, b, oe, {Eigen::VectorXd::Zero(j), Eigen::MatrixXd::Zero(j, j)}, steps);
    const double stat = expected_square_norm(semi_implicit_langevin_invariant_law(q, b, oe));
    const double e1 = std::abs(expected_square_norm(laws[size_t(2 * steps / 3)]) - stat);
    const double e2 = std::abs(expected_square_norm(laws.back()) - stat);
    const double rate = std::log(e1 / e2) / (double(steps - 2 * steps / 3) * eta);
    const double gap = semi_implicit_spectral_gap(lipschitz, oe);
    bias_t.add_row({eta, bias, rate, gap});
    ctx.check.at_least("transient_rate_at_eta_" + std::to_string(eta).substr(0, 5) + "_vs_gap_i", rate, gap);
    log_eta.push_back(std::log(eta));
    log_bias.push_back(std::log(bias));
  }
  double mx = 0, my = 0;
  for (size_t i = 0; i < log_eta.size(); ++i) {
    mx += log_eta[i] / log_eta.size();
    my += log_bias[i] / log_bias.size();
  }
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < log_eta.size(); ++i) {
    sxy += (log_eta[i] - mx) * (log_bias[i] - my);
    sxx += (log_eta[i] - mx) * (log_eta[i] - mx);
  }
  ctx.check.within("bias_exponent_in_eta", sxy / sxx, 0.5, 0.12);
  bias_t.plot({.title = "stationary bias of E||x||^2 vs eta (slope 1/2)", .x_label = "eta", .y_label = "bias",
               .series = {{"eta", "bias", "|E_mu_eta - E_pi|", true}}, .log_y = true});
  ctx.measure("lipschitz_M", lipschitz);
  ctx.note("J = 50 modes, μ_j = j^-2, λ = 5, β = 20; chain at η = 0.01 with batch-means errors; bias and transient "
           "from the exact Gaussian laws of the linear scheme.");
}

}  // namespace descent::experiments
