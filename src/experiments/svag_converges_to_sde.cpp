// SVAG (Arora Def. 12.4.1, Thm 12.4.2; Li, Malladi & Arora 2021) converges to the SDE of SGD
// as the amplification l grows: on Problem 12.2.4's toy (f_i ∈ {(x−3)², (x+3)², x²+9}, batch 1,
// η = 0.25, from x_0 = 2) the marginal of X at time T = 1 (4 SGD steps) under SVAG(l) is
// compared, in 1-D Wasserstein-2 distance (transport_1d), with that of the SDE
// dX = −2X dt + √(24η) dW simulated by Euler–Maruyama at Δt = η/64. l = 1 is SGD, whose
// marginal is a 4-step lattice-like law with the wrong mean (1 − 2η)^4 x_0 vs e^{−2T} x_0; the
// weak error is O(η/l), so W2 falls as l grows, down to the sampling floor (W2 between two
// independent SDE samples of the same size).
#include <cmath>

#include "descent/dynamics/sde.hpp"
#include "descent/dynamics/svag.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/optim/problems.hpp"
#include "descent/transport/closed_form.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(svag_converges_to_sde, "001 (Arora et al.)", "§12.4, Def. 12.4.1, Thm 12.4.2",
                   "SVAG with amplification l converges to SGD's SDE in distribution as l grows (W2 between the "
                   "marginals at time T falls with l)") {
  using namespace dynamics;
  const int64_t n = ctx.pick(3000, 20000);
  const std::vector<int64_t> ls = ctx.pick(std::vector<int64_t>{1, 2, 4, 8}, std::vector<int64_t>{1, 2, 4, 8, 16, 32});
  const double eta = 0.25, x0 = 2.0;
  const int64_t sgd_steps = 4;  // T = 1
  const double r2 = std::sqrt(2.0);
  optim::problems::LeastSquares toy(Tensor::from_vector(std::vector<double>{r2, r2, r2}, {3, 1}),
                                    Tensor::from_vector(std::vector<double>{3 * r2, -3 * r2, 0.0}, {3}));
  FunctionObjective drift(1, [](const Tensor& x, Tensor& g) {
    g.data<double>()[0] = 2 * x.at(0);
    return x.at(0) * x.at(0) + 9;
  });
  IsotropicDiffusion noise(1, 24.0);
  const Tensor start = Tensor::full({1}, x0, DType::f64);
  auto sde_sample = [&](uint64_t base) {
    std::vector<double> v(n);
    const double dt = eta / 64;
    for (int64_t i = 0; i < n; ++i) {
      BrownianIncrements w(1, dt, base, uint64_t(i));
      v[i] = simulate_sde(drift, noise, start, w, {.noise_scale = eta, .steps = 4 * 64}).final_state.at(0);
    }
    return Tensor::from_vector(v, {n});
  };
  const Tensor sde = sde_sample(ctx.seed * 1000 + 1), sde2 = sde_sample(ctx.seed * 1000 + 2);
  const double floor = transport::transport_1d(sde, sde2).distance;
  Table& t = ctx.table("svag_w2", {"l", "w2_to_sde", "mean", "variance", "sampling_floor"});
  std::vector<double> w2;
  for (int64_t l : ls) {
    std::vector<double> v(n);
    for (int64_t i = 0; i < n; ++i)
      v[i] = svag(toy, start, {.learning_rate = eta, .batch_size = 1, .l = l, .sgd_steps = sgd_steps,
                               .seed = (ctx.seed * 1000 + 10 + uint64_t(l)) * 1000003 + uint64_t(i)})
                 .final_state.at(0);
    double m = 0, s = 0;
    for (double x : v) m += x;
    m /= double(n);
    for (double x : v) s += (x - m) * (x - m);
    w2.push_back(transport::transport_1d(Tensor::from_vector(v, {n}), sde).distance);
    t.add_row({l, w2.back(), m, s / double(n - 1), floor});
    ctx.progress(int64_t(w2.size()), int64_t(ls.size()));
  }
  ctx.measure("sde_mean_exact", x0 * std::exp(-2.0));
  ctx.measure("sde_variance_exact", 6 * eta * (1 - std::exp(-4.0)));
  ctx.check.above("sgd_differs_from_sde", w2.front(), 3 * floor);
  ctx.check.below("w2_l2_below_l1", w2[1], w2[0]);
  ctx.check.below("w2_l8_below_half_of_l1", w2[3], 0.5 * w2[0]);
  t.plot({.title = "SVAG(l) vs the SDE: W2 of the marginals at T = 1", .x_label = "l", .y_label = "W2",
          .series = {{"l", "w2_to_sde", "W2(SVAG_l, SDE)", true}, {"l", "sampling_floor", "sampling floor"}}, .log_y = true});
  ctx.note("Toy of Problem 12.2.4 with η = 0.25, batch 1, x0 = 2, T = 1; " + std::to_string(n) +
           " independent paths per arm; SDE by Euler–Maruyama at Δt = η/64.");
}

}  // namespace descent::experiments
