// Kernel ridge regression, gradient-flow predictions and the Gram spectrum, on NTK Gram
// matrices: interpolation, the ODE du/dt = −ηK(u − y) integrated numerically, its limits,
// scikit-learn's KernelRidge, and the singular-Gram error.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "common/peer.hpp"
#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/probe/kernel_regression.hpp"
#include "descent/probe/kernels.hpp"

using namespace descent;
using namespace descent::probe;

namespace {

struct Problem {
  Tensor X, Xtest, gram, cross, y;
};

Problem make_problem(int64_t n, int64_t m, uint64_t seed) {
  Rng rng(seed);
  Problem p;
  p.X = rng.normal_tensor({n, 3}, DType::f64);
  p.Xtest = rng.normal_tensor({m, 3}, DType::f64);
  KernelSpec spec{.depth = 2, .bias_variance = 0.1};
  p.gram = ntk_kernel(spec, p.X);
  p.cross = ntk_kernel(spec, p.Xtest, p.X);
  p.y = Tensor::empty({n}, DType::f64);
  for (int64_t i = 0; i < n; ++i) p.y.set(i, std::sin(2 * p.X.at(i * 3)) + 0.1 * rng.normal());
  return p;
}

double max_abs_difference(const Tensor& a, const Tensor& b) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.at(i) - b.at(i)));
  return m;
}

}  // namespace

TEST(KernelRidge, InterpolatesWithoutRidgeAndSolvesTheRidgeSystem) {
  const Problem p = make_problem(30, 5, 1);
  const KernelRidge interpolant(p.gram, p.y);
  EXPECT_LT(max_abs_difference(interpolant.predict(p.gram), p.y), 1e-8);
  // (K + λI) α = y holds for the ridge solution.
  const double ridge = 0.3;
  const KernelRidge smoother(p.gram, p.y, ridge);
  const Tensor residual = sub(add(matmul(p.gram, smoother.dual_weights().reshape({30, 1})).reshape({30}),
                                  mul(smoother.dual_weights(), ridge)),
                              p.y);
  EXPECT_LT(norm(residual), 1e-10 * norm(p.y));
  // Matrix targets give the columns' predictions.
  const Tensor Y2 = concat({p.y.reshape({30, 1}), mul(p.y, -2.0).reshape({30, 1})}, 1);
  const Tensor f2 = KernelRidge(p.gram, Y2, ridge).predict(p.cross);
  const Tensor f1 = smoother.predict(p.cross);
  ASSERT_EQ(f2.shape(), Shape({5, 2}));
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(f2.at(i * 2), f1.at(i), 1e-12);
    EXPECT_NEAR(f2.at(i * 2 + 1), -2 * f1.at(i), 1e-12);
  }
}

TEST(KernelRidge, SingularGramWithoutRidgeSaysToSetOne) {
  Problem p = make_problem(10, 2, 2);
  // A duplicated input makes two rows of the Gram matrix equal.
  Tensor X = p.X.clone();
  for (int64_t k = 0; k < 3; ++k) X.set(9 * 3 + k, X.at(0 * 3 + k));
  const Tensor gram = ntk_kernel(KernelSpec{.depth = 2}, X);
  try {
    KernelRidge(gram, p.y);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("set a ridge > 0"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(KernelRidge(gram, p.y, 1e-6));
  EXPECT_THROW(KernelRidge(gram, p.y, -1.0), InputError);
  EXPECT_THROW(KernelRidge(gram, Tensor::zeros({9}, DType::f64)), ShapeError);
}

TEST(KernelRidge, AgreesWithScikitLearn) {
  DESCENT_REQUIRE_PEER(python, "sklearn");
  const Problem p = make_problem(12, 3, 3);
  std::ostringstream script;
  script.precision(17);
  script << "import numpy as np\nfrom sklearn.kernel_ridge import KernelRidge\nK=np.array([";
  for (int64_t i = 0; i < p.gram.numel(); ++i) script << p.gram.at(i) << ",";
  script << "]).reshape(12,12)\nKs=np.array([";
  for (int64_t i = 0; i < p.cross.numel(); ++i) script << p.cross.at(i) << ",";
  script << "]).reshape(3,12)\ny=np.array([";
  for (int64_t i = 0; i < 12; ++i) script << p.y.at(i) << ",";
  script << "])\nm=KernelRidge(alpha=0.05,kernel='precomputed').fit(K,y)\n"
            "print(' '.join(repr(v) for v in m.predict(Ks)))\n";
  const auto out = descent::testing::run_command(python + " -c \"" + script.str() + "\"");
  ASSERT_TRUE(out.has_value());
  std::istringstream in(*out);
  const Tensor f = KernelRidge(p.gram, p.y, 0.05).predict(p.cross);
  for (int64_t i = 0; i < 3; ++i) {
    double ref;
    in >> ref;
    EXPECT_NEAR(f.at(i), ref, 1e-9 * std::max(1.0, std::abs(ref)));
  }
}

TEST(GramSpectrum, DecomposesTheGramAndSplitsTheLabels) {
  const Problem p = make_problem(25, 1, 4);
  const GramSpectrum s = gram_spectrum(p.gram);
  EXPECT_LT(s.relative_residual, 1e-12);
  for (int64_t i = 1; i < 25; ++i) EXPECT_GE(s.eigenvalues.at(i - 1), s.eigenvalues.at(i));
  EXPECT_GT(s.eigenvalues.at(24), 0.0);  // distinct inputs: the NTK Gram is positive definite
  // Σ λ_i v_i v_iᵀ rebuilds K.
  Tensor rebuilt = Tensor::zeros({25, 25}, DType::f64);
  for (int64_t i = 0; i < 25; ++i)
    for (int64_t j = 0; j < 25; ++j) {
      double v = 0;
      for (int64_t k = 0; k < 25; ++k) v += s.eigenvalues.at(k) * s.eigenvectors.at(i * 25 + k) * s.eigenvectors.at(j * 25 + k);
      rebuilt.set(i * 25 + j, v);
    }
  EXPECT_LT(max_abs_difference(rebuilt, p.gram), 1e-12 * s.eigenvalues.at(0));
  // The projections (v_iᵀy)² sum to ‖y‖², and a label equal to v_3 puts all of it on i = 3.
  const Tensor proj = label_projections(s, p.y);
  EXPECT_NEAR(sum_all(proj), dot(p.y, p.y), 1e-10 * dot(p.y, p.y));
  Tensor v3 = Tensor::empty({25}, DType::f64);
  for (int64_t i = 0; i < 25; ++i) v3.set(i, s.eigenvectors.at(i * 25 + 3));
  const Tensor proj3 = label_projections(s, v3);
  for (int64_t i = 0; i < 25; ++i) EXPECT_NEAR(proj3.at(i), i == 3 ? 1.0 : 0.0, 1e-12);
}

TEST(GradientFlow, MatchesTheIntegratedOdeAndItsLimits) {
  const Problem p = make_problem(20, 4, 5);
  const double eta = 0.7;
  const GradientFlow flow(p.gram, p.y, eta);
  EXPECT_EQ(norm(flow.train_predictions(0.0)), 0.0);
  EXPECT_EQ(norm(flow.test_predictions(p.cross, 0.0)), 0.0);
  // t = ∞ is kernel interpolation.
  EXPECT_LT(max_abs_difference(flow.train_predictions(INFINITY), p.y), 1e-8);
  EXPECT_LT(max_abs_difference(flow.test_predictions(p.cross, INFINITY), KernelRidge(p.gram, p.y).predict(p.cross)),
            1e-6);
  // RK4 on du/dt = −ηK(u − y), df*/dt = −ηK(x*, X)(u − y) (Arora Lemma 9.1.1) up to t = 0.5.
  const int64_t n = 20, m = 4;
  std::vector<double> u(n, 0.0), fs(m, 0.0);
  auto rhs = [&](const std::vector<double>& uu, std::vector<double>& du, std::vector<double>& dfs) {
    du.assign(n, 0.0);
    dfs.assign(m, 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) du[i] -= eta * p.gram.at(i * n + j) * (uu[j] - p.y.at(j));
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) dfs[i] -= eta * p.cross.at(i * n + j) * (uu[j] - p.y.at(j));
  };
  const double T = 0.5, h = 1e-3;
  for (int step = 0; step < int(T / h + 0.5); ++step) {
    std::vector<double> k1, k2, k3, k4, g1, g2, g3, g4, tmp(n);
    rhs(u, k1, g1);
    for (int64_t i = 0; i < n; ++i) tmp[i] = u[i] + 0.5 * h * k1[i];
    rhs(tmp, k2, g2);
    for (int64_t i = 0; i < n; ++i) tmp[i] = u[i] + 0.5 * h * k2[i];
    rhs(tmp, k3, g3);
    for (int64_t i = 0; i < n; ++i) tmp[i] = u[i] + h * k3[i];
    rhs(tmp, k4, g4);
    for (int64_t i = 0; i < n; ++i) u[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
    for (int64_t i = 0; i < m; ++i) fs[i] += h / 6 * (g1[i] + 2 * g2[i] + 2 * g3[i] + g4[i]);
  }
  const Tensor train = flow.train_predictions(T), test = flow.test_predictions(p.cross, T);
  for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(train.at(i), u[i], 1e-8);
  for (int64_t i = 0; i < m; ++i) EXPECT_NEAR(test.at(i), fs[i], 1e-8);
}

TEST(GradientFlow, EachEigendirectionDecaysAtItsOwnRate) {
  // Arora eq. 9.10: with y = v_i the loss is ½ e^{−2ηλ_i t}; the top direction is learned
  // first and the bottom one last (Fig. 9.1's ordering).
  const Problem p = make_problem(15, 1, 6);
  const GramSpectrum s = gram_spectrum(p.gram);
  const double eta = 0.5, t = 0.8;
  std::vector<double> losses;
  for (int64_t k : {int64_t(0), int64_t(14)}) {
    Tensor v = Tensor::empty({15}, DType::f64);
    for (int64_t i = 0; i < 15; ++i) v.set(i, s.eigenvectors.at(i * 15 + k));
    const double expected = 0.5 * std::exp(-2 * eta * s.eigenvalues.at(k) * t);
    losses.push_back(GradientFlow(p.gram, v, eta).train_loss(t));
    EXPECT_NEAR(losses.back(), expected, 1e-12 + 1e-10 * expected) << k;
  }
  EXPECT_LT(losses[0], losses[1]);
}

TEST(GradientFlow, StaysFiniteOnASingularGram) {
  Problem p = make_problem(8, 2, 7);
  Tensor X = p.X.clone();
  for (int64_t k = 0; k < 3; ++k) X.set(7 * 3 + k, X.at(0 * 3 + k));
  const KernelSpec spec{.depth = 1};
  const GradientFlow flow(ntk_kernel(spec, X), p.y);
  EXPECT_TRUE(all_finite(flow.train_predictions(3.0)));
  EXPECT_TRUE(all_finite(flow.test_predictions(ntk_kernel(spec, p.Xtest, X), 3.0)));
  EXPECT_TRUE(all_finite(flow.test_predictions(ntk_kernel(spec, p.Xtest, X), INFINITY)));
}
