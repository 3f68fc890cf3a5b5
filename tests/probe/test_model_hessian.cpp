// ModelHessianOperator: the cached Hessian of an MLP's mean loss gives the same products as
// the objective's own HVP (hessian_operator), repeatedly and for any cache budget, and the same
// top eigenpairs by Lanczos; other models (a CNN) go through the objective.
#include <gtest/gtest.h>

#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/nn/model.hpp"
#include "descent/nn/objective.hpp"
#include "descent/probe/curvature.hpp"
#include "descent/probe/model_hessian.hpp"

namespace descent::probe {
namespace {

Tensor class_labels(int64_t n, int64_t classes) {
  Tensor y = Tensor::zeros({n}, DType::i64);
  for (int64_t i = 0; i < n; ++i) y.set(i, double((i * 5) % classes));
  return y;
}

TEST(ModelHessianOperator, MlpProductsAndEigenpairsEqualTheObjectives) {
  nn::Model m = nn::mlp(8, 4, nn::MlpOptions{.hidden = {12, 10}}, DType::f64);
  m.initialize(2);
  nn::ModelObjective f(m, nn::Loss::softmax_cross_entropy, Rng(1).normal_tensor({40, 8}, DType::f64),
                       class_labels(40, 4), 16);
  HessianOperator reference = hessian_operator(f, m.parameters());
  for (size_t budget : {size_t(0), size_t(1) << 20}) {
    ModelHessianOperator h(f, m.parameters(), budget, 16);
    const int64_t p = h.dimension();
    Tensor a = Tensor::empty({p}, DType::f64), b = a.clone();
    for (uint64_t seed : {3, 4}) {
      const Tensor v = Rng(seed).normal_tensor({p}, DType::f64);
      h.apply(v, a);
      reference.apply(v, b);
      EXPECT_LT(max_relative_difference(a, b, 1e-12), 1e-12);
    }
    EXPECT_EQ(h.cached_bytes() > 0, budget > 0);
    LanczosOptions o;
    o.num_eigenpairs = 3;
    o.tolerance = 1e-10;
    const EigenResult fast = lanczos_eigenpairs(h, o), slow = lanczos_eigenpairs(reference, o);
    ASSERT_TRUE(fast.converged && slow.converged);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(fast.pairs[i].value, slow.pairs[i].value, 1e-9 * slow.pairs[0].value);
  }
}

TEST(ModelHessianOperator, OtherModelsUseTheObjectivesProduct) {
  // BatchNorm is outside both R-propagation families.
  nn::Model m = nn::small_cnn({1, 8, 8}, 3, nn::CnnOptions{.channels1 = 2, .channels2 = 2, .hidden = 4, .batch_norm = true},
                              DType::f64);
  m.initialize(1);
  nn::ModelObjective f(m, nn::Loss::softmax_cross_entropy, Rng(2).normal_tensor({6, 1, 8, 8}, DType::f64),
                       class_labels(6, 3));
  ModelHessianOperator h(f, m.parameters());
  HessianOperator reference = hessian_operator(f, m.parameters());
  const Tensor v = Rng(5).normal_tensor({h.dimension()}, DType::f64);
  Tensor a = Tensor::empty({h.dimension()}, DType::f64), b = a.clone();
  h.apply(v, a);
  reference.apply(v, b);
  EXPECT_EQ(max_relative_difference(a, b, 1e-300), 0.0);
  EXPECT_EQ(h.cached_bytes(), 0u);
}

TEST(ModelHessianOperator, CnnsKeepTheirPrimalStateBetweenProducts) {
  // nn::ConvChainHessian: the cached products equal the objective's uncached one bit for bit.
  nn::Model m = nn::small_cnn({1, 8, 8}, 3, nn::CnnOptions{.channels1 = 2, .channels2 = 2, .hidden = 4}, DType::f64);
  m.initialize(1);
  nn::ModelObjective f(m, nn::Loss::softmax_cross_entropy, Rng(2).normal_tensor({6, 1, 8, 8}, DType::f64),
                       class_labels(6, 3));
  ModelHessianOperator h(f, m.parameters());
  HessianOperator reference = hessian_operator(f, m.parameters());
  for (uint64_t seed : {5, 6}) {
    const Tensor v = Rng(seed).normal_tensor({h.dimension()}, DType::f64);
    Tensor a = Tensor::empty({h.dimension()}, DType::f64), b = a.clone();
    h.apply(v, a);
    reference.apply(v, b);
    EXPECT_EQ(max_relative_difference(a, b, 1e-300), 0.0);
  }
  EXPECT_GT(h.cached_bytes(), 0u);
}

}  // namespace
}  // namespace descent::probe
