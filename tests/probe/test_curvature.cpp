// Lanczos, power iteration and condition numbers against dense eigendecompositions of
// matrices with known spectra, and against the exact Hessian of a quadratic Objective.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "descent/core/ops.hpp"
#include "descent/probe/curvature.hpp"
#include "probe/probe_test_matrices.hpp"

namespace descent::probe {
namespace {

using testing::relative_error;
using testing::to_tensor;
using testing::with_spectrum;

// Indefinite spectrum: 5 separated outliers at each end, a bulk in [−3, 6] between.
std::vector<double> indefinite_spectrum(int p) {
  std::vector<double> l;
  for (double v : {40.0, 31.0, 25.0, 21.0, 18.5}) l.push_back(v);
  for (double v : {-12.0, -9.0, -7.5, -6.0, -5.0}) l.push_back(v);
  for (int i = 0; int(l.size()) < p; ++i) l.push_back(-3.0 + 9.0 * std::sin(0.7 * i) * std::sin(0.7 * i));
  return l;
}

// The k eigenvalues from one end of a dense symmetric matrix.
std::vector<double> dense_end(const Eigen::MatrixXd& a, int k, bool top) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(a, Eigen::EigenvaluesOnly);
  std::vector<double> v(eig.eigenvalues().data(), eig.eigenvalues().data() + a.rows());
  if (top) std::reverse(v.begin(), v.end());
  v.resize(k);
  return v;
}

TEST(Lanczos, TopAndBottomOfAnIndefiniteMatrixMatchTheDenseSpectrumTo1e8) {
  const Eigen::MatrixXd a = with_spectrum(indefinite_spectrum(300), 1);
  MatrixOperator op(to_tensor(a));
  for (SpectrumEnd end : {SpectrumEnd::largest, SpectrumEnd::smallest}) {
    LanczosOptions o;
    o.num_eigenpairs = 5;
    o.which = end;
    o.verify_residuals = true;
    const EigenResult r = lanczos_eigenpairs(op, o);
    ASSERT_TRUE(r.converged) << r.summary();
    const auto want = dense_end(a, 5, end == SpectrumEnd::largest);
    for (int i = 0; i < 5; ++i) {
      EXPECT_LT(relative_error(r.pairs[i].value, want[i]), 1e-8) << r.summary();
      // The verified residual ‖Av − λv‖ meets the tolerance the run stopped on.
      EXPECT_LE(r.pairs[i].relative_residual, 1e-6) << r.summary();
      EXPECT_GT(r.pairs[i].matvecs_to_converge, 0);
      EXPECT_NEAR(norm(r.pairs[i].vector), 1.0, 1e-12);
    }
    EXPECT_EQ(r.verification_matvecs, 5);
    EXPECT_LT(r.matvecs, 100) << "separated outliers should converge in a small Krylov space\n" << r.summary();
  }
}

TEST(Lanczos, LanczosResidualEstimateEqualsTheTrueResidual) {
  const Eigen::MatrixXd a = with_spectrum(indefinite_spectrum(200), 2);
  MatrixOperator op(to_tensor(a));
  LanczosOptions o;
  o.num_eigenpairs = 3;
  const EigenResult estimated = lanczos_eigenpairs(op, o);
  o.verify_residuals = true;
  const EigenResult verified = lanczos_eigenpairs(op, o);
  for (int i = 0; i < 3; ++i) {
    // Same run, so same vectors; the estimate β|y_m| matches ‖Av − λv‖ up to O(ε‖A‖).
    EXPECT_NEAR(estimated.pairs[i].residual_norm, verified.pairs[i].residual_norm, 1e-11 * 40.0);
    EXPECT_GT(verified.pairs[i].residual_norm, 0.0);
  }
}

TEST(Lanczos, ThickRestartResolvesClusteredEigenvaluesWithASmallBasis) {
  // Top cluster 10, 9.999, 9.998, 9.997 over a dense bulk in [0, 9]: a 20-vector basis must
  // restart many times to separate them.
  std::vector<double> l = {10.0, 9.999, 9.998, 9.997};
  for (int i = 0; i < 396; ++i) l.push_back(9.0 * i / 395.0);
  const Eigen::MatrixXd a = with_spectrum(l, 3);
  MatrixOperator op(to_tensor(a));
  LanczosOptions o;
  o.num_eigenpairs = 4;
  o.max_basis_size = 20;
  o.verify_residuals = true;
  o.max_matvecs = 20000;
  const EigenResult r = lanczos_eigenpairs(op, o);
  ASSERT_TRUE(r.converged) << r.summary();
  EXPECT_GT(r.restarts, 0);
  for (int i = 0; i < 4; ++i) {
    EXPECT_LT(relative_error(r.pairs[i].value, l[i]), 1e-8) << r.summary();
    EXPECT_LE(r.pairs[i].relative_residual, 1e-6) << r.summary();
  }
}

TEST(Lanczos, ReportsNonConvergenceInsteadOfAFinalLookingNumber) {
  std::vector<double> l;
  for (int i = 0; i < 500; ++i) l.push_back(1.0 + 1e-3 * i);  // no gaps at all
  MatrixOperator op(to_tensor(with_spectrum(l, 4)));
  LanczosOptions o;
  o.num_eigenpairs = 3;
  o.max_matvecs = 10;
  const EigenResult r = lanczos_eigenpairs(op, o);
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.matvecs, 10);
  EXPECT_FALSE(r.pairs[0].converged);
  EXPECT_EQ(r.pairs[0].matvecs_to_converge, -1);
  EXPECT_NE(r.summary().find("NOT converged"), std::string::npos);
}

TEST(Lanczos, TopEigenvalueTo1e4WithFewerProductsThanPowerIteration) {
  // λ2/λ1 = 0.9: power iteration's eigenvalue error shrinks like 0.81^t.
  std::vector<double> l = {10.0, 9.0};
  for (int i = 0; i < 298; ++i) l.push_back(8.5 * i / 297.0);
  MatrixOperator op(to_tensor(with_spectrum(l, 5)));
  PowerIterationOptions po;
  po.tolerance = 1e-6;  // tight enough that its eigenvalue is within 1e-4 when it stops
  po.max_iterations = 1000;
  const EigenResult power = power_iteration(op, po);
  ASSERT_TRUE(power.converged);
  ASSERT_LT(relative_error(power.pairs[0].value, 10.0), 1e-4);
  LanczosOptions lo;
  lo.tolerance = 1e-2;  // eigenvalue error ≤ residual²/gap ≈ 1e-4·λ²/gap
  const EigenResult lanczos = lanczos_eigenpairs(op, lo);
  ASSERT_TRUE(lanczos.converged);
  EXPECT_LT(relative_error(lanczos.pairs[0].value, 10.0), 1e-4);
  EXPECT_LT(lanczos.matvecs * 2, power.matvecs) << "Lanczos " << lanczos.matvecs << " vs power " << power.matvecs;
}

TEST(PowerIteration, DeflationFindsTheLargestMagnitudePairsWithExactResiduals) {
  std::vector<double> l = {8.0, -6.0, 3.0};
  for (int i = 0; i < 97; ++i) l.push_back(1.0 * i / 96.0);
  const Eigen::MatrixXd a = with_spectrum(l, 6);
  MatrixOperator op(to_tensor(a));
  PowerIterationOptions o;
  o.num_eigenpairs = 3;
  // PyHessian's eigenvalue-change rule, tight. (A residual rule is ill-posed here: deflating
  // against pair 1 leaves pair 2 a residual floor of about pair 1's residual.)
  o.tolerance = 1e-13;
  o.max_iterations = 2000;
  const EigenResult r = power_iteration(op, o);
  ASSERT_TRUE(r.converged) << r.summary();
  EXPECT_NEAR(r.pairs[0].value, 8.0, 1e-9);
  EXPECT_NEAR(r.pairs[1].value, -6.0, 1e-9);
  EXPECT_NEAR(r.pairs[2].value, 3.0, 1e-9);
  for (const Eigenpair& p : r.pairs) {
    const Eigen::VectorXd v = Eigen::Map<const Eigen::VectorXd>(p.vector.data<double>(), 100);
    EXPECT_NEAR((a * v - p.value * v).norm(), p.residual_norm, 1e-12);
  }
}

TEST(PowerIteration, PyHessianToleranceStopsEarlyWithLargeResiduals) {
  // The point of the comparison: a relative eigenvalue change of 1e-3 is no residual bound.
  std::vector<double> l = {10.0, 9.5};
  for (int i = 0; i < 198; ++i) l.push_back(9.0 * i / 197.0);
  MatrixOperator op(to_tensor(with_spectrum(l, 7)));
  const EigenResult r = power_iteration(op, {});
  ASSERT_TRUE(r.converged);
  EXPECT_GT(r.pairs[0].relative_residual, 1e-3);
}

// f(θ) = ½ θᵀAθ + bᵀθ with an exact HVP: the Hessian operator is A.
struct Quadratic {
  Eigen::MatrixXd a;
  Eigen::VectorXd b;
  FunctionObjective objective() {
    const int64_t p = a.rows();
    return FunctionObjective(
        p,
        [this, p](const Tensor& theta, Tensor& g) {
          const Eigen::Map<const Eigen::VectorXd> x(theta.data<double>(), p);
          Eigen::Map<Eigen::VectorXd>(g.data<double>(), p) = a * x + b;
          return 0.5 * x.dot(a * x) + b.dot(x);
        },
        [this, p](const Tensor&, const Tensor& v, Tensor& hv) {
          Eigen::Map<Eigen::VectorXd>(hv.data<double>(), p) = a * Eigen::Map<const Eigen::VectorXd>(v.data<double>(), p);
        });
  }
};

TEST(HessianOperator, QuadraticObjectiveEigenpairsBlocksAndConditionNumber) {
  std::vector<double> l;
  for (int i = 0; i < 150; ++i) l.push_back(0.5 + 50.0 * i / 149.0);  // SPD, κ = 101
  Quadratic q{with_spectrum(l, 8), Eigen::VectorXd::Ones(150)};
  FunctionObjective f = q.objective();
  const Tensor theta = Tensor::zeros({150}, DType::f64);
  HessianOperator h = hessian_operator(f, theta);
  EXPECT_EQ(h.name(), "Hessian");

  LanczosOptions o;
  o.num_eigenpairs = 3;
  const EigenResult top = lanczos_eigenpairs(h, o);
  ASSERT_TRUE(top.converged) << top.summary();
  for (int i = 0; i < 3; ++i) EXPECT_LT(relative_error(top.pairs[i].value, dense_end(q.a, 3, true)[i]), 1e-8);

  const ConditionNumber c = condition_number(h);
  ASSERT_TRUE(c.converged);
  EXPECT_TRUE(c.positive_definite);
  EXPECT_LT(relative_error(c.condition_number, 50.5 / 0.5), 1e-8);

  // Block [40, 110) of H is the dense sub-matrix.
  BlockOperator block = block_operator(h, 40, 110, "middle");
  EXPECT_EQ(block.dimension(), 70);
  const Eigen::MatrixXd sub = q.a.block(40, 40, 70, 70);
  o.which = SpectrumEnd::smallest;
  o.num_eigenpairs = 2;
  const EigenResult bottom = lanczos_eigenpairs(block, o);
  ASSERT_TRUE(bottom.converged) << bottom.summary();
  for (int i = 0; i < 2; ++i) EXPECT_LT(relative_error(bottom.pairs[i].value, dense_end(sub, 2, false)[i]), 1e-8);
  const Tensor dense = dense_matrix(block);
  EXPECT_LT((testing::to_eigen(dense) - sub).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(HessianOperator, Float32OperatorsRunInFloat64Internally) {
  std::vector<double> l = {5.0, 4.0};
  for (int i = 0; i < 98; ++i) l.push_back(3.0 * i / 97.0);
  MatrixOperator op(to_tensor(with_spectrum(l, 9)).astype(DType::f32));
  LanczosOptions o;
  o.tolerance = 1e-5;
  o.verify_residuals = true;
  const EigenResult r = lanczos_eigenpairs(op, o);
  ASSERT_TRUE(r.converged) << r.summary();
  EXPECT_NEAR(r.pairs[0].value, 5.0, 5e-6);
}

TEST(SubspaceAlignment, PrincipalAnglesOfKnownSubspaces) {
  auto unit = [](std::vector<double> x) { return Tensor::from_vector(x, {int64_t(x.size())}); };
  const double s = std::sqrt(0.5);
  const auto a = subspace_alignment({unit({1, 0, 0}), unit({0, 1, 0})}, {unit({s, 0, s}), unit({0, 1, 0})});
  ASSERT_EQ(a.cosines.size(), 2u);
  EXPECT_NEAR(a.cosines[0], 1.0, 1e-12);
  EXPECT_NEAR(a.cosines[1], s, 1e-12);
  EXPECT_NEAR(a.mean_squared_cosine, (1.0 + 0.5) / 2, 1e-12);
}

TEST(Lanczos, RejectsNonSymmetricOperatorsAndImpossibleRequests) {
  Tensor m = Tensor::from_vector(std::vector<double>{1, 2, 0, 1}, {2, 2});
  MatrixOperator op(m);
  EXPECT_THROW(lanczos_eigenpairs(op), InputError);
  MatrixOperator sym(Tensor::eye(2, DType::f64));
  LanczosOptions o;
  o.num_eigenpairs = 3;
  EXPECT_THROW(lanczos_eigenpairs(sym, o), InputError);
}

}  // namespace
}  // namespace descent::probe
