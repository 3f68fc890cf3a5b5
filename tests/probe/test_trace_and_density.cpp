// Hutchinson, Hutch++ and stochastic Lanczos quadrature against exact traces and moments.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/probe/spectral_density.hpp"
#include "descent/probe/trace_estimation.hpp"
#include "probe/probe_test_matrices.hpp"

namespace descent::probe {
namespace {

using testing::to_tensor;
using testing::with_spectrum;

TEST(HutchPlusPlus, IsExactWhenTheSketchSpansTheSpace) {
  std::vector<double> l;
  for (int i = 0; i < 60; ++i) l.push_back(std::cos(0.3 * i) * 4.0 + 1.0);  // indefinite
  const Eigen::MatrixXd a = with_spectrum(l, 11);
  MatrixOperator op(to_tensor(a));
  const TraceEstimate t = hutch_plus_plus_trace(op, {180, 1});
  EXPECT_EQ(t.sketch_rank, 60);
  EXPECT_EQ(t.standard_error, 0.0);
  EXPECT_NEAR(t.trace, a.trace(), 1e-10 * a.cwiseAbs().sum());
  EXPECT_EQ(t.matvecs, 120);
}

TEST(Hutchinson, IsUnbiasedWithTheTheoreticalStandardError) {
  std::vector<double> l;
  for (int i = 0; i < 200; ++i) l.push_back(1.0 + std::sin(double(i)));
  const Eigen::MatrixXd a = with_spectrum(l, 12);
  MatrixOperator op(to_tensor(a));
  const int m = 400;
  const TraceEstimate t = hutchinson_trace(op, {m, 2});
  // Var(zᵀAz) = 2(‖A‖_F² − Σ A_ii²) for Rademacher z.
  const double theory = std::sqrt(2 * (a.squaredNorm() - a.diagonal().squaredNorm()) / m);
  EXPECT_NEAR(t.standard_error, theory, 0.2 * theory);
  EXPECT_LT(std::abs(t.trace - a.trace()), 4 * theory) << t.summary();
}

TEST(HutchPlusPlus, BeatsHutchinsonOnLowRankPlusNoise) {
  // Rank-10 signal with eigenvalues 100…10 plus a small full-rank part: most of the trace
  // sits in a subspace that Hutch++'s sketch captures.
  std::vector<double> l;
  for (int i = 0; i < 10; ++i) l.push_back(100.0 - 10.0 * i);
  for (int i = 10; i < 400; ++i) l.push_back(0.05 * std::sin(double(i)) + 0.05);
  const Eigen::MatrixXd a = with_spectrum(l, 13);
  MatrixOperator op(to_tensor(a));
  double se_hutchinson = 0, se_hpp = 0;
  int hpp_within_4se = 0;
  const int trials = 30;
  for (int s = 0; s < trials; ++s) {
    const TraceEstimate h = hutchinson_trace(op, {60, uint64_t(100 + s)});
    const TraceEstimate pp = hutch_plus_plus_trace(op, {60, uint64_t(100 + s)});
    se_hutchinson += std::pow(h.trace - a.trace(), 2);
    se_hpp += std::pow(pp.trace - a.trace(), 2);
    hpp_within_4se += std::abs(pp.trace - a.trace()) <= 4 * pp.standard_error;
  }
  EXPECT_LT(se_hpp * 100, se_hutchinson) << "mean squared errors " << se_hpp / trials << " vs "
                                         << se_hutchinson / trials;
  EXPECT_GE(hpp_within_4se, trials - 1) << "Hutch++'s standard error must describe its error";
}

TEST(SpectralDensity, QuadratureMomentsAreExactForADiagonalOperator) {
  // For diagonal A and Rademacher z, zᵀA^k z = tr(A^k) for every probe, so SLQ's moments must
  // equal tr(A^k)/P to rounding for k ≤ 2m − 1, with zero spread across probes.
  std::vector<double> d;
  for (int i = 0; i < 120; ++i) d.push_back(-2.0 + 5.0 * std::pow(std::sin(0.37 * i), 2));
  Tensor m = Tensor::zeros({120, 120}, DType::f64);
  for (int i = 0; i < 120; ++i) m.set(i * 120 + i, d[i]);
  MatrixOperator op(m);
  SpectralDensityOptions o;
  o.num_probes = 3;
  o.lanczos_steps = 4;  // exact up to degree 7
  o.num_moments = 7;
  const SpectralDensity s = spectral_density(op, o);
  EXPECT_EQ(s.matvecs, 12);
  for (int k = 0; k <= 7; ++k) {
    double exact = 0;
    for (double x : d) exact += std::pow(x, k) / 120.0;
    EXPECT_NEAR(s.moments[k], exact, 1e-10 * std::max(1.0, std::abs(exact))) << "k = " << k;
    EXPECT_LT(s.moment_standard_errors[k], 1e-10 * std::max(1.0, std::abs(exact)));
  }
}

TEST(SpectralDensity, MomentsMatchTracesOfPowersWithinTheirStandardErrors) {
  std::vector<double> l;
  for (int i = 0; i < 90; ++i) l.push_back(-1.0 + 0.05 * std::sin(double(i)));  // 30% of the mass near −1
  for (int i = 0; i < 210; ++i) l.push_back(5.0 + 0.05 * std::cos(double(i)));  // 70% near 5
  const Eigen::MatrixXd a = with_spectrum(l, 14);
  MatrixOperator op(to_tensor(a));
  SpectralDensityOptions o;
  o.num_probes = 20;
  o.lanczos_steps = 30;
  o.num_moments = 4;
  o.broadening = 0.2;
  o.grid_points = 2001;
  const SpectralDensity s = spectral_density(op, o);
  Eigen::MatrixXd power = Eigen::MatrixXd::Identity(300, 300);
  for (int k = 0; k <= 4; ++k) {
    const double exact = power.trace() / 300.0;
    EXPECT_LE(std::abs(s.moments[k] - exact), 4 * s.moment_standard_errors[k] + 1e-12 * std::abs(exact))
        << "k = " << k << "\n" << s.summary();
    power = power * a;
  }
  EXPECT_NEAR(s.moments[0], 1.0, 1e-12);  // quadrature weights sum to 1
  // The density integrates to 1, with about 30% of its mass below 2.
  double total = 0, low = 0;
  for (size_t g = 1; g < s.grid.size(); ++g) {
    const double piece = 0.5 * (s.density[g] + s.density[g - 1]) * (s.grid[g] - s.grid[g - 1]);
    total += piece;
    if (s.grid[g] < 2.0) low += piece;
  }
  EXPECT_NEAR(total, 1.0, 1e-6);
  EXPECT_NEAR(low, 0.3, 0.1);
  EXPECT_NEAR(s.smallest_node, -1.05, 0.05);
  EXPECT_NEAR(s.largest_node, 5.05, 0.05);
}

}  // namespace
}  // namespace descent::probe
