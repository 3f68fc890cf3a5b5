// nn::ModelOutputMap, the core OutputMap of an nn model, on an MLP and a CNN (float64):
// J v against central finite differences of the outputs, Jᵀ u by the adjoint identity
// ⟨u, J v⟩ = ⟨Jᵀ u, v⟩, Jacobian rows against both, the softmax-CE loss gradient and output
// Hessian against their closed forms p − e_y and diag(p) − ppᵀ, and the dense layers' inputs
// and signals against the VJP (Σ_i s_w δ_i a_iᵀ is the weight block of Jᵀ c).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/nn/output_map.hpp"

using namespace descent;

namespace {

struct Case {
  const char* name;
  nn::Model model;
  Tensor x, y;
};

Case mlp_case() {
  Case c{"MLP", nn::mlp(5, 3, {.hidden = {6, 4}, .activation = nn::Activation::tanh, .bias_std = 0.2}, DType::f64),
         Tensor(), Tensor()};
  c.model.initialize(3);
  Rng rng(4);
  c.x = rng.normal_tensor({7, 5}, DType::f64);
  c.y = Tensor::from_vector(std::vector<int64_t>{0, 2, 1, 1, 0, 2, 2}, {7});
  return c;
}

Case cnn_case() {
  Case c{"CNN", nn::small_cnn({1, 8, 8}, 3, {.channels1 = 2, .channels2 = 3, .hidden = 5}, DType::f64), Tensor(),
         Tensor()};
  c.model.initialize(5);
  Rng rng(6);
  c.x = rng.normal_tensor({4, 1, 8, 8}, DType::f64);
  c.y = Tensor::from_vector(std::vector<int64_t>{1, 0, 2, 1}, {4});
  return c;
}

double dot_all(const Tensor& a, const Tensor& b) {
  double s = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) s += a.at(i) * b.at(i);
  return s;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  double m = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.at(i) - b.at(i)));
  return m;
}

}  // namespace

TEST(ModelOutputMap, JvpVjpAndJacobianAgreeWithFiniteDifferencesOnAnMlpAndACnn) {
  for (auto make : {mlp_case, cnn_case}) {
    Case c = make();
    SCOPED_TRACE(c.name);
    nn::ModelOutputMap map(c.model, nn::Loss::softmax_cross_entropy);
    const Tensor theta = c.model.parameters().clone();
    const int64_t P = map.dimension(), C = map.num_outputs(), b = c.x.dim(0);
    EXPECT_EQ(map.layout().size(), P);
    Rng rng(11);
    const Tensor v = rng.normal_tensor({P}, DType::f64), u = rng.normal_tensor({b, C}, DType::f64);
    const auto [z, jv] = map.jvp(theta, c.x, v);
    EXPECT_LT(max_abs_diff(z, map.outputs(theta, c.x)), 1e-12);
    // Central differences: (f(θ + εv) − f(θ − εv)) / 2ε, error O(ε²).
    const double eps = 1e-5;
    Tensor plus = theta.clone(), minus = theta.clone();
    axpy(plus, eps, v);
    axpy(minus, -eps, v);
    Tensor fd = sub(map.outputs(plus, c.x), map.outputs(minus, c.x));
    scale_inplace(fd, 0.5 / eps);
    EXPECT_LT(max_abs_diff(jv, fd), 1e-7 * (1.0 + max_abs_diff(fd, Tensor::zeros(fd.shape(), DType::f64))));
    // ⟨u, J v⟩ = ⟨Jᵀ u, v⟩.
    const Tensor jtu = map.vjp(theta, c.x, u);
    EXPECT_NEAR(dot_all(u, jv), dot_all(jtu, v), 1e-10 * (1.0 + std::abs(dot_all(u, jv))));
    // Jacobian rows [b, C, P]: J v and Jᵀ u again.
    const Tensor J = map.jacobian(theta, c.x);
    ASSERT_EQ(J.shape(), (Shape{b, C, P}));
    for (int64_t r = 0; r < b * C; ++r) {
      double row_v = 0.0;
      for (int64_t p = 0; p < P; ++p) row_v += J.at(r * P + p) * v.at(p);
      EXPECT_NEAR(row_v, jv.at(r), 1e-10) << "row " << r;
    }
    for (int64_t p = 0; p < P; p += 7) {
      double col_u = 0.0;
      for (int64_t r = 0; r < b * C; ++r) col_u += J.at(r * P + p) * u.at(r);
      EXPECT_NEAR(col_u, jtu.at(p), 1e-10) << "parameter " << p;
    }
  }
}

TEST(ModelOutputMap, SoftmaxCrossEntropyGradientAndHessianInOutputSpaceAreTheClosedForms) {
  Case c = mlp_case();
  nn::ModelOutputMap map(c.model, nn::Loss::softmax_cross_entropy);
  const Tensor z = map.outputs(c.model.parameters(), c.x);
  Rng rng(2);
  const Tensor w = rng.normal_tensor(z.shape(), DType::f64);
  const Tensor g = map.loss_gradient(z, c.y), hw = map.loss_hessian_product(z, c.y, w);
  const Tensor values = map.loss_values(z, c.y);
  const int64_t b = z.dim(0), C = z.dim(1);
  for (int64_t i = 0; i < b; ++i) {
    double zmax = -1e300, norm = 0.0, pw = 0.0;
    for (int64_t k = 0; k < C; ++k) zmax = std::max(zmax, z.at(i * C + k));
    std::vector<double> p(C);
    for (int64_t k = 0; k < C; ++k) norm += p[k] = std::exp(z.at(i * C + k) - zmax);
    for (int64_t k = 0; k < C; ++k) pw += (p[k] /= norm) * w.at(i * C + k);
    const int64_t label = static_cast<int64_t>(c.y.at(i));
    EXPECT_NEAR(values.at(i), -std::log(p[label]), 1e-12);
    for (int64_t k = 0; k < C; ++k) {
      EXPECT_NEAR(g.at(i * C + k), p[k] - (k == label ? 1.0 : 0.0), 1e-12);
      // (diag(p) − ppᵀ) w = p ⊙ w − p (pᵀ w).
      EXPECT_NEAR(hw.at(i * C + k), p[k] * w.at(i * C + k) - p[k] * pw, 1e-12);
    }
  }
  EXPECT_TRUE(map.loss_is_natural_likelihood());
  EXPECT_TRUE(map.can_sample_targets());
  nn::ModelOutputMap hinge(c.model, nn::Loss::hinge);
  EXPECT_FALSE(hinge.loss_is_natural_likelihood());
  Rng r(1);
  EXPECT_THROW(hinge.sample_targets(z, c.y, r), InputError);
  nn::ModelOutputMap none(c.model);
  EXPECT_THROW(none.loss_gradient(z, c.y), InputError);
}

TEST(ModelOutputMap, DenseActivityGivesTheWeightGradientAsOuterProducts) {
  for (auto make : {mlp_case, cnn_case}) {
    Case c = make();
    SCOPED_TRACE(c.name);
    nn::ModelOutputMap map(c.model, nn::Loss::softmax_cross_entropy);
    const Tensor theta = c.model.parameters().clone();
    const std::vector<DenseLayer> dense = map.dense_layers();
    const bool is_mlp = std::string(c.name) == "MLP";
    ASSERT_EQ(dense.size(), is_mlp ? 3u : 2u);  // the CNN's hidden and output layers
    EXPECT_EQ(map.dense_layers_cover_parameters(), is_mlp);
    Rng rng(8);
    const Tensor cot = rng.normal_tensor({c.x.dim(0), map.num_outputs()}, DType::f64);
    const DenseActivity act = map.dense_activity(theta, c.x, [&](const Tensor&) { return std::vector<Tensor>{cot}; });
    EXPECT_LT(max_abs_diff(act.outputs, map.outputs(theta, c.x)), 1e-12);
    const Tensor jtc = map.vjp(theta, c.x, cot);
    for (size_t l = 0; l < dense.size(); ++l) {
      const DenseLayer& d = dense[l];
      const Tensor& a = act.inputs[l];
      const Tensor& delta = act.signals[0][l];
      // ∂⟨c, z⟩/∂W[o, k] = s_w Σ_i δ_i[o] a_i[k];  ∂/∂b[o] = s_b Σ_i δ_i[o].
      for (int64_t o = 0; o < d.out; ++o) {
        double bias = 0.0;
        for (int64_t k = 0; k < d.in; ++k) {
          double w = 0.0;
          for (int64_t i = 0; i < a.dim(0); ++i) w += delta.at(i * d.out + o) * a.at(i * d.in + k);
          EXPECT_NEAR(d.weight_scale * w, jtc.at(d.weight_offset + o * d.in + k), 1e-10);
        }
        for (int64_t i = 0; i < a.dim(0); ++i) bias += delta.at(i * d.out + o);
        EXPECT_NEAR(d.bias_scale * bias, jtc.at(d.bias_offset + o), 1e-10);
      }
    }
  }
}
