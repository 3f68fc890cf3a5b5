// Empirical NTK Θ = J Jᵀ: the structured path (per-layer activations and signals) against
// the generic one (per-example Jacobian rows), both against finite-difference Jacobians,
// the trace against the full blocks, float32 against float64, a CNN through the generic
// path, and a wide NTK-parameterized MLP against the infinite-width kernel (Arora §9.4).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/nn/output_map.hpp"
#include "descent/probe/empirical_ntk.hpp"
#include "descent/probe/kernels.hpp"

using namespace descent;
using namespace descent::probe;

namespace {

double max_abs(const Tensor& a) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.at(i)));
  return m;
}

double max_abs_difference(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.numel(), b.numel());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.at(i) - b.at(i)));
  return m;
}

// J [n·C, P] by central differences of predict, then Θ_full [n1·C, n2·C] = J1 J2ᵀ.
Tensor finite_difference_jacobian(nn::Model& model, const Tensor& X) {
  const int64_t P = model.num_parameters();
  const int64_t rows = X.dim(0) * model.output_shape().numel();
  Tensor J = Tensor::zeros({rows, P}, DType::f64);
  Tensor& theta = model.parameters();
  const double h = 1e-6;
  for (int64_t p = 0; p < P; ++p) {
    const double t = theta.at(p);
    theta.set(p, t + h);
    const Tensor plus = model.predict(X);
    theta.set(p, t - h);
    const Tensor minus = model.predict(X);
    theta.set(p, t);
    for (int64_t r = 0; r < rows; ++r) J.set(r * P + p, (plus.at(r) - minus.at(r)) / (2 * h));
  }
  return J;
}

nn::Model small_mlp(nn::Parameterization p, nn::Activation a, uint64_t seed) {
  nn::Model m = nn::mlp(5, 3, nn::MlpOptions{.hidden = {7, 6}, .activation = a, .parameterization = p, .bias_std = 0.3},
                        DType::f64);
  m.initialize(seed);
  return m;
}

}  // namespace

TEST(EmpiricalNtk, GenericPathIsJacobianTimesJacobianTransposeByFiniteDifferences) {
  nn::Model m = small_mlp(nn::Parameterization::standard, nn::Activation::tanh, 3);
  Rng rng(1);
  const Tensor X1 = rng.normal_tensor({4, 5}, DType::f64), X2 = rng.normal_tensor({3, 5}, DType::f64);
  const Tensor expected = matmul(finite_difference_jacobian(m, X1), finite_difference_jacobian(m, X2), false, true);
  const Tensor full = empirical_ntk(m, X1, X2,
                                    {.outputs = NtkOutputs::full, .method = NtkMethod::generic, .dtype = DType::f64});
  ASSERT_EQ(full.shape(), (Shape{4, 3, 3, 3}));
  EXPECT_LT(max_abs_difference(full, expected), 1e-6 * max_abs(expected));
}

TEST(EmpiricalNtk, StructuredPathEqualsGenericPath) {
  // Every parameterization (s_w, s_b differ), biases on, several chunks, Gram and cross kernel.
  Rng rng(2);
  const Tensor X1 = rng.normal_tensor({7, 5}, DType::f64), X2 = rng.normal_tensor({5, 5}, DType::f64);
  for (auto p : {nn::Parameterization::standard, nn::Parameterization::ntk, nn::Parameterization::mean_field})
    for (auto outputs : {NtkOutputs::trace, NtkOutputs::full}) {
      nn::Model m = small_mlp(p, nn::Activation::tanh, 4);
      ASSERT_TRUE(has_linear_structure(m));
      EmpiricalNtkOptions o{.outputs = outputs, .method = NtkMethod::generic, .dtype = DType::f64, .chunk_size = 3};
      const Tensor generic_gram = empirical_ntk(m, X1, o), generic_cross = empirical_ntk(m, X1, X2, o);
      o.method = NtkMethod::structured;
      const Tensor gram = empirical_ntk(m, X1, o), cross = empirical_ntk(m, X1, X2, o);
      EXPECT_LT(max_abs_difference(gram, generic_gram), 1e-12 * max_abs(generic_gram));
      EXPECT_LT(max_abs_difference(cross, generic_cross), 1e-12 * max_abs(generic_cross));
      EXPECT_GT(max_abs(gram), 0.1);
    }
}

TEST(EmpiricalNtk, TraceIsTheSumOfTheDiagonalBlocksAndTheGramIsSymmetricPsd) {
  nn::Model m = small_mlp(nn::Parameterization::ntk, nn::Activation::relu, 5);
  Rng rng(3);
  const Tensor X = rng.normal_tensor({6, 5}, DType::f64);
  const Tensor full = empirical_ntk(m, X, {.outputs = NtkOutputs::full, .dtype = DType::f64, .chunk_size = 4});
  const Tensor trace = empirical_ntk(m, X, {.dtype = DType::f64, .chunk_size = 4});
  const Tensor cross = empirical_ntk(m, X, X, {.dtype = DType::f64, .chunk_size = 4});
  const int64_t n = 6, C = 3;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t c = 0; c < C; ++c) s += full.at(((i * C + c) * n + j) * C + c);
      EXPECT_NEAR(trace.at(i * n + j), s, 1e-12 * std::abs(s) + 1e-14);
      EXPECT_DOUBLE_EQ(trace.at(i * n + j), trace.at(j * n + i));
    }
  EXPECT_LT(max_abs_difference(trace, cross), 1e-12 * max_abs(trace));
  // PSD: J Jᵀ has no negative eigenvalue; a random quadratic form must be ≥ 0.
  for (int k = 0; k < 5; ++k) {
    const Tensor v = rng.normal_tensor({n, 1}, DType::f64);
    EXPECT_GE(matmul(matmul(v, trace, true, false), v).item(), -1e-10);
  }
}

TEST(EmpiricalNtk, Float32MatchesFloat64OnAFloat32Model) {
  nn::Model m = nn::mlp(20, 4, nn::MlpOptions{.hidden = {32, 32}}, DType::f32);
  m.initialize(7);
  Rng rng(4);
  const Tensor X = rng.normal_tensor({10, 20}, DType::f32);
  const Tensor k32 = empirical_ntk(m, X);
  const Tensor k64 = empirical_ntk(m, X, {.dtype = DType::f64});
  EXPECT_EQ(k32.dtype(), DType::f32);
  EXPECT_EQ(k64.dtype(), DType::f64);
  EXPECT_LT(max_abs_difference(k32, k64), 1e-5 * max_abs(k64));
}

TEST(EmpiricalNtk, ConvolutionalModelGoesThroughTheGenericPath) {
  std::vector<nn::LayerPtr> layers;
  layers.push_back(std::make_unique<nn::Conv2d>(2, 3, nn::Conv2d::Options{.padding = 1}));
  layers.push_back(std::make_unique<nn::ActivationLayer>(nn::Activation::tanh));
  layers.push_back(std::make_unique<nn::Flatten>());
  layers.push_back(std::make_unique<nn::Linear>(2));
  nn::Model m(Shape{1, 4, 4}, std::move(layers), DType::f64);
  m.initialize(9);
  EXPECT_FALSE(has_linear_structure(m));
  Rng rng(5);
  const Tensor X = rng.normal_tensor({3, 1, 4, 4}, DType::f64);
  const Tensor J = finite_difference_jacobian(m, X);
  const Tensor expected = matmul(J, J, false, true);
  const Tensor full = empirical_ntk(m, X, {.outputs = NtkOutputs::full, .dtype = DType::f64, .chunk_size = 2});
  EXPECT_LT(max_abs_difference(full, expected), 1e-6 * max_abs(expected));
  EXPECT_THROW(empirical_ntk(m, X, {.method = NtkMethod::structured}), InputError);
}

TEST(EmpiricalNtk, WideNtkParameterizedNetworkApproachesTheInfiniteWidthKernel) {
  // Arora §9.4 / Jacot et al. Thm. 1: in the NTK parameterization Θ → Θ^∞ as width → ∞,
  // with fluctuations O(width^{-1/2}); kernels.hpp gives Θ^∞ for the same network.
  Rng rng(6);
  const Tensor X = rng.normal_tensor({8, 6}, DType::f64);
  const KernelSpec spec{.depth = 1, .weight_variance = 2.0, .bias_variance = 0.0};
  const Tensor limit = ntk_kernel(spec, X);
  double previous = 1e9;
  for (int64_t width : {256, 16384}) {
    nn::Model m = nn::mlp(6, 1,
                          nn::MlpOptions{.hidden = {width}, .parameterization = nn::Parameterization::ntk,
                                         .weight_std = std::sqrt(2.0)},
                          DType::f64);
    m.initialize(11);
    const Tensor k = empirical_ntk(m, X, {.dtype = DType::f64});
    const double relative = max_abs_difference(k, limit) / max_abs(limit);
    std::printf("width %lld: max |Θ - Θ∞| / max |Θ∞| = %.4f\n", static_cast<long long>(width), relative);
    EXPECT_LT(relative, previous / 3) << "width " << width;  // 64× wider: ~8× closer
    previous = relative;
    if (width == 16384) EXPECT_LT(relative, 0.03);
  }
}

TEST(EmpiricalNtk, ChunkSizeFollowsTheBudgetAndBadInputsAreRefused) {
  nn::Model m = nn::mlp(784, 10, nn::MlpOptions{}, DType::f32);
  // Structured features of the 784-256-256-10 MLP: ~8,000 numbers per example.
  const int64_t structured = empirical_ntk_chunk_size(m, {});
  const int64_t generic = empirical_ntk_chunk_size(m, {.method = NtkMethod::generic});
  EXPECT_GT(structured, 1000);
  EXPECT_LT(generic, 30);  // 10 Jacobian rows of 269,322 floats each
  EXPECT_GE(generic, 1);
  EXPECT_THROW(empirical_ntk(m, Tensor::zeros({3, 5})), ShapeError);
  EXPECT_THROW(empirical_ntk(m, Tensor::zeros({3, 784}), {.chunk_size = -1}), InputError);
}

TEST(EmpiricalNtk, AnyOutputMapAtAnyThetaIsJacobianTimesJacobianTranspose) {
  // The OutputMap overload at a θ that is not the model's: a CNN (generic path) and an MLP
  // (structured path), each against J Jᵀ by finite differences at that θ.
  for (bool cnn : {true, false}) {
    std::vector<nn::LayerPtr> layers;
    if (cnn) {
      layers.push_back(std::make_unique<nn::Conv2d>(2, 3, nn::Conv2d::Options{.padding = 1}));
      layers.push_back(std::make_unique<nn::ActivationLayer>(nn::Activation::tanh));
      layers.push_back(std::make_unique<nn::Flatten>());
    } else {
      layers.push_back(std::make_unique<nn::Flatten>());
      layers.push_back(std::make_unique<nn::Linear>(5));
      layers.push_back(std::make_unique<nn::ActivationLayer>(nn::Activation::tanh));
    }
    layers.push_back(std::make_unique<nn::Linear>(2));
    nn::Model m(Shape{1, 4, 4}, std::move(layers), DType::f64);
    m.initialize(4);
    nn::ModelOutputMap map(m);
    EXPECT_EQ(map.dense_layers_cover_parameters(), !cnn);
    Rng rng(7);
    const Tensor theta = add(m.parameters(), rng.normal_tensor({m.num_parameters()}, DType::f64, 0.0, 0.1));
    const Tensor X = rng.normal_tensor({3, 1, 4, 4}, DType::f64);
    const Tensor K = empirical_ntk(map, theta, X, {.outputs = NtkOutputs::full, .dtype = DType::f64});
    Tensor& own = m.parameters();
    own = theta.clone();  // the finite-difference reference reads the model's own θ
    const Tensor J = finite_difference_jacobian(m, X);
    const Tensor expected = matmul(J, J, false, true);
    EXPECT_LT(max_abs_difference(K, expected), 1e-6 * max_abs(expected)) << (cnn ? "CNN" : "MLP");
  }
}
