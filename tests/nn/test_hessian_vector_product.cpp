// ModelObjective::hessian_vector_product: the R-propagation path for Linear/activation chains
// (src/nn/objective.cpp) must equal reverse-over-reverse autodiff of the whole mean loss for
// every activation (σ'' ≠ 0 included), parameterization, bias choice and loss, with chunks that
// do not divide n; models outside that family take the generic path.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/nn/dense_chain_hessian.hpp"
#include "descent/nn/losses.hpp"
#include "descent/nn/model.hpp"
#include "descent/nn/objective.hpp"

using namespace descent;
using namespace descent::nn;

namespace {

// H v of the mean loss over all of x by reverse-over-reverse autodiff (no chunks, no R-ops).
Tensor reference_hvp(Model& m, Loss loss, const Tensor& x, const Tensor& y, const Tensor& v) {
  auto f = [&](const VarList& params) {
    ForwardContext ctx{false, nullptr};
    return mean_loss(loss, m.forward(Var(x), params, ctx), y);
  };
  const std::vector<Tensor> parts = hessian_vector_product(f, m.parameter_views(m.parameters()),
                                                           m.parameter_views(v), HvpMode::reverse_over_reverse);
  Tensor flat = Tensor::empty({m.num_parameters()}, m.dtype());
  const std::vector<Tensor> dst = m.parameter_views(flat);
  for (size_t i = 0; i < parts.size(); ++i) {
    Tensor d = dst[i];
    d.copy_from(parts[i]);
  }
  return flat;
}

// Largest |a − b| relative to max|b|.
double relative_error(const Tensor& a, const Tensor& b) {
  double worst = 0.0, scale = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    worst = std::max(worst, std::abs(a.at(i) - b.at(i)));
    scale = std::max(scale, std::abs(b.at(i)));
  }
  return worst / scale;
}

void expect_matches_reference(Model& m, Loss loss, const Tensor& x, const Tensor& y, double tol) {
  ModelObjective f(m, loss, x, y, /*chunk_size=*/3);
  const Tensor v = Rng(5).normal_tensor({m.num_parameters()}, m.dtype());
  Tensor hv = Tensor::empty({m.num_parameters()}, m.dtype());
  f.hessian_vector_product(m.parameters(), v, hv);
  const Tensor expected = reference_hvp(m, loss, x, y, v);
  ASSERT_GT(norm(expected), 1e-6) << m.describe();  // not vacuous
  EXPECT_LE(relative_error(hv, expected), tol) << m.describe() << " loss " << loss_name(loss);
}

Tensor labels(int64_t n, int64_t classes) {
  Tensor y = Tensor::zeros({n}, DType::i64);
  for (int64_t i = 0; i < n; ++i) y.set(i, double((i * 7) % classes));
  return y;
}

}  // namespace

TEST(HessianVectorProduct, LinearChainEqualsReverseOverReverse) {
  Rng rng(3);
  const Tensor x = rng.normal_tensor({10, 6}, DType::f64);
  const Tensor targets = rng.normal_tensor({10, 4}, DType::f64);
  for (Activation a : {Activation::relu, Activation::tanh, Activation::sigmoid, Activation::gelu,
                       Activation::softplus, Activation::identity})
    for (auto p : {Parameterization::standard, Parameterization::ntk, Parameterization::mean_field})
      for (bool bias : {true, false}) {
        Model m = mlp(6, 4,
                      MlpOptions{.hidden = {5, 7}, .activation = a, .parameterization = p, .bias_std = 0.3,
                                 .bias = bias},
                      DType::f64);
        m.initialize(11);
        expect_matches_reference(m, Loss::softmax_cross_entropy, x, labels(10, 4), 1e-12);
        expect_matches_reference(m, Loss::mean_squared_error, x, targets, 1e-12);
      }
}

TEST(HessianVectorProduct, ScalarOutputLossesAndFloat32) {
  Rng rng(4);
  Model m = mlp(5, 1, MlpOptions{.hidden = {8}, .activation = Activation::tanh}, DType::f64);
  m.initialize(2);
  Tensor signs = Tensor::empty({10}, DType::f64);
  for (int64_t i = 0; i < 10; ++i) signs.set(i, i % 3 == 0 ? 1.0 : -1.0);
  expect_matches_reference(m, Loss::binary_logistic, rng.normal_tensor({10, 5}, DType::f64), signs, 1e-12);

  Model m32 = mlp(6, 3, MlpOptions{.hidden = {16}}, DType::f32);
  m32.initialize(5);
  expect_matches_reference(m32, Loss::softmax_cross_entropy, rng.normal_tensor({10, 6}, DType::f32), labels(10, 3),
                           1e-5);
}

TEST(HessianVectorProduct, OtherModelsTakeTheGenericPath) {
  // Dropout (the identity in evaluation) is outside the Linear/activation family.
  Rng rng(6);
  Model m = mlp(6, 3, MlpOptions{.hidden = {5}, .activation = Activation::tanh, .dropout = 0.5}, DType::f64);
  m.initialize(1);
  expect_matches_reference(m, Loss::softmax_cross_entropy, rng.normal_tensor({10, 6}, DType::f64), labels(10, 3),
                           1e-12);
}

TEST(DenseChainHessian, CachedProductsEqualUncachedOnesUnderAnyBudget) {
  Rng rng(8);
  const Tensor x = rng.normal_tensor({11, 6}, DType::f64);
  for (Activation a : {Activation::relu, Activation::tanh}) {
    Model m = mlp(6, 4, MlpOptions{.hidden = {5, 7}, .activation = a}, DType::f64);
    m.initialize(3);
    ASSERT_TRUE(DenseChainHessian::supports(m));
    const Tensor y = labels(11, 4);
    DenseChainHessian plain(m, Loss::softmax_cross_entropy, x, y, m.parameters(), 4);
    DenseChainHessian all(m, Loss::softmax_cross_entropy, x, y, m.parameters(), 4, size_t(1) << 30);
    DenseChainHessian some(m, Loss::softmax_cross_entropy, x, y, m.parameters(), 4, 1);  // too small for a chunk
    const int64_t p = m.num_parameters();
    Tensor h1 = Tensor::empty({p}, DType::f64), h2 = h1.clone(), h3 = h1.clone();
    for (uint64_t seed : {1, 2}) {  // the second product reads the cache the first one filled
      const Tensor v = Rng(seed).normal_tensor({p}, DType::f64);
      plain.apply(v, h1);
      all.apply(v, h2);
      some.apply(v, h3);
      EXPECT_EQ(max_relative_difference(h1, h2, 1e-300), 0.0);
      EXPECT_EQ(max_relative_difference(h1, h3, 1e-300), 0.0);
      // The same product as the objective's, which uses no cache.
      ModelObjective f(m, Loss::softmax_cross_entropy, x, y, 4);
      Tensor h4 = h1.clone();
      f.hessian_vector_product(m.parameters(), v, h4);
      EXPECT_EQ(max_relative_difference(h1, h4, 1e-300), 0.0);
    }
    EXPECT_EQ(all.num_chunks(), 3);
    EXPECT_EQ(all.cached_chunks(), 3);
    EXPECT_GT(all.cached_bytes(), 0u);
    EXPECT_EQ(some.cached_chunks(), 0);
    EXPECT_EQ(plain.cached_bytes(), 0u);
  }
}

TEST(DenseChainHessian, RefusesOtherModelsAndMismatchedVectors) {
  Model cnn = small_cnn({1, 28, 28}, 10, CnnOptions{.channels1 = 2, .channels2 = 2, .hidden = 4}, DType::f64);
  EXPECT_FALSE(DenseChainHessian::supports(cnn));
  EXPECT_THROW(DenseChainHessian(cnn, Loss::softmax_cross_entropy, Tensor::zeros({2, 784}, DType::f64), labels(2, 10),
                                 cnn.parameters()),
               InputError);
  Model m = mlp(3, 2, MlpOptions{.hidden = {4}}, DType::f64);
  DenseChainHessian h(m, Loss::softmax_cross_entropy, Tensor::zeros({2, 3}, DType::f64), labels(2, 2), m.parameters());
  Tensor wrong = Tensor::zeros({m.num_parameters() + 1}, DType::f64), hv = Tensor::zeros({m.num_parameters()}, DType::f64);
  EXPECT_THROW(h.apply(wrong, hv), ShapeError);
}

TEST(DenseChainHessian, LargeChunksAreSplitIntoRowBlocksWithTheSameProduct) {
  // Chunks are capped at 256 rows (cache-sized GEMMs): 600 rows asked as one chunk of 1,024 are
  // three, and the product still equals reverse-over-reverse autodiff over all rows, for ReLU
  // (σ' applied in place) and tanh (σ'' ≠ 0).
  Rng rng(9);
  const Tensor x = rng.normal_tensor({600, 6}, DType::f64);
  const Tensor y = labels(600, 4);
  for (Activation a : {Activation::relu, Activation::tanh}) {
    Model m = mlp(6, 4, MlpOptions{.hidden = {5, 7}, .activation = a, .bias_std = 0.3}, DType::f64);
    m.initialize(4);
    DenseChainHessian h(m, Loss::softmax_cross_entropy, x, y, m.parameters(), 1024, size_t(1) << 30);
    EXPECT_EQ(h.num_chunks(), 3);
    const Tensor v = Rng(2).normal_tensor({m.num_parameters()}, DType::f64);
    Tensor hv = Tensor::empty({m.num_parameters()}, DType::f64);
    for (int rep = 0; rep < 2; ++rep) {  // the second product reads the cached primal state
      h.apply(v, hv);
      EXPECT_LE(relative_error(hv, reference_hvp(m, Loss::softmax_cross_entropy, x, y, v)), 1e-12);
    }
  }
}
