// nn::ConvChainHessian: H v of CNNs by R-propagation through Conv2d (stride, padding,
// dilation, groups, NTK scaling, with and without bias), activations (σ'' ≠ 0 included), max
// and average pooling, Flatten, Dropout and the Linear chain must equal reverse-over-reverse
// autodiff of the whole mean loss, in float64 and (through oneDNN) float32, with chunks that
// do not divide n; cached products equal uncached ones bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/nn/conv_chain_hessian.hpp"
#include "descent/nn/dense_chain_hessian.hpp"
#include "descent/nn/model.hpp"
#include "descent/nn/objective.hpp"

using namespace descent;
using namespace descent::nn;

namespace {

// H v of the mean loss over all of x by reverse-over-reverse autodiff (no chunks, no R-ops),
// in float64 whatever the model's dtype (a float64 copy of the model evaluates it).
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

double relative_error(const Tensor& a, const Tensor& b) {
  double worst = 0.0, scale = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    worst = std::max(worst, std::abs(a.at(i) - b.at(i)));
    scale = std::max(scale, std::abs(b.at(i)));
  }
  return worst / scale;
}

Tensor labels(int64_t n, int64_t classes) {
  Tensor y = Tensor::zeros({n}, DType::i64);
  for (int64_t i = 0; i < n; ++i) y.set(i, double((i * 7) % classes));
  return y;
}

// conv(c1) - act - pool - conv(c2) - act - [pool] - flatten - [dropout] - linear - act - linear.
Model cnn(const Conv2d::Options& first, const Conv2d::Options& second, Activation a, Pool2d::Kind pool,
          DType dtype, bool second_pool = true, int64_t channels = 2) {
  std::vector<LayerPtr> layers;
  layers.push_back(std::make_unique<Conv2d>(4, 3, first));
  layers.push_back(std::make_unique<ActivationLayer>(a));
  layers.push_back(std::make_unique<Pool2d>(pool, 2));
  layers.push_back(std::make_unique<Conv2d>(4, 3, second));
  layers.push_back(std::make_unique<ActivationLayer>(a));
  if (second_pool) layers.push_back(std::make_unique<Pool2d>(pool, 2));
  layers.push_back(std::make_unique<Flatten>());
  layers.push_back(std::make_unique<Dropout>(0.2));
  layers.push_back(std::make_unique<Linear>(5));
  layers.push_back(std::make_unique<ActivationLayer>(a));
  layers.push_back(std::make_unique<Linear>(3, Linear::Options{.role = LayerRole::output}));
  return Model(Shape{channels, 12, 12}, std::move(layers), dtype);
}

void expect_matches_reference(Model& m, Loss loss, const Tensor& x, const Tensor& y, double tol) {
  ASSERT_TRUE(ConvChainHessian::supports(m)) << m.describe();
  ModelObjective f(m, loss, x, y, /*chunk_size=*/3);
  const Tensor v = Rng(5).normal_tensor({m.num_parameters()}, m.dtype());
  Tensor hv = Tensor::empty({m.num_parameters()}, m.dtype());
  f.hessian_vector_product(m.parameters(), v, hv);
  const Tensor expected = reference_hvp(m, loss, x, y, v);
  ASSERT_GT(norm(expected), 1e-6) << m.describe();  // not vacuous
  EXPECT_LE(relative_error(hv, expected), tol) << m.describe() << " loss " << loss_name(loss);
}

}  // namespace

TEST(ConvChainHessian, EqualsReverseOverReverseInFloat64) {
  Rng rng(3);
  const Tensor x = rng.normal_tensor({7, 2, 12, 12}, DType::f64);
  const Tensor targets = rng.normal_tensor({7, 3}, DType::f64);
  const Conv2d::Options plain{.stride = 1, .padding = 1};
  const Conv2d::Options ntk{.stride = 1, .padding = 1, .bias = false, .parameterization = Parameterization::ntk};
  const Conv2d::Options dilated{.stride = 1, .padding = 2, .dilation = 2, .groups = 2};
  const Conv2d::Options strided{.stride = 2, .padding = 1, .groups = 4};
  for (Activation a : {Activation::relu, Activation::tanh, Activation::softplus})
    for (Pool2d::Kind pool : {Pool2d::Kind::max, Pool2d::Kind::average}) {
      Model m = cnn(plain, plain, a, pool, DType::f64);
      m.initialize(11);
      expect_matches_reference(m, Loss::softmax_cross_entropy, x, labels(7, 3), 1e-11);
      expect_matches_reference(m, Loss::mean_squared_error, x, targets, 1e-11);
    }
  for (const auto& [first, second, second_pool] :
       {std::tuple{ntk, dilated, true}, std::tuple{dilated, strided, false}}) {
    Model m = cnn(first, second, Activation::tanh, Pool2d::Kind::max, DType::f64, second_pool);
    m.initialize(12);
    expect_matches_reference(m, Loss::softmax_cross_entropy, x, labels(7, 3), 1e-11);
  }
}

TEST(ConvChainHessian, Float32ThroughOneDnnMatchesFloat64) {
  Rng rng(4);
  const Tensor x64 = rng.normal_tensor({9, 1, 28, 28}, DType::f64);
  Model m64 = small_cnn({1, 28, 28}, 10, CnnOptions{.channels1 = 4, .channels2 = 8, .hidden = 16}, DType::f64);
  Model m32 = small_cnn({1, 28, 28}, 10, CnnOptions{.channels1 = 4, .channels2 = 8, .hidden = 16}, DType::f32);
  m64.initialize(6);
  m32.parameters().copy_from(m64.parameters().astype(DType::f32));
  const Tensor v64 = Rng(5).normal_tensor({m64.num_parameters()}, DType::f64);
  ModelObjective f32(m32, Loss::softmax_cross_entropy, x64.astype(DType::f32), labels(9, 10), 4);
  Tensor hv32 = Tensor::empty({m32.num_parameters()}, DType::f32);
  f32.hessian_vector_product(m32.parameters(), v64.astype(DType::f32), hv32);
  const Tensor expected = reference_hvp(m64, Loss::softmax_cross_entropy, x64, labels(9, 10), v64);
  EXPECT_LE(relative_error(hv32.astype(DType::f64), expected), 1e-4);
}

TEST(ConvChainHessian, CachedProductsEqualUncachedOnes) {
  Rng rng(6);
  const Tensor x = rng.normal_tensor({7, 2, 12, 12}, DType::f64);
  Model m = cnn(Conv2d::Options{.padding = 1}, Conv2d::Options{.padding = 1}, Activation::tanh, Pool2d::Kind::max,
                DType::f64);
  m.initialize(3);
  ConvChainHessian all(m, Loss::softmax_cross_entropy, x, labels(7, 3), m.parameters(), 3, size_t(1) << 30);
  ConvChainHessian none(m, Loss::softmax_cross_entropy, x, labels(7, 3), m.parameters(), 3, 0);
  for (uint64_t seed : {1, 2}) {
    const Tensor v = Rng(seed).normal_tensor({m.num_parameters()}, DType::f64);
    Tensor h1 = Tensor::empty({m.num_parameters()}, DType::f64), h2 = h1.clone(), h3 = h1.clone();
    all.apply(v, h1);  // first product fills the cache, the second reads it
    all.apply(v, h2);
    none.apply(v, h3);
    EXPECT_EQ(max_relative_difference(h1, h2, 1e-300), 0.0);
    EXPECT_EQ(max_relative_difference(h1, h3, 1e-300), 0.0);
  }
  EXPECT_EQ(all.num_chunks(), 3);
  EXPECT_EQ(all.cached_chunks(), 3);
  EXPECT_GT(all.cached_bytes(), 0u);
  EXPECT_EQ(none.cached_chunks(), 0);
}

TEST(ConvChainHessian, RefusesOtherModels) {
  Model m = mlp(3, 2, MlpOptions{.hidden = {4}}, DType::f64);
  EXPECT_FALSE(ConvChainHessian::supports(m));
  Model bn = small_cnn({1, 8, 8}, 2, CnnOptions{.channels1 = 2, .channels2 = 2, .hidden = 4, .batch_norm = true},
                       DType::f64);
  EXPECT_FALSE(ConvChainHessian::supports(bn));
  EXPECT_THROW(ConvChainHessian(m, Loss::softmax_cross_entropy, Tensor::zeros({2, 1, 3, 1}, DType::f64),
                                labels(2, 2), m.parameters()),
               InputError);
  Model c = small_cnn({1, 8, 8}, 2, CnnOptions{.channels1 = 2, .channels2 = 2, .hidden = 4}, DType::f64);
  ConvChainHessian h(c, Loss::softmax_cross_entropy, Tensor::zeros({2, 1, 8, 8}, DType::f64), labels(2, 2),
                     c.parameters());
  Tensor wrong = Tensor::zeros({c.num_parameters() + 1}, DType::f64), hv = Tensor::zeros({c.num_parameters()}, DType::f64);
  EXPECT_THROW(h.apply(wrong, hv), ShapeError);
}
