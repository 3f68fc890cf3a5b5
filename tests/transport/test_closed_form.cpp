// Closed forms against the LP: 1-D quantile formula, Gaussian W2 and Monge map, sliced
// Wasserstein, and 1-D barycenters.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/transport/barycenter.hpp"
#include "descent/transport/closed_form.hpp"
#include "descent/transport/cost.hpp"
#include "descent/transport/exact.hpp"
#include "descent/transport/sliced.hpp"

using namespace descent;
using namespace descent::transport;

namespace {

Tensor random_weights(Rng& rng, int64_t n) {
  Tensor w = rng.uniform_tensor({n}, DType::f64, 0.1, 1.0);
  return mul(w, 1.0 / sum_all(w));
}

Tensor sample_covariance(const Tensor& x) {
  const int64_t n = x.dim(0);
  const Tensor centered = sub(x, mean(x, {0}, true));
  return mul(matmul(centered, centered, true, false), 1.0 / double(n));
}

}  // namespace

TEST(Transport1D, QuantileFormulaEqualsTheLinearProgram) {
  Rng rng(20);
  for (double p : {1.0, 1.5, 2.0, 3.0}) {
    const Tensor x = rng.normal_tensor({35}, DType::f64), y = rng.normal_tensor({28}, DType::f64, 0.5, 2.0);
    const Tensor a = random_weights(rng, 35), b = random_weights(rng, 28);
    const Transport1D closed = transport_1d(x, y, a, b, p);
    const ExactResult lp = exact_ot(a, b, cost_matrix(x, y, p));
    EXPECT_NEAR(closed.cost, lp.cost, 1e-12) << "p = " << p;
    EXPECT_NEAR(closed.distance, std::pow(lp.cost, 1.0 / p), 1e-12);
    // The monotone plan is a feasible coupling.
    Tensor rows = Tensor::zeros({35}, DType::f64), cols = Tensor::zeros({28}, DType::f64);
    for (size_t k = 0; k < closed.mass.size(); ++k) {
      rows.set(closed.source[k], rows.at(closed.source[k]) + closed.mass[k]);
      cols.set(closed.target[k], cols.at(closed.target[k]) + closed.mass[k]);
    }
    EXPECT_LT(max_relative_difference(rows, a), 1e-12);
    EXPECT_LT(max_relative_difference(cols, b), 1e-9);
  }
}

TEST(Transport1D, W1IsTheAreaBetweenTheCdfs) {
  // ⚠ §6.8.3.4 calls this the Kolmogorov–Smirnov statistic; KS is the sup-distance.
  const Tensor x = Tensor::from_vector(std::vector<double>{0.0, 1.0}, {2});
  const Tensor y = Tensor::from_vector(std::vector<double>{0.5, 3.0}, {2});
  // CDFs differ by 1/2 on [0, 0.5) and [1, 3), by 0 on [0.5, 1): area = 0.25 + 1.0; KS = 0.5.
  EXPECT_NEAR(transport_1d(x, y, Tensor(), Tensor(), 1.0).cost, 1.25, 1e-15);
}

TEST(Transport1D, MongeMapSendsSortedSamplesToSortedSamples) {
  Rng rng(21);
  const Tensor x = rng.normal_tensor({50}, DType::f64), y = rng.normal_tensor({50}, DType::f64, 3.0);
  const Tensor Tx = monge_map_1d(x, y, x);
  // The map is monotone, pushes the sample onto y, and its cost is the closed-form W2².
  std::vector<double> xs = x.to_vector(), ys = y.to_vector(), tx = Tx.to_vector();
  double cost = 0;
  for (int i = 0; i < 50; ++i) cost += (xs[i] - tx[i]) * (xs[i] - tx[i]) / 50.0;
  EXPECT_NEAR(cost, transport_1d(x, y).cost, 1e-12);
  std::sort(tx.begin(), tx.end());
  std::sort(ys.begin(), ys.end());
  EXPECT_EQ(tx, ys);
}

TEST(Gaussian, MongeMatrixSatisfiesASigma1AEqualsSigma2) {
  Rng rng(22);
  const Tensor L1 = rng.normal_tensor({4, 4}, DType::f64), L2 = rng.normal_tensor({4, 4}, DType::f64);
  const Tensor S1 = add(matmul(L1, L1, false, true), mul(Tensor::eye(4, DType::f64), 0.1));
  const Tensor S2 = matmul(L2, L2, false, true);
  const Tensor A = gaussian_monge_matrix(S1, S2);
  EXPECT_LT(max_relative_difference(matmul(matmul(A, S1), A), S2, 1e-9), 1e-9);
  EXPECT_LT(max_relative_difference(A, transpose(A)), 1e-12);
  // W2² equals E||x - T(x)||² under N(m1, S1): tr(S1) + tr(A S1 A) - 2 tr(A S1) + ||m1 - m2||².
  const Tensor m1 = rng.normal_tensor({4}, DType::f64), m2 = rng.normal_tensor({4}, DType::f64);
  const double expected = sum_all(square(sub(m1, m2))) + sum_all(mul(S1, Tensor::eye(4, DType::f64))) +
                          sum_all(mul(S2, Tensor::eye(4, DType::f64))) -
                          2 * sum_all(mul(matmul(A, S1), Tensor::eye(4, DType::f64)));
  EXPECT_NEAR(gaussian_w2_squared(m1, S1, m2, S2), expected, 1e-9);
  // Singular covariances are allowed in W2, and Σ -> 0 leaves ||m1 - m2||².
  const Tensor zero = Tensor::zeros({4, 4}, DType::f64);
  EXPECT_NEAR(gaussian_w2_squared(m1, zero, m2, zero), sum_all(square(sub(m1, m2))), 1e-12);
  EXPECT_THROW(gaussian_monge_matrix(zero, S2), InputError);
  EXPECT_THROW(gaussian_w2_squared(m1, mul(S1, -1.0), m2, S2), InputError);
}

TEST(Gaussian, ClosedFormMatchesTheLinearProgramOnLargeSamples) {
  Rng rng(23);
  const int64_t n = 600, d = 2;
  const Tensor m1 = Tensor::from_vector(std::vector<double>{0.0, 0.0}, {2});
  const Tensor m2 = Tensor::from_vector(std::vector<double>{2.0, -1.0}, {2});
  const Tensor S1 = Tensor::from_vector(std::vector<double>{1.0, 0.3, 0.3, 0.5}, {2, 2});
  const Tensor S2 = Tensor::from_vector(std::vector<double>{2.0, -0.6, -0.6, 1.0}, {2, 2});
  const Tensor A = gaussian_monge_matrix(S1, S2);
  const Tensor chol1 = Tensor::from_vector(std::vector<double>{1.0, 0.0, 0.3, std::sqrt(0.5 - 0.09)}, {2, 2});
  const Tensor x = add(matmul(rng.normal_tensor({n, d}, DType::f64), chol1, false, true), m1);
  const Tensor Tx = gaussian_monge_map(x, m1, S1, m2, S2);
  // The map is the gradient of a convex quadratic, hence optimal between the empirical
  // measures too (Brenier, §6.8.3.4): the LP on {x_i}, {T(x_i)} finds exactly it.
  const ExactResult lp = exact_ot(Tensor(), Tensor(), cost_matrix(x, Tx));
  const double map_cost = sum_all(square(sub(x, Tx))) / double(n);
  EXPECT_NEAR(lp.cost, map_cost, 1e-9);
  // ... and its cost estimates the closed form within sampling error (4 standard errors).
  const Tensor per_point = sum(square(sub(x, Tx)), {1});
  const double se = std::sqrt(sum_all(square(add(per_point, -map_cost))) / double(n - 1) / double(n));
  const double w2 = gaussian_w2_squared(m1, S1, m2, S2);
  EXPECT_NEAR(lp.cost, w2, 4 * se) << "standard error " << se;
  // The pushed sample has the target's mean and covariance within sampling error.
  EXPECT_LT(norm(sub(mean(Tx, {0}), m2)), 0.2);
  EXPECT_LT(norm(sub(sample_covariance(Tx), S2)), 0.3);
  // Independent samples of both Gaussians: the plug-in LP is biased (n^{-1/q}) but close.
  const Tensor chol2 = Tensor::from_vector(std::vector<double>{std::sqrt(2.0), 0.0, -0.6 / std::sqrt(2.0),
                                                               std::sqrt(1.0 - 0.18)}, {2, 2});
  const Tensor y = add(matmul(rng.normal_tensor({n, d}, DType::f64), chol2, false, true), m2);
  const double plug_in = exact_ot(Tensor(), Tensor(), cost_matrix(x, y)).cost;
  EXPECT_NEAR(plug_in, w2, 0.15 * w2);
}

TEST(Sliced, EqualsW1DInOneDimensionAndBoundsWFromBelow) {
  Rng rng(24);
  const Tensor x = rng.normal_tensor({40, 1}, DType::f64), y = rng.normal_tensor({30, 1}, DType::f64, 1.0);
  const Tensor one = Tensor::ones({3, 1}, DType::f64);
  EXPECT_NEAR(sliced_wasserstein(x, y, one), transport_1d(x, y).distance, 1e-12);
  const Tensor x5 = rng.normal_tensor({60, 5}, DType::f64), y5 = rng.normal_tensor({60, 5}, DType::f64, 0.5);
  const double sw = sliced_wasserstein(x5, y5, random_directions(200, 5, 1));
  const double w = std::sqrt(exact_ot(Tensor(), Tensor(), cost_matrix(x5, y5)).cost);
  EXPECT_LT(sw, w) << "projections are 1-Lipschitz";
  EXPECT_GT(sw, 0.2 * w);
  // The same seed gives the same directions, unit length.
  const Tensor d1 = random_directions(4, 3, 9), d2 = random_directions(4, 3, 9);
  EXPECT_EQ(d1.to_vector(), d2.to_vector());
  EXPECT_NEAR(norm(d1.row(2)), 1.0, 1e-15);
}

TEST(Barycenter1D, IsTheDisplacementInterpolant) {
  Rng rng(25);
  const Tensor x = rng.normal_tensor({20}, DType::f64), y = rng.normal_tensor({33}, DType::f64, 4.0, 0.5);
  const Tensor a = random_weights(rng, 20), b = random_weights(rng, 33);
  const double full = transport_1d(x, y, a, b).cost;
  for (double t : {0.0, 0.25, 0.7}) {
    const Tensor lambdas = Tensor::from_vector(std::vector<double>{1 - t, t}, {2});
    const Barycenter1D bary = barycenter_1d({{x, a}, {y, b}}, lambdas);
    EXPECT_NEAR(sum_all(bary.weights), 1.0, 1e-12);
    // McCann: the barycenter with weights (1 - t, t) lies at W2 distances t W and (1 - t) W.
    EXPECT_NEAR(transport_1d(x, bary.values, a, bary.weights).cost, t * t * full, 1e-12) << "t = " << t;
    EXPECT_NEAR(transport_1d(bary.values, y, bary.weights, b).cost, (1 - t) * (1 - t) * full, 1e-12) << "t = " << t;
  }
  // Barycenter of Diracs: the λ-weighted mean.
  const Tensor one = Tensor::ones({1}, DType::f64);
  const Barycenter1D dirac = barycenter_1d({{mul(one, 1.0), one}, {mul(one, 4.0), one}, {mul(one, -2.0), one}});
  ASSERT_EQ(dirac.values.numel(), 1);
  EXPECT_NEAR(dirac.values.at(0), 1.0, 1e-15);
}

TEST(ClosedForms, RefuseBadInput) {
  const Tensor x = Tensor::from_vector(std::vector<double>{0.0, 1.0}, {2});
  EXPECT_THROW(transport_1d(x, Tensor::zeros({0}, DType::f64)), InputError);
  EXPECT_THROW(transport_1d(x, x, Tensor::from_vector(std::vector<double>{0.5, 0.6}, {2})), InputError);
  EXPECT_THROW(transport_1d(Tensor::from_vector(std::vector<double>{0.0, NAN}, {2}), x), InputError);
  EXPECT_THROW(transport_1d(x, x, Tensor(), Tensor(), 0.0), InputError);
  EXPECT_THROW(transport_1d(Tensor::ones({2, 2}, DType::f64), x), InputError);
  EXPECT_THROW(sliced_wasserstein(Tensor::ones({2, 2}, DType::f64), Tensor::ones({2, 3}, DType::f64),
                                  random_directions(2, 2, 0)),
               InputError);
  EXPECT_THROW(barycenter_1d({}), InputError);
  EXPECT_THROW(barycenter_1d({{x, Tensor()}, {x, Tensor::from_vector(std::vector<double>{1.0, 1.0}, {2})}}), InputError);
  EXPECT_THROW(sinkhorn_barycenter(Tensor::ones({2, 2}, DType::f64), Tensor::ones({3, 3}, DType::f64)), InputError);
  EXPECT_THROW(gaussian_w2_squared(x, Tensor::eye(3, DType::f64), x, Tensor::eye(2, DType::f64)), InputError);
  EXPECT_THROW(gaussian_monge_matrix(Tensor::from_vector(std::vector<double>{1.0, 2.0, 0.0, 1.0}, {2, 2}),
                                     Tensor::eye(2, DType::f64)),
               InputError);
}
