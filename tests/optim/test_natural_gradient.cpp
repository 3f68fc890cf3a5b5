// Natural gradient with the empirical Fisher: the Woodbury solve against the dense
// (GᵀG/n + δI)⁻¹g, one step against its dense formula on logistic regression, convergence,
// mini-batches, and refusals.
#include <gtest/gtest.h>

#include <cmath>

#include <Eigen/Dense>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/optim/natural_gradient.hpp"
#include "descent/optim/newton_cg.hpp"
#include "descent/optim/problems.hpp"

using namespace descent;
using namespace descent::optim;

namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Tensor random_tensor(const Shape& shape, Rng& rng) {
  Tensor t = Tensor::empty(shape, DType::f64);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = rng.normal();
  return t;
}

// (GᵀG/n + δI)⁻¹ g with the P×P matrix formed.
Eigen::VectorXd dense_fisher_solve(const Tensor& rows, const Tensor& g, double damping) {
  const int64_t n = rows.dim(0), p = rows.dim(1);
  const Eigen::Map<const RowMatrix> G(rows.data<double>(), n, p);
  Eigen::MatrixXd f = G.transpose() * G / static_cast<double>(n) + damping * Eigen::MatrixXd::Identity(p, p);
  return f.ldlt().solve(Eigen::Map<const Eigen::VectorXd>(g.data<double>(), p));
}

double relative_error(const Tensor& a, const Eigen::VectorXd& b) {
  return (Eigen::Map<const Eigen::VectorXd>(a.data<double>(), a.numel()) - b).norm() / b.norm();
}

problems::LogisticRegression logistic(int64_t n, int64_t d, uint64_t seed) {
  Rng rng(seed);
  Tensor x = random_tensor({n, d}, rng), w = random_tensor({d}, rng);
  Tensor y = Tensor::empty({n}, DType::f64);
  for (int64_t i = 0; i < n; ++i) {
    double z = 0.0;
    for (int64_t j = 0; j < d; ++j) z += x.at(i * d + j) * w.at(j);
    y.set(i, rng.uniform() < 1.0 / (1.0 + std::exp(-z)) ? 1.0 : 0.0);  // labels drawn from the model
  }
  return problems::LogisticRegression(x, y, 1e-3);
}

}  // namespace

TEST(NaturalGradient, WoodburyAndDenseSolvesMatchTheDenseFisher) {
  Rng rng(4);
  // n < P: the Woodbury branch; n ≥ P: the P×P branch. Damping from tiny to large.
  for (auto [n, p] : {std::pair<int64_t, int64_t>{8, 60}, {40, 60}, {100, 12}}) {
    for (double damping : {1e-4, 1e-1, 10.0}) {
      const Tensor rows = random_tensor({n, p}, rng), g = random_tensor({p}, rng);
      const Tensor x = empirical_fisher_solve(rows, g, damping);
      EXPECT_LT(relative_error(x, dense_fisher_solve(rows, g, damping)), 1e-8)
          << "n = " << n << ", P = " << p << ", damping = " << damping;
    }
  }
}

TEST(NaturalGradient, OneStepIsTheDenseNaturalGradientStep) {
  auto lr = logistic(30, 50, 9);  // n < P: Woodbury inside the optimizer
  Rng rng(2);
  const Tensor theta0 = mul(random_tensor({50}, rng), 0.1);
  NaturalGradientOptions o;
  o.learning_rate = 0.5;
  o.damping = 1e-2;
  const auto t = natural_gradient_descent(lr, theta0, o, {.max_steps = 1});
  ASSERT_EQ(t.steps.size(), 1u);
  std::vector<int64_t> all(30);
  for (int64_t i = 0; i < 30; ++i) all[i] = i;
  Tensor rows = Tensor::empty({30, 50}, DType::f64), g = Tensor::empty({50}, DType::f64);
  lr.per_example_gradients(theta0, all, rows);
  lr.value_and_gradient(theta0, g);
  const Eigen::VectorXd expected =
      Eigen::Map<const Eigen::VectorXd>(theta0.data<double>(), 50) - 0.5 * dense_fisher_solve(rows, g, 1e-2);
  EXPECT_LT(relative_error(t.theta, expected), 1e-10);
}

TEST(NaturalGradient, ConvergesOnLogisticRegression) {
  auto lr = logistic(400, 10, 5);
  const Tensor theta0 = Tensor::zeros({10}, DType::f64);
  const auto ref = newton_cg(lr, theta0, {}, {.max_steps = 100, .gradient_tolerance = 1e-12});
  ASSERT_TRUE(ref.converged);
  NaturalGradientOptions o;
  o.learning_rate = 1.0;
  o.damping = 1e-4;
  const auto t = natural_gradient_descent(lr, theta0, o, {.max_steps = 200, .gradient_tolerance = 1e-9});
  EXPECT_TRUE(t.converged) << t.stop_reason << " after " << t.steps.size() << " steps, |g| " << t.gradient_norm;
  EXPECT_LT(norm(sub(t.theta, ref.theta)), 1e-6 * norm(ref.theta));
  std::printf("  natural gradient: %zu steps to |g| <= 1e-9\n", t.steps.size());
  EXPECT_LT(t.steps.size(), 100u);

  // Mini-batches of 50 with a decaying rate cut the gap f − f* at least tenfold (from
  // log 2 − f* ≈ 0.21). The batch Fisher is noisy: the damping must be larger than full-batch.
  o.batch_size = 50;
  o.damping = 0.1;
  o.learning_rate = polynomial_decay(0.2, 0.6);
  o.seed = 3;
  const auto s = natural_gradient_descent(lr, theta0, o, {.max_steps = 400});
  std::printf("  mini-batch natural gradient: f - f* = %.2e after 400 steps (from %.2e)\n", s.value - ref.value,
              std::log(2.0) - ref.value);
  EXPECT_LT(s.value - ref.value, 0.1 * (std::log(2.0) - ref.value)) << "stochastic NGD: f = " << s.value << ", f* = " << ref.value;
}

TEST(NaturalGradient, RefusesBadInput) {
  auto lr = logistic(20, 3, 1);
  NaturalGradientOptions o;
  o.damping = 0.0;
  EXPECT_THROW(natural_gradient_descent(lr, Tensor::zeros({3}, DType::f64), o), InputError);
  EXPECT_THROW(natural_gradient_descent(lr, Tensor::zeros({4}, DType::f64)), ShapeError);
  problems::Rosenbrock r(2);  // not a finite sum
  EXPECT_THROW(natural_gradient_descent(r, r.classic_start()), InputError);
  EXPECT_THROW(empirical_fisher_solve(Tensor::zeros({3, 4}, DType::f64), Tensor::zeros({5}, DType::f64), 1.0),
               ShapeError);
}
