#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "common/peer.hpp"
#include "descent/dynamics/sde.hpp"
#include "descent/optim/problems.hpp"
#include "descent/probe/gradient_noise.hpp"

namespace descent::dynamics {
namespace {

// f(x, y) = (x² − 1)²/4 + y²/2 + xy/4 and Σ(x, y) of tests/dynamics/numpy_dynamics.py.
FunctionObjective double_well() {
  return FunctionObjective(2, [](const Tensor& t, Tensor& g) {
    const double x = t.data<double>()[0], y = t.data<double>()[1];
    g.data<double>()[0] = x * (x * x - 1) + y / 4;
    g.data<double>()[1] = y + x / 4;
    return (x * x - 1) * (x * x - 1) / 4 + y * y / 2 + x * y / 4;
  });
}
FunctionDiffusion state_dependent_noise() {
  return FunctionDiffusion(2, [](const Eigen::VectorXd& v) {
    Eigen::MatrixXd s(2, 2);
    s << 1 + v(0) * v(0), v(0) * v(1) / 2, v(0) * v(1) / 2, 1 + v(1) * v(1) / 2;
    return s;
  });
}

TEST(Sde, EulerMaruyamaMatchesNumpyGivenTheSameIncrements) {
  DESCENT_RUN_PEER_SCRIPT(out, "numpy", "tests/dynamics/numpy_dynamics.py euler_maruyama");
  const int64_t steps = 200;
  const double dt = 0.01;
  Tensor table = Tensor::empty({steps, 2}, DType::f64);
  for (int64_t k = 0; k < steps; ++k)
    for (int64_t i = 0; i < 2; ++i)
      table.data<double>()[k * 2 + i] = std::sqrt(dt) * std::sin(1.7 * k + 2.3 * i + 0.4 * double(k * i));
  auto noise = BrownianIncrements::from_table(table, dt);
  auto f = double_well();
  auto sigma = state_dependent_noise();
  const SdeResult r = simulate_sde(f, sigma, Tensor::from_vector(std::vector<double>{-1.0, 0.5}, {2}), noise,
                                   {.noise_scale = 0.3, .steps = steps, .record_every = 1});
  ASSERT_EQ(r.path.dim(0), steps + 1);
  std::istringstream lines(out);
  double worst = 0;
  for (int64_t k = 0; k <= steps; ++k) {
    double x, y;
    ASSERT_TRUE(lines >> x >> y) << "short NumPy output at state " << k;
    worst = std::max({worst, std::abs(x - r.path.at(k * 2)), std::abs(y - r.path.at(k * 2 + 1))});
  }
  EXPECT_LE(worst, 1e-12) << "largest difference from the NumPy path";
}

TEST(Sde, CoarseIncrementsAreSumsOfFineOnes) {
  BrownianIncrements fine(3, 0.01, 7), coarse(3, 0.04, 7, 0, 4);
  Tensor a = Tensor::empty({3}, DType::f64), b = Tensor::empty({3}, DType::f64);
  for (int k = 0; k < 5; ++k) {
    Eigen::Vector3d sum = Eigen::Vector3d::Zero();
    for (int s = 0; s < 4; ++s) {
      fine.next(a);
      sum += as_vector(a);
    }
    coarse.next(b);
    EXPECT_LE((sum - as_vector(b)).cwiseAbs().maxCoeff(), 1e-14);
  }
}

TEST(Sde, SameSeedSamePathDifferentStreamDifferentPath) {
  auto f = double_well();
  IsotropicDiffusion d(2, 1.0);
  const Tensor x0 = Tensor::from_vector(std::vector<double>{-1.0, 0.0}, {2});
  BrownianIncrements n1(2, 0.01, 3), n2(2, 0.01, 3), n3(2, 0.01, 3, 1);
  const SdeOptions o{.noise_scale = 0.5, .steps = 300};
  const auto a = simulate_sde(f, d, x0, n1, o), b = simulate_sde(f, d, x0, n2, o), c = simulate_sde(f, d, x0, n3, o);
  EXPECT_EQ(as_vector(a.final_state), as_vector(b.final_state));
  EXPECT_GT((as_vector(a.final_state) - as_vector(c.final_state)).norm(), 1e-3);
}

// Ornstein–Uhlenbeck dX = −hX dt + √η σ dW: Euler–Maruyama's own stationary variance is
// ησ²Δt / (1 − (1 − hΔt)²) (a geometric series); 4000 independent end points estimate it.
TEST(Sde, OrnsteinUhlenbeckStationaryVarianceOfTheScheme) {
  const double h = 2.0, eta = 0.1, var = 3.0, dt = 0.05;
  FunctionObjective f(1, [&](const Tensor& t, Tensor& g) {
    g.data<double>()[0] = h * t.data<double>()[0];
    return 0.5 * h * t.at(0) * t.at(0);
  });
  IsotropicDiffusion d(1, var);
  const int runs = 4000;
  double s2 = 0;
  for (int r = 0; r < runs; ++r) {
    BrownianIncrements noise(1, dt, 11, uint64_t(r));
    const auto out = simulate_sde(f, d, Tensor::zeros({1}, DType::f64), noise, {.noise_scale = eta, .steps = 100});
    s2 += out.final_state.at(0) * out.final_state.at(0);
  }
  s2 /= runs;
  const double expected = eta * var * dt / (1 - (1 - h * dt) * (1 - h * dt));
  // Standard error of a variance estimate from n normal draws: v√(2/n) ≈ 2.2% here; 4 of them.
  EXPECT_NEAR(s2, expected, 4 * expected * std::sqrt(2.0 / runs));
}

// Geometric Brownian motion dX = μX dt + √η σ|X| dW (f = −μx²/2, Σ(x) = σ²x²) has the exact
// solution X_T = X_0 exp((μ − ησ²/2)T + √η σ W_T). On the same Brownian paths, Euler–Maruyama's
// strong error falls like Δt^{1/2}, Milstein's like Δt (Kloeden & Platen Thms 10.2.2, 10.3.5).
TEST(Sde, MilsteinHasStrongOrderOneEulerMaruyamaOneHalf) {
  const double mu = 0.5, sigma = 1.0, eta = 1.0, T = 1.0;
  FunctionObjective f(1, [&](const Tensor& t, Tensor& g) {
    g.data<double>()[0] = -mu * t.at(0);
    return -0.5 * mu * t.at(0) * t.at(0);
  });
  FunctionDiffusion d(1, [&](const Eigen::VectorXd& x) { return Eigen::MatrixXd::Constant(1, 1, sigma * sigma * x(0) * x(0)); });
  const int runs = 200;
  std::vector<double> err_em, err_mil;
  for (int64_t m : {16, 64, 256}) {
    double e_em = 0, e_mil = 0;
    for (int r = 0; r < runs; ++r) {
      const double dt = T / double(m);
      BrownianIncrements a(1, dt, 5, uint64_t(r), 1), b(1, dt, 5, uint64_t(r), 1), w(1, T, 5, uint64_t(r), m);
      Tensor wt = Tensor::empty({1}, DType::f64);
      w.next(wt);  // W_T: the sum of the same m increments
      const double exact = std::exp((mu - eta * sigma * sigma / 2) * T + std::sqrt(eta) * sigma * wt.at(0));
      const Tensor x0 = Tensor::ones({1}, DType::f64);
      e_em += std::abs(simulate_sde(f, d, x0, a, {.noise_scale = eta, .steps = m}).final_state.at(0) - exact);
      e_mil += std::abs(
          simulate_sde(f, d, x0, b, {.noise_scale = eta, .steps = m, .scheme = Scheme::milstein}).final_state.at(0) -
          exact);
    }
    err_em.push_back(e_em / runs);
    err_mil.push_back(e_mil / runs);
  }
  // Slopes over a 16× refinement: log4 of the error ratios per 4× step.
  const double slope_em = std::log(err_em[0] / err_em[2]) / std::log(16.0);
  const double slope_mil = std::log(err_mil[0] / err_mil[2]) / std::log(16.0);
  EXPECT_NEAR(slope_em, 0.5, 0.15);
  EXPECT_NEAR(slope_mil, 1.0, 0.15);
  EXPECT_LT(err_mil[2], err_em[2] / 4);
}

TEST(Sde, ExitTimesAndRegions) {
  auto f = double_well();
  IsotropicDiffusion d(2, 1.0);
  const Tensor x0 = Tensor::from_vector(std::vector<double>{-1.0, 0.0}, {2});
  const Region left = halfspace_region({1.0, 0.0}, 0.0);  // x < 0
  const auto e = exit_times(f, d, x0, left, 0.01, {.noise_scale = 1.0, .steps = 20000}, 20, 1);
  ASSERT_EQ(e.times.size(), 20u);
  EXPECT_EQ(e.non_finite, 0);
  // Every recorded exit lies on the grid and the end state of an exiting run is outside.
  BrownianIncrements noise(2, 0.01, 1, 0);
  SdeOptions o{.noise_scale = 1.0, .steps = 20000, .record_every = 10, .exit_region = &left};
  const auto r = simulate_sde(f, d, x0, noise, o);
  if (r.exited) {
    EXPECT_DOUBLE_EQ(r.exit_time, e.times[0]);
    EXPECT_GE(r.final_state.at(0), 0.0);
    EXPECT_NEAR(r.exit_time / 0.01, std::round(r.exit_time / 0.01), 1e-9);
  }
  EXPECT_FALSE(ball_region(x0, 0.5).inside(Tensor::from_vector(std::vector<double>{0.0, 0.0}, {2})));
  EXPECT_TRUE(box_region({-2, -1}, {0, 1}).inside(x0));
}

TEST(Sde, NonFiniteStateIsReported) {
  FunctionObjective f(1, [](const Tensor& t, Tensor& g) {
    g.data<double>()[0] = -t.at(0) * t.at(0) * t.at(0);  // dx = x³ dt blows up
    return 0.0;
  });
  IsotropicDiffusion d(1, 0.0);
  BrownianIncrements noise(1, 0.5, 0);
  const auto r = simulate_sde(f, d, Tensor::full({1}, 3.0, DType::f64), noise, {.steps = 100});
  EXPECT_FALSE(r.finite);
  EXPECT_LT(r.steps_taken, 100);
}

// The model-noise diffusion applies (Σ/B)^{1/2} by Lanczos: against the dense square root of
// the covariance that probe forms for a small least-squares problem.
TEST(Sde, ModelNoiseDiffusionMatchesTheDenseSquareRoot) {
  auto ls = optim::problems::LeastSquares::ill_conditioned(40, 6, 10.0, 3, 0.5);
  Tensor x = Tensor::empty({6}, DType::f64);
  for (int i = 0; i < 6; ++i) x.data<double>()[i] = 0.3 * i - 0.5;
  auto op = probe::gradient_noise_covariance_operator(ls, x, {}, size_t(1) << 20);
  const Eigen::MatrixXd sigma = [&] {
    Tensor m = probe::dense_matrix(op);
    return Eigen::MatrixXd(Eigen::Map<Eigen::Matrix<double, -1, -1, Eigen::RowMajor>>(m.data<double>(), 6, 6));
  }();
  const Eigen::MatrixXd root = symmetric_sqrt(sigma / 4.0);
  ModelNoiseDiffusion d(ls, {.batch_size = 4, .lanczos = {.max_steps = 6, .tolerance = 1e-12}});
  Tensor z = Tensor::empty({6}, DType::f64), out = Tensor::empty({6}, DType::f64);
  for (int i = 0; i < 6; ++i) z.data<double>()[i] = std::cos(1.3 * i);
  d.apply_sqrt(x, z, out);
  EXPECT_LE((as_vector(out) - root * as_vector(z)).norm(), 1e-9 * (root * as_vector(z)).norm());
  EXPECT_TRUE(d.last_lanczos().converged);
}

TEST(Sde, BadInputIsOneClearError) {
  auto f = double_well();
  IsotropicDiffusion d(3, 1.0);
  BrownianIncrements noise(2, 0.01, 0);
  EXPECT_THROW(simulate_sde(f, d, Tensor::zeros({2}, DType::f64), noise, {}), ShapeError);
  EXPECT_THROW(IsotropicDiffusion(2, -1.0), InputError);
  Eigen::MatrixXd neg(2, 2);
  neg << 1, 0, 0, -1;
  EXPECT_THROW(MatrixDiffusion{neg}, InputError);
  EXPECT_THROW(scheme_from_string("heun"), InputError);
}

}  // namespace
}  // namespace descent::dynamics
