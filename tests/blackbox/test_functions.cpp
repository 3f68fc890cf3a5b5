// Benchmark functions: each takes its published optimum value at its published minimizer,
// and nothing in its domain is lower; shifts and rotations move the optimum, not its value.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "descent/blackbox/functions.hpp"

using namespace descent::blackbox;

namespace {
// The lowest value among `draws` uniform points of the box: a check that f* is a lower bound.
double lowest_sampled(const Benchmark& b, int draws, uint64_t seed) {
  descent::Rng rng(seed);
  double lo = INFINITY;
  for (int i = 0; i < draws; ++i) lo = std::min(lo, b.f(b.bounds.sample(rng)));
  return lo;
}
}  // namespace

TEST(Functions, BraninHasThreeGlobalMinimaOfValue0397887) {
  const Benchmark b = make_benchmark("branin", 2);
  EXPECT_NEAR(b.f_star, 0.397887, 5e-7);
  constexpr double pi = std::numbers::pi;
  for (const Vector& x : {Vector{{-pi, 12.275}}, Vector{{pi, 2.275}}, Vector{{3 * pi, 2.475}}})
    EXPECT_NEAR(b.f(x), b.f_star, 1e-9) << x.transpose();
  EXPECT_GT(lowest_sampled(b, 100000, 1), b.f_star);
  EXPECT_THROW(branin(Vector::Zero(3)), descent::InputError);
}

TEST(Functions, Hartmann6MinimumIsMinus332237) {
  const Benchmark b = make_benchmark("hartmann6", 6);
  EXPECT_NEAR(b.f_star, -3.32237, 5e-6);
  const Vector x{{0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573}};  // Surjanovic & Bingham
  EXPECT_NEAR(b.f(x), b.f_star, 1e-5);
  // A local minimum: no small step in any direction lowers f below f*.
  descent::Rng rng(2);
  for (int i = 0; i < 1000; ++i) {
    Vector y = x;
    for (auto& v : y) v += 1e-3 * rng.normal();
    EXPECT_GE(b.f(y), b.f_star - 1e-9);
  }
  EXPECT_GT(lowest_sampled(b, 100000, 3), b.f_star);
}

TEST(Functions, SeparableBenchmarksTakeTheirOptimaWhereDocumented) {
  for (int n : {2, 10}) {
    EXPECT_EQ(sphere(Vector::Zero(n)), 0.0);
    EXPECT_EQ(ellipsoid(Vector::Zero(n)), 0.0);
    EXPECT_EQ(rosenbrock(Vector::Ones(n)), 0.0);
    EXPECT_EQ(rastrigin(Vector::Zero(n)), 0.0);
    EXPECT_NEAR(ackley(Vector::Zero(n)), 0.0, 1e-14);
    const Benchmark st = make_benchmark("styblinski_tang", n);
    EXPECT_NEAR(st.f(Vector::Constant(n, -2.903534027771178)), st.f_star, 1e-9 * n);
    for (const auto& name : benchmark_names()) {
      const Benchmark b = make_benchmark(name, n);
      EXPECT_GE(lowest_sampled(b, 2000, 4), b.f_star) << name;
    }
  }
  // Ellipsoid: condition number 1e6 between the first and the last axis (the issue's).
  Vector e = Vector::Zero(10);
  e[0] = 1;
  EXPECT_DOUBLE_EQ(ellipsoid(e), 1.0);
  e[0] = 0;
  e[9] = 1;
  EXPECT_DOUBLE_EQ(ellipsoid(e), 1e6);
}

TEST(Functions, OneMaxAndQueens) {
  EXPECT_EQ(one_max({1, 0, 1, 1, 0}), 3);
  EXPECT_EQ(queens_attacking_pairs({0, 4, 7, 5, 2, 6, 1, 3}), 0);  // a solution of 8-queens
  EXPECT_EQ(queens_attacking_pairs(std::vector<int>(8, 2)), 28);   // all in one row: 8 choose 2
  EXPECT_EQ(queens_attacking_pairs({0, 1, 2, 3}), 6);              // all on one diagonal
  EXPECT_EQ(queens_attacking_pairs({1, 3, 0, 2}), 0);
}

TEST(Functions, ShiftsAndRotationsMoveTheOptimumNotItsValue) {
  descent::Rng rng(5);
  const Matrix R = random_rotation(6, rng);
  EXPECT_LT((R.transpose() * R - Matrix::Identity(6, 6)).norm(), 1e-12);
  const Vector shift = Vector::LinSpaced(6, -1.0, 1.5);
  const Function g = shifted_rotated(rosenbrock, shift, R);
  const Vector x_star = shift + R.transpose() * Vector::Ones(6);  // R (x - shift) = 1
  EXPECT_NEAR(g(x_star), 0.0, 1e-20);
  EXPECT_GT(g(shift), 1.0);  // the unrotated minimizer's image is not optimal
  // Haar rotations: the mean of R_00 over many draws is 0 (a sign-biased QR gives > 0).
  double mean = 0;
  for (int i = 0; i < 2000; ++i) mean += random_rotation(3, rng)(0, 0) / 2000;
  EXPECT_NEAR(mean, 0.0, 0.06);  // sd of R_00 is 1/sqrt(3): 4.6 standard errors
}

TEST(Functions, UnknownBenchmarksAndBadDimensionsAreInputErrors) {
  EXPECT_THROW(make_benchmark("rosenbrok", 2), descent::InputError);
  EXPECT_THROW(make_benchmark("sphere", 0), descent::InputError);
  EXPECT_EQ(make_benchmark("hartmann6", 2).bounds.dim(), 6);
}
