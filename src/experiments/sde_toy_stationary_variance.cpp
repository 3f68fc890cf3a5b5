// Arora Problem 12.2.4: SGD with one example per step on f_i ∈ {(x−3)², (x+3)², x² + 9}
// (f = x² + 9) has gradient noise −2c_i ∈ {−6, 6, 0}, Σ = 24, and the SDE limit
//     dX = −2X dt + √(24η) dW,   stationary variance 6η  (an Ornstein–Uhlenbeck process).
// SGD itself is the AR(1) chain x ← (1 − 2η)x + 2ηc, stationary variance 6η/(1 − η): the two
// agree to relative order η as η → 0.
// Measured: the time-averaged x² of SGD (dynamics::svag at l = 1) and of the SDE (Euler–
// Maruyama at Δt = η/5, whose own stationary variance is 6η/(1 − Δt)), with batch-means errors.
#include <cmath>

#include "descent/dynamics/sde.hpp"
#include "descent/dynamics/statistics.hpp"
#include "descent/dynamics/svag.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/optim/problems.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(sde_toy_stationary_variance, "001 (Arora et al.)", "Problem 12.2.4, eq. (12.4)",
                   "SGD on f_i ∈ {(x−3)², (x+3)², x²+9} and its SDE dX = −2X dt + √(24η) dW have stationary "
                   "variances 6η/(1−η) and 6η: they agree as η → 0") {
  using namespace dynamics;
  const std::vector<double> etas = ctx.pick(std::vector<double>{0.2, 0.1, 0.05}, std::vector<double>{0.2, 0.1, 0.05, 0.02, 0.01});
  const double horizon = ctx.pick(4000.0, 20000.0);  // time units of the long runs
  // f_i = ½(√2 x − √2 c_i)² = (x − c_i)²: least squares with rows √2 and targets √2 c_i.
  const double r2 = std::sqrt(2.0);
  optim::problems::LeastSquares toy(Tensor::from_vector(std::vector<double>{r2, r2, r2}, {3, 1}),
                                    Tensor::from_vector(std::vector<double>{3 * r2, -3 * r2, 0.0}, {3}));
  FunctionObjective drift(1, [](const Tensor& x, Tensor& g) {  // f = x² + 9
    g.data<double>()[0] = 2 * x.at(0);
    return x.at(0) * x.at(0) + 9;
  });
  IsotropicDiffusion noise(1, 24.0);
  Table& t = ctx.table("stationary_variance", {"eta", "sgd", "sgd_se", "sgd_exact", "sde", "sde_se", "sde_exact",
                                               "ou_limit", "relative_gap"});
  std::vector<double> gaps;
  for (size_t e = 0; e < etas.size(); ++e) {
    const double eta = etas[e];
    const int64_t steps = int64_t(horizon / eta), burn = int64_t(20 / eta);
    // SGD: one long run, every iterate kept.
    const auto sgd = svag(toy, Tensor::zeros({1}, DType::f64),
                          {.learning_rate = eta, .batch_size = 1, .l = 1, .sgd_steps = steps, .record_every = 1,
                           .seed = ctx.seed * 100 + e});
    std::vector<double> sq;
    for (int64_t k = burn; k < sgd.path.dim(0); ++k) sq.push_back(sgd.path.at(k) * sgd.path.at(k));
    const TimeAverage vs = batch_means(sq);
    // SDE by Euler–Maruyama at Δt = η/5.
    const double dt = eta / 5;
    BrownianIncrements w(1, dt, ctx.seed * 100 + e, 1);
    const auto sde = simulate_sde(drift, noise, Tensor::zeros({1}, DType::f64), w,
                                  {.noise_scale = eta, .steps = int64_t(horizon / dt), .record_every = 1});
    sq.clear();
    for (int64_t k = 5 * burn; k < sde.path.dim(0); ++k) sq.push_back(sde.path.at(k) * sde.path.at(k));
    const TimeAverage vd = batch_means(sq);
    const double sgd_exact = 6 * eta / (1 - eta), sde_exact = 6 * eta / (1 - dt), ou = 6 * eta;
    const double gap = vs.mean / vd.mean - 1;
    gaps.push_back(gap);
    t.add_row({eta, vs.mean, vs.standard_error, sgd_exact, vd.mean, vd.standard_error, sde_exact, ou, gap});
    const std::string tag = "eta_" + std::to_string(eta).substr(0, 5);
    ctx.check.within(tag + "_sgd_variance_vs_closed_form", vs.mean, sgd_exact, 4.5 * vs.standard_error);
    ctx.check.within(tag + "_sde_variance_vs_closed_form", vd.mean, sde_exact, 4.5 * vd.standard_error);
    ctx.check.within(tag + "_sde_variance_vs_ou_limit", vd.mean, ou, 4.5 * vd.standard_error + (sde_exact - ou));
    ctx.progress(int64_t(e + 1), int64_t(etas.size()));
  }
  // The SGD/SDE gap shrinks like η/(1 − η): the smallest η's gap is below half the largest's.
  ctx.check.below("gap_shrinks_with_eta", std::abs(gaps.back()), 0.5 * std::abs(gaps.front()));
  t.plot({.title = "stationary variance: SGD vs its SDE (Arora Problem 12.2.4)", .x_label = "eta", .y_label = "Var x",
          .series = {{"eta", "sgd", "SGD", true}, {"eta", "sde", "SDE (Euler-Maruyama)", true}, {"eta", "sgd_exact", "6eta/(1-eta)"}, {"eta", "ou_limit", "6eta"}}});
  ctx.note("One run per η of " + std::to_string(int(horizon)) + " time units (burn-in 20); standard errors by 30 batch means; "
           "checks at 4.5 standard errors.");
}

}  // namespace descent::experiments
