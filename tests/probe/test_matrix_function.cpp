#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>

#include "descent/probe/matrix_function.hpp"

namespace descent::probe {
namespace {

// f(A)b by Lanczos against the eigendecomposition: √A on a PSD matrix with a zero eigenvalue
// (converges once the Krylov space is invariant), and exp(−A) at a tight tolerance.
TEST(MatrixFunction, LanczosMatchesTheEigendecomposition) {
  const int p = 30;
  Eigen::MatrixXd r(p, p);
  for (int i = 0; i < p; ++i)
    for (int j = 0; j < p; ++j) r(i, j) = std::sin(0.37 * i * j + 0.11 * i + 0.5 * j);
  Eigen::MatrixXd a = r * r.transpose() / p;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(a);
  Tensor m = Tensor::empty({p, p}, DType::f64), b = Tensor::empty({p}, DType::f64), out = Tensor::empty({p}, DType::f64);
  for (int i = 0; i < p; ++i) {
    b.data<double>()[i] = std::cos(1.7 * i);
    for (int j = 0; j < p; ++j) m.data<double>()[i * p + j] = a(i, j);
  }
  MatrixOperator op(m);
  const Eigen::VectorXd bv = Eigen::Map<Eigen::VectorXd>(b.data<double>(), p);
  const Eigen::VectorXd root = eig.eigenvectors() * eig.eigenvalues().cwiseMax(0).cwiseSqrt().asDiagonal() *
                               eig.eigenvectors().transpose() * bv;
  const auto res = lanczos_sqrt(op, b, out, {.max_steps = p, .tolerance = 1e-13});
  EXPECT_TRUE(res.converged);
  EXPECT_LE((Eigen::Map<Eigen::VectorXd>(out.data<double>(), p) - root).norm(), 1e-8 * root.norm());
  const Eigen::VectorXd ex = eig.eigenvectors() * (-eig.eigenvalues().array()).exp().matrix().asDiagonal() *
                             eig.eigenvectors().transpose() * bv;
  const auto r2 = lanczos_matrix_function(op, [](double x) { return std::exp(-x); }, b, out, {.max_steps = p, .tolerance = 1e-14});
  EXPECT_TRUE(r2.converged);
  EXPECT_LT(r2.steps, p);  // exp is entire: far fewer steps than P
  EXPECT_LE((Eigen::Map<Eigen::VectorXd>(out.data<double>(), p) - ex).norm(), 1e-11 * ex.norm());
}

TEST(MatrixFunction, ZeroVectorAndBadInput) {
  MatrixOperator op(Tensor::eye(3, DType::f64));
  Tensor z = Tensor::zeros({3}, DType::f64), out = Tensor::full({3}, 5.0, DType::f64);
  EXPECT_TRUE(lanczos_sqrt(op, z, out).converged);
  EXPECT_EQ(out.at(0), 0.0);
  Tensor f32 = Tensor::zeros({3}, DType::f32);
  EXPECT_THROW(lanczos_sqrt(op, f32, out), ShapeError);
}

}  // namespace
}  // namespace descent::probe
