// The gradient-noise covariance and empirical Fisher operators against dense matrices built
// from explicit per-example gradients, under memory caps smaller than n×P gradients.
#include <gtest/gtest.h>

#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/probe/gradient_noise.hpp"
#include "probe/probe_test_matrices.hpp"

namespace descent::probe {
namespace {

// Least squares, f_i(θ) = ½(x_iᵀθ − y_i)²: g_i = x_i (x_iᵀθ − y_i) and H = (1/n) XᵀX.
class LeastSquares final : public Objective {
 public:
  LeastSquares(int64_t n, int64_t p, uint64_t seed) : x_(n, p), y_(n) {
    Rng rng(seed);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < p; ++j) x_(i, j) = rng.normal() * (1.0 + 0.1 * j);
      y_(i) = rng.normal();
    }
  }
  int64_t dimension() const override { return x_.cols(); }
  int64_t num_examples() const override { return x_.rows(); }
  double value_and_gradient(const Tensor& theta, Tensor& g) override {
    std::vector<int64_t> all(x_.rows());
    for (size_t i = 0; i < all.size(); ++i) all[i] = int64_t(i);
    return batch_value_and_gradient(theta, all, g);
  }
  double batch_value_and_gradient(const Tensor& theta, std::span<const int64_t> idx, Tensor& g) override {
    const Eigen::Map<const Eigen::VectorXd> t(theta.data<double>(), dimension());
    Eigen::Map<Eigen::VectorXd> out(g.data<double>(), dimension());
    out.setZero();
    double f = 0;
    for (int64_t i : idx) {
      const double r = x_.row(i).dot(t) - y_(i);
      f += 0.5 * r * r;
      out += r * x_.row(i).transpose();
    }
    out /= double(idx.size());
    return f / double(idx.size());
  }
  void hessian_vector_product(const Tensor&, const Tensor& v, Tensor& hv) override {
    const Eigen::Map<const Eigen::VectorXd> vv(v.data<double>(), dimension());
    Eigen::Map<Eigen::VectorXd>(hv.data<double>(), dimension()) = x_.transpose() * (x_ * vv) / double(x_.rows());
  }
  bool has_exact_hessian_vector_product() const override { return true; }

  Eigen::MatrixXd per_example(const Eigen::VectorXd& theta) const {
    Eigen::MatrixXd g(x_.rows(), x_.cols());
    for (int64_t i = 0; i < x_.rows(); ++i) g.row(i) = (x_.row(i).dot(theta) - y_(i)) * x_.row(i);
    return g;
  }
  Eigen::MatrixXd hessian() const { return x_.transpose() * x_ / double(x_.rows()); }

 private:
  Eigen::MatrixXd x_;
  Eigen::VectorXd y_;
};

constexpr int64_t kN = 50, kP = 30;

Tensor theta_tensor(const Eigen::VectorXd& t) {
  return Tensor::from_vector(std::vector<double>(t.data(), t.data() + t.size()), {t.size()});
}

TEST(GradientNoise, CovarianceOperatorEqualsTheDenseCovarianceUnderAMemoryCap) {
  LeastSquares f(kN, kP, 21);
  const Eigen::VectorXd theta = Eigen::VectorXd::LinSpaced(kP, -0.5, 0.5);
  const Eigen::MatrixXd g = f.per_example(theta);
  const Eigen::RowVectorXd mean = g.colwise().mean();
  const Eigen::MatrixXd c = g.rowwise() - mean;
  const Eigen::MatrixXd sigma = c.transpose() * c / double(kN);

  const size_t full = size_t(kN * kP) * sizeof(double);
  for (size_t cap : {full, full / 7, size_t(kP) * sizeof(double)}) {
    GradientCovarianceOperator op = gradient_noise_covariance_operator(f, theta_tensor(theta), {}, cap);
    EXPECT_LE(op.buffer_bytes(), cap);
    EXPECT_EQ(op.cached(), cap == full);
    const Eigen::MatrixXd dense = testing::to_eigen(dense_matrix(op));
    EXPECT_LT((dense - sigma).cwiseAbs().maxCoeff(), 1e-12 * sigma.cwiseAbs().maxCoeff()) << "cap " << cap;
    EXPECT_NEAR(op.trace(), sigma.trace(), 1e-12 * sigma.trace());
    EXPECT_LT(norm(sub(op.mean_gradient(), theta_tensor(mean.transpose()))), 1e-13);
    if (cap < full) {
      // Streaming: each of the P products recomputed every chunk of gradients.
      const int64_t chunks = (kN + op.chunk_rows() - 1) / op.chunk_rows();
      EXPECT_EQ(op.gradient_chunks_computed(), chunks * (kP + 1));
    }
  }
}

TEST(GradientNoise, EmpiricalFisherOnASubsetOfExamples) {
  LeastSquares f(kN, kP, 22);
  const Eigen::VectorXd theta = Eigen::VectorXd::Constant(kP, 0.1);
  std::vector<int64_t> subset = {3, 7, 8, 20, 21, 22, 40, 49, 0, 11, 12};
  const Eigen::MatrixXd g = f.per_example(theta);
  Eigen::MatrixXd fisher = Eigen::MatrixXd::Zero(kP, kP);
  for (int64_t i : subset) fisher += g.row(i).transpose() * g.row(i);
  fisher /= double(subset.size());
  const size_t cap = 4 * kP * sizeof(double);  // 4 of 11 gradients at a time
  GradientCovarianceOperator op = empirical_fisher_operator(f, theta_tensor(theta), subset, cap);
  EXPECT_EQ(op.chunk_rows(), 4);
  EXPECT_LE(op.buffer_bytes(), cap);
  EXPECT_LT(cap, subset.size() * kP * sizeof(double));
  EXPECT_LT((testing::to_eigen(dense_matrix(op)) - fisher).cwiseAbs().maxCoeff(), 1e-12 * fisher.cwiseAbs().maxCoeff());
  EXPECT_NEAR(op.trace(), fisher.trace(), 1e-12 * fisher.trace());
}

TEST(GradientNoise, TopEigenpairsTraceOfHSigmaAndAlignmentAgreeWithDense) {
  LeastSquares f(kN, kP, 23);
  const Eigen::VectorXd theta = Eigen::VectorXd::LinSpaced(kP, 0.3, -0.2);
  const Eigen::MatrixXd g = f.per_example(theta);
  const Eigen::MatrixXd c = g.rowwise() - g.colwise().mean();
  const Eigen::MatrixXd sigma = c.transpose() * c / double(kN);
  const Eigen::MatrixXd h = f.hessian();

  const Tensor t = theta_tensor(theta);
  GradientCovarianceOperator noise = gradient_noise_covariance_operator(f, t, {}, 10 * kP * sizeof(double));
  HessianOperator hessian = hessian_operator(f, t);
  NoiseCurvatureOptions o;
  o.top_k = 3;
  o.trace_matvecs = 3 * kP;  // the Hutch++ sketch spans R^P: traces are exact
  const NoiseCurvatureAlignment a = noise_curvature_alignment(hessian, noise, o);
  EXPECT_NEAR(a.trace_hessian_noise.trace, (h * sigma).trace(), 1e-10 * (h * sigma).trace()) << a.summary();
  EXPECT_NEAR(a.trace_hessian.trace, h.trace(), 1e-10 * h.trace());
  EXPECT_NEAR(a.trace_noise, sigma.trace(), 1e-12 * sigma.trace());
  EXPECT_NEAR(a.alignment_ratio, (h * sigma).trace() / (h.trace() * sigma.trace() / kP), 1e-8);

  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(sigma), eh(h);
  ASSERT_TRUE(a.noise_top.converged && a.hessian_top.converged) << a.summary();
  Eigen::MatrixXd us(kP, 3), uh(kP, 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_LT(testing::relative_error(a.noise_top.pairs[i].value, es.eigenvalues()(kP - 1 - i)), 1e-8);
    EXPECT_LT(testing::relative_error(a.hessian_top.pairs[i].value, eh.eigenvalues()(kP - 1 - i)), 1e-8);
    us.col(i) = es.eigenvectors().col(kP - 1 - i);
    uh.col(i) = eh.eigenvectors().col(kP - 1 - i);
  }
  EXPECT_NEAR(a.top_eigenspaces.mean_squared_cosine, (uh.transpose() * us).squaredNorm() / 3, 1e-6);
}

TEST(GradientNoise, RefusesACapBelowOneGradientAndNonFiniteSums) {
  LeastSquares f(kN, kP, 24);
  const Tensor t = Tensor::zeros({kP}, DType::f64);
  EXPECT_THROW(gradient_noise_covariance_operator(f, t, {}, kP * sizeof(double) - 1), InputError);
  FunctionObjective plain(kP, [](const Tensor&, Tensor& g) {
    g.fill(0);
    return 0.0;
  });
  EXPECT_THROW(gradient_noise_covariance_operator(plain, t, {}, 1 << 20), InputError);
}

}  // namespace
}  // namespace descent::probe
