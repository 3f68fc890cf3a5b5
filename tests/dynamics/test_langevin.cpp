#include <gtest/gtest.h>

#include <cmath>

#include "descent/core/rng.hpp"
#include "descent/dynamics/diffusion.hpp"
#include "descent/dynamics/langevin.hpp"
#include "descent/dynamics/svag.hpp"
#include "descent/optim/problems.hpp"

namespace descent::dynamics {
namespace {

FunctionObjective quadratic_1d(double k) {
  return FunctionObjective(1, [k](const Tensor& t, Tensor& g) {
    g.data<double>()[0] = k * t.at(0);
    return 0.5 * k * t.at(0) * t.at(0);
  });
}

// BAOAB samples a harmonic f = kx²/2 with the exact configurational variance 1/(βk) at any
// stable step (Leimkuhler & Matthews 2013); even at a coarse Δt = 0.5.
TEST(Langevin, UnderdampedBaoabHarmonicVarianceIsExact) {
  const double k = 2.0, beta = 3.0;
  auto f = quadratic_1d(k);
  const Tensor s = underdamped_langevin(f, Tensor::zeros({1}, DType::f64),
                                        {.step = 0.5, .friction = 1.0, .inverse_temperature = beta, .steps = 200000,
                                         .burn_in = 1000, .thin = 5, .seed = 4});
  double m2 = 0, m1 = 0;
  for (int64_t i = 0; i < s.dim(0); ++i) {
    m1 += s.at(i);
    m2 += s.at(i) * s.at(i);
  }
  m1 /= double(s.dim(0));
  m2 /= double(s.dim(0));
  const double var = m2 - m1 * m1;
  // Thinned samples are correlated (friction 1): a 3% band is ≈ 4 effective standard errors.
  EXPECT_NEAR(var, 1.0 / (beta * k), 0.03 / (beta * k));
  EXPECT_NEAR(m1, 0.0, 0.03);
}

// The particle velocity field is −M·∂L/∂θ_j (mean field) or −∂L/∂θ_j (NTK): central
// differences of the squared loss.
TEST(Langevin, ParticleVelocityIsTheScaledLossGradient) {
  const int64_t n = 7, d = 3, m = 5;
  Eigen::MatrixXd x(n, d);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    for (int c = 0; c < d; ++c) x(i, c) = std::sin(1.3 * i + 0.7 * c);
    y(i) = std::cos(0.9 * i);
  }
  for (Scaling sc : {Scaling::mean_field, Scaling::ntk})
    for (ParticleActivation act : {ParticleActivation::tanh, ParticleActivation::relu}) {
      TwoLayerParticles p = random_particles(m, d, 2);
      auto loss = [&](const TwoLayerParticles& q) {
        return 0.5 * (two_layer_output(q, x, sc, act) - y).squaredNorm() / double(n);
      };
      const Eigen::MatrixXd v = particle_velocity_field(p, x, y, sc, act);
      const double scale = sc == Scaling::mean_field ? double(m) : 1.0;
      const double h = 1e-6;
      for (int64_t j = 0; j < m; ++j)
        for (int64_t c = 0; c <= d; ++c) {
          TwoLayerParticles plus = p, minus = p;
          if (c == 0) {
            plus.a(j) += h;
            minus.a(j) -= h;
          } else {
            plus.w(j, c - 1) += h;
            minus.w(j, c - 1) -= h;
          }
          EXPECT_NEAR(v(j, c), scale * (loss(plus) - loss(minus)) / (2 * h), 1e-6);
        }
    }
}

TEST(Langevin, ParticleGradientDescentLowersTheLoss) {
  const int64_t n = 20, d = 2;
  Eigen::MatrixXd x(n, d);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    x(i, 0) = std::cos(0.31 * i);
    x(i, 1) = std::sin(0.31 * i);
    y(i) = std::sin(0.31 * i) + 0.3 * std::sin(3 * 0.31 * i);  // odd in x, like tanh units
  }
  const auto r = particle_gradient_descent(random_particles(100, d, 1), x, y,
                                           {.learning_rate = 0.5, .steps = 500, .record_every = 50});
  ASSERT_TRUE(r.finite);
  EXPECT_LT(r.losses.back(), 0.2 * r.losses.front());
  for (size_t i = 1; i < r.losses.size(); ++i) EXPECT_LE(r.losses[i], r.losses[i - 1] + 1e-12);
}

// Linear-Gaussian case of the semi-implicit scheme: the law recursion converges to the
// discrete-Lyapunov invariant law, the Monte Carlo chain matches it, and as η → 0 that law
// tends to the GP posterior.
TEST(Langevin, SemiImplicitSchemeInvariantLawAndPosterior) {
  const int j = 6;
  InfiniteLangevinOptions o{.step = 0.05, .inverse_temperature = 2.0, .regularization = 0.5};
  for (int i = 1; i <= j; ++i) o.prior_eigenvalues.push_back(1.0 / (i * i));
  Eigen::MatrixXd phi(10, j);
  for (int r = 0; r < 10; ++r)
    for (int c = 0; c < j; ++c) phi(r, c) = std::cos(0.7 * (c + 1) * (r + 0.5));
  const Eigen::MatrixXd q = phi.transpose() * phi / 10.0;
  Eigen::VectorXd yv(10);
  for (int r = 0; r < 10; ++r) yv(r) = std::sin(0.4 * r);
  const Eigen::VectorXd b = phi.transpose() * yv / 10.0;
  const GaussianLaw inv = semi_implicit_langevin_invariant_law(q, b, o);
  const auto laws = semi_implicit_langevin_laws(q, b, o, {Eigen::VectorXd::Zero(j), Eigen::MatrixXd::Zero(j, j)}, 4000);
  EXPECT_LE((laws.back().mean - inv.mean).norm(), 1e-10);
  EXPECT_LE((laws.back().covariance - inv.covariance).norm(), 1e-10);
  const GaussianLaw post = gaussian_process_posterior(q, b, o);
  // Linear drift: the scheme's invariant mean is exactly the posterior mean.
  EXPECT_LE((inv.mean - post.mean).norm(), 1e-10);
  // Covariance bias shrinks with η.
  InfiniteLangevinOptions fine = o;
  fine.step = 0.005;
  const double bias = (inv.covariance - post.covariance).norm();
  const double bias_fine = (semi_implicit_langevin_invariant_law(q, b, fine).covariance - post.covariance).norm();
  EXPECT_LT(bias_fine, 0.2 * bias);

  FunctionObjective l(j, [&](const Tensor& t, Tensor& g) {
    const Eigen::VectorXd xv = as_vector(t);
    as_vector(g) = q * xv - b;
    return 0.5 * xv.dot(q * xv) - b.dot(xv);
  });
  o.steps = 200000;
  o.burn_in = 2000;
  o.thin = 10;
  o.seed = 3;
  const Tensor s = infinite_dimensional_langevin(l, Tensor::zeros({j}, DType::f64), o);
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(j);
  for (int64_t r = 0; r < s.dim(0); ++r) mean += as_vector(s.row(r));
  mean /= double(s.dim(0));
  for (int c = 0; c < j; ++c) {
    const double sd = std::sqrt(inv.covariance(c, c));
    EXPECT_NEAR(mean(c), inv.mean(c), 0.06 * sd + 1e-3) << "mode " << c;
  }
}

TEST(Langevin, SpectralGapFormula) {
  InfiniteLangevinOptions o{.step = 0.1, .regularization = 2.0, .prior_eigenvalues = {0.5, 0.1}};
  EXPECT_DOUBLE_EQ(semi_implicit_spectral_gap(1.0, o), (4.0 - 1.0) / (1.0 + 0.4));
  EXPECT_THROW(semi_implicit_spectral_gap(5.0, o), InputError);
}

TEST(Svag, CoefficientsSumToOneAndTheirSquaresToL) {
  for (int64_t l : {1, 2, 5, 64}) {
    const auto [c1, c2] = svag_coefficients(l);
    EXPECT_NEAR(c1 + c2, 1.0, 1e-14);
    EXPECT_NEAR(c1 * c1 + c2 * c2, double(l), 1e-12 * double(l));
  }
  EXPECT_THROW(svag_coefficients(0), InputError);
}

// l = 1 is SGD with batches of B drawn with replacement from the same seed.
TEST(Svag, LEqualsOneIsSgd) {
  auto ls = optim::problems::LeastSquares::ill_conditioned(30, 4, 5.0, 1, 0.3);
  const Tensor x0 = Tensor::zeros({4}, DType::f64);
  const auto r = svag(ls, x0, {.learning_rate = 0.1, .batch_size = 3, .l = 1, .sgd_steps = 50, .seed = 9});
  Rng rng(9);
  Tensor x = x0.clone(), g = Tensor::empty({4}, DType::f64);
  std::vector<int64_t> b(3);
  for (int k = 0; k < 50; ++k) {
    for (auto& i : b) i = int64_t(rng.below(30));
    ls.batch_value_and_gradient(x, b, g);
    as_vector(x) -= 0.1 * as_vector(g);
  }
  EXPECT_EQ(as_vector(r.final_state), as_vector(x));
}

// On a quadratic finite sum the mean of SVAG follows gradient descent's flow at every l
// (the coefficients sum to 1), while one step's spread grows like √l·(η/l) = η/√l per step
// but l steps per SGD step keep the variance per unit time: after K SGD steps of a small η the
// variance of SVAG(l) is within a few percent of SGD's.
TEST(Svag, VariancePerUnitTimeIsKept) {
  auto ls = optim::problems::LeastSquares::ill_conditioned(50, 2, 2.0, 4, 1.0);
  const Tensor x0 = ls.minimizer();
  auto spread = [&](int64_t l) {
    Eigen::Vector2d m = Eigen::Vector2d::Zero();
    double v = 0;
    const int runs = 1500;
    std::vector<Eigen::Vector2d> ends;
    for (int r = 0; r < runs; ++r) {
      const auto out = svag(ls, x0, {.learning_rate = 0.02, .batch_size = 2, .l = l, .sgd_steps = 20, .seed = uint64_t(r)});
      ends.push_back(as_vector(out.final_state));
      m += ends.back();
    }
    m /= runs;
    for (const auto& e : ends) v += (e - m).squaredNorm();
    return v / (runs - 1);
  };
  const double v1 = spread(1), v8 = spread(8);
  EXPECT_NEAR(v8 / v1, 1.0, 0.12);
}

}  // namespace
}  // namespace descent::dynamics

#include "descent/dynamics/statistics.hpp"

namespace descent::dynamics {
namespace {

// AR(1) x_{k+1} = ρx_k + √(1−ρ²) z has unit variance and the time average's asymptotic
// variance (1+ρ)/(1−ρ)/N; batch means must find that (not the naive 1/N).
TEST(Statistics, BatchMeansSeesAutocorrelation) {
  const double rho = 0.9;
  const int64_t n = 400000;
  Rng rng(12);
  std::vector<double> x(n);
  double v = 0;
  for (auto& e : x) {
    v = rho * v + std::sqrt(1 - rho * rho) * rng.normal();
    e = v;
  }
  const TimeAverage t = batch_means(x, 40);
  const double expected_se = std::sqrt((1 + rho) / (1 - rho) / double(n));
  EXPECT_NEAR(t.standard_error, expected_se, 0.3 * expected_se);
  EXPECT_NEAR(t.mean, 0.0, 5 * expected_se);
  EXPECT_THROW(batch_means({1.0, 2.0}, 5), InputError);
}

// OU dx = −kx dt + √a dW: N(0, a/(2k)); and a state-dependent a(x) = 1 + x²/2 with drift −x,
// whose density ∝ (1/a) exp(−∫2x/a) = (1 + x²/2)^{−3} (closed form).
TEST(Statistics, StationaryDensityOneDimensional) {
  std::vector<double> grid;
  for (int i = 0; i <= 4000; ++i) grid.push_back(-10 + 20.0 * i / 4000);
  const auto p = stationary_density_1d([](double x) { return -2 * x; }, [](double) { return 1.0; }, grid);
  for (size_t i = 0; i < grid.size(); i += 400)
    EXPECT_NEAR(p[i], std::exp(-2 * grid[i] * grid[i]) / std::sqrt(M_PI / 2), 1e-5);
  const auto q = stationary_density_1d([](double x) { return -x; }, [](double x) { return 1 + x * x / 2; }, grid);
  EXPECT_NEAR(q[2000] / q[2400], std::pow(1 + 4.0 / 2, 3), 1e-3);  // x = 0 and x = 2
}

}  // namespace
}  // namespace descent::dynamics
