// Gauss–Newton, Fisher and empirical Fisher operators and per-layer blocks of a model's loss,
// each against its dense counterpart built independently: J from autodiff::jacobian of the
// outputs, the softmax-CE output Hessian diag(p) − ppᵀ written out by hand, per-example
// gradients as the rows of the Jacobian of the per-example losses.
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/nn/layers.hpp"
#include "descent/nn/objective.hpp"
#include "descent/nn/output_map.hpp"
#include "descent/probe/curvature.hpp"
#include "descent/probe/curvature_matrices.hpp"
#include "descent/probe/gradient_noise.hpp"
#include "probe_test_matrices.hpp"

using namespace descent;
using namespace descent::probe;
using descent::probe::testing::to_eigen;

namespace {

constexpr int64_t kInputs = 4, kClasses = 3, kExamples = 13;

struct Problem {
  nn::Model model;
  Tensor x, y;
};

Problem classification(std::vector<int64_t> hidden, uint64_t seed) {
  Problem p{nn::mlp(kInputs, kClasses, nn::MlpOptions{.hidden = hidden, .activation = nn::Activation::tanh,
                                                      .bias_std = 0.3},
                    DType::f64),
            Tensor::empty({kExamples, kInputs}, DType::f64), Tensor::empty({kExamples}, DType::i64)};
  p.model.initialize(seed);
  Rng rng(seed + 100);
  for (int64_t i = 0; i < p.x.numel(); ++i) p.x.set(i, rng.normal());
  for (int64_t i = 0; i < kExamples; ++i) p.y.set(i, double(rng.below(kClasses)));
  return p;
}

// J [n·K, P]: the outputs' Jacobian, rows example-major.
Eigen::MatrixXd output_jacobian(nn::Model& model, const Tensor& x) {
  const Function outputs = [&](const VarList& params) {
    nn::ForwardContext ctx;
    return model.forward(Var(x), params, ctx);
  };
  return to_eigen(jacobian(outputs, model.parameter_views(model.parameters())));
}

Eigen::MatrixXd outputs_of(nn::Model& model, const Tensor& x) {
  const Tensor z = model.predict(x);
  return to_eigen(z.reshape({z.dim(0), z.numel() / z.dim(0)}));
}

double max_abs(const Eigen::MatrixXd& a) { return a.cwiseAbs().maxCoeff(); }

// (1/n) Σ_i J_iᵀ (diag(p_i) − p_i p_iᵀ) J_i for softmax cross-entropy.
Eigen::MatrixXd dense_cross_entropy_gauss_newton(nn::Model& model, const Tensor& x) {
  const Eigen::MatrixXd j = output_jacobian(model, x), z = outputs_of(model, x);
  const int64_t n = z.rows(), k = z.cols(), p = j.cols();
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(p, p);
  for (int64_t i = 0; i < n; ++i) {
    Eigen::VectorXd prob = (z.row(i).array() - z.row(i).maxCoeff()).exp().transpose();
    prob /= prob.sum();
    const Eigen::MatrixXd h = Eigen::MatrixXd(prob.asDiagonal()) - prob * prob.transpose();
    const Eigen::MatrixXd ji = j.middleRows(i * k, k);
    g += ji.transpose() * h * ji;
  }
  return g / double(n);
}

TEST(CurvatureMatrices, GaussNewtonOfCrossEntropyEqualsDenseJtHJAndIsPositiveSemidefinite) {
  Problem pr = classification({6, 5}, 3);
  nn::ModelObjective f(pr.model, nn::Loss::softmax_cross_entropy, pr.x, pr.y);
  const Eigen::MatrixXd expected = dense_cross_entropy_gauss_newton(pr.model, pr.x);
  // Chunks of 5 rows (13 = 5 + 5 + 3) exercise the streaming.
  GaussNewtonOperator g = gauss_newton_operator(f, pr.model.parameters(), {}, 5);
  const Eigen::MatrixXd dense = to_eigen(dense_matrix(g));
  EXPECT_LT(max_abs(dense - expected), 1e-10 * max_abs(expected));
  EXPECT_LT(max_abs(dense - dense.transpose()), 1e-12 * max_abs(expected));
  const Eigen::VectorXd eig = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(dense).eigenvalues();
  EXPECT_GE(eig.minCoeff(), -1e-12 * eig.maxCoeff());
  EXPECT_GT(eig.maxCoeff(), 0.0);

  // For softmax-CE the Fisher is the Gauss–Newton matrix (Martens 2020 §9.2).
  GaussNewtonOperator fisher = fisher_operator(f, pr.model.parameters());
  EXPECT_LT(max_abs(to_eigen(dense_matrix(fisher)) - expected), 1e-10 * max_abs(expected));
  EXPECT_EQ(fisher.name(), "Fisher");

  // Lanczos on the operator finds the dense top eigenvalue.
  LanczosOptions o;
  o.num_eigenpairs = 2;
  o.tolerance = 1e-10;
  const EigenResult top = lanczos_eigenpairs(g, o);
  ASSERT_TRUE(top.converged);
  EXPECT_NEAR(top.pairs[0].value, eig(eig.size() - 1), 1e-9 * eig.maxCoeff());
  EXPECT_NEAR(top.pairs[1].value, eig(eig.size() - 2), 1e-9 * eig.maxCoeff());
}

TEST(CurvatureMatrices, GaussNewtonOnASubsetEqualsTheObjectiveOfThoseRows) {
  Problem pr = classification({5}, 4);
  nn::ModelObjective f(pr.model, nn::Loss::softmax_cross_entropy, pr.x, pr.y);
  const std::vector<int64_t> subset = {11, 2, 7, 0, 5};
  Tensor xs = Tensor::empty({5, kInputs}, DType::f64), ys = Tensor::empty({5}, DType::i64);
  gather_rows(pr.x, subset, xs);
  gather_rows(pr.y, subset, ys);
  const Eigen::MatrixXd expected = dense_cross_entropy_gauss_newton(pr.model, xs);
  GaussNewtonOperator g = gauss_newton_operator(f, pr.model.parameters(), subset, 2);
  EXPECT_EQ(g.num_examples(), 5);
  EXPECT_LT(max_abs(to_eigen(dense_matrix(g)) - expected), 1e-10 * max_abs(expected));
  EXPECT_THROW(gauss_newton_operator(f, pr.model.parameters(), {0, 13}), InputError);
}

TEST(CurvatureMatrices, MeanSquaredErrorOnALinearModelHasGaussNewtonEqualToHessian) {
  // ½‖Wx + b − y‖² is quadratic in θ = (W, b): the Hessian is exactly Jᵀ J / n = G.
  nn::Model model = nn::mlp(kInputs, kClasses, nn::MlpOptions{.hidden = {}, .bias_std = 0.3}, DType::f64);
  model.initialize(5);
  Rng rng(6);
  Tensor x = Tensor::empty({kExamples, kInputs}, DType::f64), y = Tensor::empty({kExamples, kClasses}, DType::f64);
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, rng.normal());
  for (int64_t i = 0; i < y.numel(); ++i) y.set(i, rng.normal());
  nn::ModelObjective f(model, nn::Loss::mean_squared_error, x, y);
  GaussNewtonOperator g = gauss_newton_operator(f, model.parameters(), {}, 4);
  HessianOperator h = hessian_operator(f, model.parameters());
  const Eigen::MatrixXd dense_g = to_eigen(dense_matrix(g)), dense_h = to_eigen(dense_matrix(h));
  EXPECT_LT(max_abs(dense_g - dense_h), 1e-10 * max_abs(dense_h));
  const Eigen::MatrixXd j = output_jacobian(model, x);
  EXPECT_LT(max_abs(dense_g - j.transpose() * j / double(kExamples)), 1e-10 * max_abs(dense_h));

  // On a nonlinear model they differ by the residual term Σ r_i ∇²z_i, which the GGN drops.
  nn::Model deep = nn::mlp(kInputs, kClasses, nn::MlpOptions{.hidden = {5}, .activation = nn::Activation::tanh},
                           DType::f64);
  deep.initialize(7);
  nn::ModelObjective fd(deep, nn::Loss::mean_squared_error, x, y);
  GaussNewtonOperator gd = gauss_newton_operator(fd, deep.parameters());
  HessianOperator hd = hessian_operator(fd, deep.parameters());
  const Eigen::MatrixXd jd = output_jacobian(deep, x), dense_gd = to_eigen(dense_matrix(gd));
  EXPECT_LT(max_abs(dense_gd - jd.transpose() * jd / double(kExamples)), 1e-10 * max_abs(dense_gd));
  EXPECT_GT(max_abs(dense_gd - to_eigen(dense_matrix(hd))), 1e-3 * max_abs(dense_gd));
}

TEST(CurvatureMatrices, FisherIsRefusedForLossesWithoutALikelihood) {
  Problem pr = classification({5}, 8);
  Tensor signs = Tensor::empty({kExamples}, DType::f64);
  for (int64_t i = 0; i < kExamples; ++i) signs.set(i, i % 2 ? 1.0 : -1.0);
  nn::Model scorer = nn::mlp(kInputs, 1, nn::MlpOptions{.hidden = {5}}, DType::f64);
  scorer.initialize(9);
  nn::ModelObjective f(scorer, nn::Loss::hinge, pr.x, signs);
  try {
    fisher_operator(f, scorer.parameters());
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no Fisher matrix"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(gauss_newton_operator(f, scorer.parameters()));
}

TEST(CurvatureMatrices, EmpiricalFisherOfAnMlpEqualsTheOuterProductsOfPerExampleGradients) {
  Problem pr = classification({6}, 10);
  nn::ModelObjective f(pr.model, nn::Loss::softmax_cross_entropy, pr.x, pr.y);
  // Rows of the Jacobian of the per-example losses are the g_i, by a path of their own.
  const Function losses = [&](const VarList& params) {
    nn::ForwardContext ctx;
    return nn::per_example_loss(nn::Loss::softmax_cross_entropy, pr.model.forward(Var(pr.x), params, ctx), pr.y);
  };
  const Eigen::MatrixXd g = to_eigen(jacobian(losses, pr.model.parameter_views(pr.model.parameters())));
  const Eigen::MatrixXd expected = g.transpose() * g / double(kExamples);
  const size_t cap = 4 * size_t(pr.model.num_parameters()) * sizeof(double);  // 4 of 13 gradients at once
  GradientCovarianceOperator op = empirical_fisher_operator(f, pr.model.parameters(), {}, cap);
  EXPECT_LE(op.buffer_bytes(), cap);
  EXPECT_LT(max_abs(to_eigen(dense_matrix(op)) - expected), 1e-10 * max_abs(expected));
}

TEST(CurvatureMatrices, LayerBlocksTileTheParametersAndRestrictOperatorsToDenseSubmatrices) {
  Problem pr = classification({6, 5}, 11);
  nn::ModelObjective f(pr.model, nn::Loss::softmax_cross_entropy, pr.x, pr.y);
  const std::vector<ParameterBlock> blocks = layer_blocks(pr.model);
  ASSERT_EQ(blocks.size(), 3u);  // three Linear layers; activations have no parameters
  int64_t next = 0;
  for (const auto& b : blocks) {
    EXPECT_EQ(b.begin, next);
    next = b.end;
  }
  EXPECT_EQ(next, pr.model.num_parameters());
  EXPECT_EQ(blocks[0].size(), kInputs * 6 + 6);

  HessianOperator h = hessian_operator(f, pr.model.parameters());
  GaussNewtonOperator g = gauss_newton_operator(f, pr.model.parameters());
  const Eigen::MatrixXd dense_h = to_eigen(dense_matrix(h)), dense_g = to_eigen(dense_matrix(g));
  const ParameterBlock middle = find_block(pr.model, "2");
  EXPECT_EQ(middle.begin, blocks[1].begin);
  EXPECT_EQ(middle.end, blocks[1].end);
  for (auto [op, dense] : {std::pair<LinearOperator*, const Eigen::MatrixXd*>{&h, &dense_h}, {&g, &dense_g}}) {
    BlockOperator block = block_operator(*op, middle.begin, middle.end, middle.name);
    const Eigen::MatrixXd sub = dense->block(middle.begin, middle.begin, middle.size(), middle.size());
    EXPECT_LT(max_abs(to_eigen(dense_matrix(block)) - sub), 1e-10 * max_abs(sub)) << block.name();
  }
  const ParameterBlock bias = find_block(pr.model, "4.bias");
  EXPECT_EQ(bias.size(), kClasses);
  EXPECT_EQ(bias.end, pr.model.num_parameters());
  try {
    find_block(pr.model, "1");  // the tanh after layer 0 has no parameters
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("choose from 0, 2, 4"), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(CurvatureMatrices, GaussNewtonOfACnnThroughItsOutputMapEqualsDenseJtHJ) {
  // A convolutional model, seen only through core's OutputMap: G v streamed over a subset in
  // chunks against (1/n) Σ_i J_iᵀ (diag(p_i) − p_i p_iᵀ) J_i with J from autodiff::jacobian.
  std::vector<nn::LayerPtr> layers;
  layers.push_back(std::make_unique<nn::Conv2d>(2, 3, nn::Conv2d::Options{.padding = 1}));
  layers.push_back(std::make_unique<nn::ActivationLayer>(nn::Activation::tanh));
  layers.push_back(std::make_unique<nn::Pool2d>(nn::Pool2d::Kind::max, 2));
  layers.push_back(std::make_unique<nn::Flatten>());
  layers.push_back(std::make_unique<nn::Linear>(kClasses));
  nn::Model model(Shape{1, 4, 4}, std::move(layers), DType::f64);
  model.initialize(12);
  Rng rng(13);
  const Tensor x = rng.normal_tensor({9, 1, 4, 4}, DType::f64);
  Tensor y = Tensor::empty({9}, DType::i64);
  for (int64_t i = 0; i < 9; ++i) y.set(i, double(rng.below(kClasses)));
  const std::vector<int64_t> subset{8, 0, 3, 5, 2};
  Tensor xs = Tensor::empty({5, 1, 4, 4}, DType::f64);
  gather_rows(x, subset, xs);
  nn::ModelOutputMap map(model, nn::Loss::softmax_cross_entropy);
  GaussNewtonOperator g = gauss_newton_operator(map, x, y, model.parameters(), subset, 2);
  const Eigen::MatrixXd expected = dense_cross_entropy_gauss_newton(model, xs);
  const Eigen::MatrixXd dense = to_eigen(dense_matrix(g));
  EXPECT_LT(max_abs(dense - expected), 1e-10 * max_abs(expected));
  // The ModelObjective overload is the same operator.
  nn::ModelObjective f(model, nn::Loss::softmax_cross_entropy, x, y);
  GaussNewtonOperator g2 = gauss_newton_operator(f, model.parameters(), subset, 3);
  EXPECT_LT(max_abs(to_eigen(dense_matrix(g2)) - expected), 1e-10 * max_abs(expected));
  // Blocks come from the layout alone: the conv layer and the linear layer.
  const std::vector<ParameterBlock> blocks = layer_blocks(model.layout());
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[1].end, model.num_parameters());
  EXPECT_EQ(find_block(model.layout(), "4").begin, blocks[1].begin);
  EXPECT_THROW(find_block(model.layout(), "1"), InputError);
}
