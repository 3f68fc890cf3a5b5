// K-FAC: the factors against brute force (layer inputs by hand, δ from per-example
// gradients), the Kronecker block against the exact Fisher of one example, the preconditioned
// gradient against a dense (A_d ⊗ G_d)⁻¹ solve, the running average, and training on a
// Fashion-MNIST subset against SGD with momentum (skipped without the dataset).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <numeric>

#include <Eigen/Dense>

#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/data/fashion_mnist.hpp"
#include "descent/nn/objective.hpp"
#include "descent/optim/minimize.hpp"
#include "descent/optim/optimizers.hpp"
#include "descent/nn/output_map.hpp"
#include "descent/optim/kfac.hpp"

namespace descent::optim {
namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

struct Tiny {
  nn::Model model;
  Tensor x, y;
};

// A 4-5-3 tanh MLP in float64 and six labelled examples.
Tiny tiny(uint64_t seed) {
  nn::MlpOptions mo;
  mo.hidden = {5};
  mo.activation = nn::Activation::tanh;
  Tiny t{nn::mlp(4, 3, mo, DType::f64), Tensor(), Tensor()};
  t.model.initialize(seed);
  Rng rng(seed + 1);
  t.x = rng.normal_tensor({6, 4}, DType::f64);
  std::vector<int64_t> labels(6);
  for (auto& l : labels) l = static_cast<int64_t>(rng.uniform() * 3);
  t.y = Tensor::from_vector(labels, {6});
  return t;
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

// Per-example gradients [n, P] from ModelObjective (its own outer-product path).
MatrixXd per_example(Tiny& t) {
  nn::ModelObjective f(t.model, nn::Loss::softmax_cross_entropy, t.x, t.y);
  const int64_t n = t.x.dim(0), p = t.model.num_parameters();
  Tensor rows = Tensor::empty({n, p}, DType::f64);
  const auto idx = iota(n);
  f.per_example_gradients(t.model.parameters(), idx, rows);
  return Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>>(rows.data<double>(), n, p);
}

// θ-layout indices of layer j's W̄ = [W | b] entries, in row-major order of W̄ ([out, in+1]).
std::vector<int64_t> block_indices(const Kfac::LayerSlot& s) {
  std::vector<int64_t> idx;
  for (int64_t o = 0; o < s.out; ++o) {
    for (int64_t i = 0; i < s.in; ++i) idx.push_back(s.weight_offset + o * s.in + i);
    idx.push_back(s.bias_offset + o);
  }
  return idx;
}

// The Kronecker block in W̄'s row-major order: entry ((o,i),(o',i')) = G[o,o'] A[i,i'] — the
// matrix M&G write A ⊗ G for column-major vec.
MatrixXd kronecker_block(const MatrixXd& a, const MatrixXd& g) {
  const int64_t k = a.rows(), out = g.rows();
  MatrixXd m(out * k, out * k);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t q = 0; q < out; ++q) m.block(o * k, q * k, k, k) = g(o, q) * a;
  return m;
}

}  // namespace

TEST(Kfac, FactorsMatchBruteForce) {
  Tiny t = tiny(3);
  KfacOptions o;
  o.fisher = KfacFisher::empirical;
  Kfac kfac(nn::output_map(t.model, nn::Loss::softmax_cross_entropy), t.model.parameters(), o);
  ASSERT_EQ(kfac.num_layers(), 2u);
  std::vector<MatrixXd> a, g;
  Tensor gradient;
  kfac.batch_factors(t.x, t.y, a, g, &gradient);
  const MatrixXd rows = per_example(t);
  const int64_t n = t.x.dim(0);

  // Layer inputs by hand: a₀ = x, a₁ = tanh(s_w W₀ x + s_b b₀).
  const auto views = t.model.parameter_views(t.model.parameters());
  const auto& s0 = kfac.slot(0);
  const MatrixXd w0 = Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>>(views[0].data<double>(), s0.out, s0.in);
  const VectorXd b0 = Eigen::Map<const VectorXd>(views[1].data<double>(), s0.out);
  const MatrixXd x = Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>>(t.x.data<double>(), n, 4);
  const MatrixXd h = ((s0.weight_scale * x * w0.transpose()).rowwise() + s0.bias_scale * b0.transpose()).array().tanh();
  for (size_t j = 0; j < 2; ++j) {
    const auto& s = kfac.slot(j);
    const MatrixXd& in = j == 0 ? x : h;
    MatrixXd abar(n, s.in + 1);
    abar << s.weight_scale * in, MatrixXd::Constant(n, 1, s.bias_scale);
    const MatrixXd a_ref = abar.transpose() * abar / n;
    // δ_i from the bias part of example i's gradient: ∂ℓ_i/∂b = s_b δ_i.
    const MatrixXd delta = rows.middleCols(s.bias_offset, s.out) / s.bias_scale;
    const MatrixXd g_ref = delta.transpose() * delta / n;
    EXPECT_LT((a[j] - a_ref).norm(), 1e-12 * a_ref.norm()) << "A of layer " << j;
    EXPECT_LT((g[j] - g_ref).norm(), 1e-12 * g_ref.norm()) << "G of layer " << j;
  }
  // The gradient K-FAC computes is the mean of the per-example gradients.
  const VectorXd mean = rows.colwise().mean();
  for (int64_t i = 0; i < t.model.num_parameters(); ++i) EXPECT_NEAR(gradient.at(i), mean[i], 1e-12);
}

TEST(Kfac, KroneckerBlockIsTheFisherOfOneExample) {
  // For one example the Fisher block g gᵀ factorizes exactly: (δδᵀ) ⊗ (āāᵀ).
  Tiny t = tiny(5);
  t.x = t.x.rows(2, 3).clone();
  t.y = t.y.rows(2, 3).clone();
  KfacOptions o;
  o.fisher = KfacFisher::empirical;
  Kfac kfac(nn::output_map(t.model, nn::Loss::softmax_cross_entropy), t.model.parameters(), o);
  std::vector<MatrixXd> a, g;
  kfac.batch_factors(t.x, t.y, a, g);
  const VectorXd grad = per_example(t).row(0).transpose();
  for (size_t j = 0; j < kfac.num_layers(); ++j) {
    const auto idx = block_indices(kfac.slot(j));
    VectorXd gl(idx.size());
    for (size_t k = 0; k < idx.size(); ++k) gl[k] = grad[idx[k]];
    const MatrixXd exact = gl * gl.transpose();
    EXPECT_LT((kronecker_block(a[j], g[j]) - exact).norm(), 1e-12 * exact.norm()) << "layer " << j;
  }
}

TEST(Kfac, PreconditionedGradientIsTheDenseKroneckerSolve) {
  Tiny t = tiny(7);
  for (KfacFisher fisher : {KfacFisher::empirical, KfacFisher::sampled}) {
    KfacOptions o;
    o.fisher = fisher;
    o.damping = 0.03;
    o.seed = 2;
    Kfac kfac(nn::output_map(t.model, nn::Loss::softmax_cross_entropy), t.model.parameters(), o);
    // Same seed: the same sampled targets.
    Kfac probe(nn::output_map(t.model, nn::Loss::softmax_cross_entropy), t.model.parameters(), o);
    std::vector<MatrixXd> a, g;
    Tensor gradient;
    probe.batch_factors(t.x, t.y, a, g, &gradient);
    const Tensor theta0 = t.model.parameters().clone();
    kfac.step(t.x, t.y);  // first step: factors = this batch's, inverses fresh
    const Tensor update = sub(theta0, t.model.parameters());  // η · preconditioned gradient
    for (size_t j = 0; j < kfac.num_layers(); ++j) {
      EXPECT_LT((kfac.input_factor(j) - a[j]).norm(), 1e-12 * a[j].norm());
      EXPECT_LT((kfac.gradient_factor(j) - g[j]).norm(), 1e-12 * g[j].norm());
      // Dense reference: (A + π√γ I) ⊗ (G + √γ/π I), π = √((tr A/dim A)/(tr G/dim G)).
      const double pi = std::sqrt((a[j].trace() / a[j].rows()) / (g[j].trace() / g[j].rows()));
      const MatrixXd ad = a[j] + pi * std::sqrt(o.damping) * MatrixXd::Identity(a[j].rows(), a[j].cols());
      const MatrixXd gd = g[j] + std::sqrt(o.damping) / pi * MatrixXd::Identity(g[j].rows(), g[j].cols());
      const auto idx = block_indices(kfac.slot(j));
      VectorXd gl(idx.size()), ul(idx.size());
      for (size_t k = 0; k < idx.size(); ++k) {
        gl[k] = gradient.at(idx[k]);
        ul[k] = update.at(idx[k]) / o.learning_rate;
      }
      const VectorXd expected = kronecker_block(ad, gd).ldlt().solve(gl);
      EXPECT_LT((ul - expected).norm(), 1e-9 * expected.norm()) << "layer " << j;
    }
  }
}

TEST(Kfac, RunningAverageOfFactors) {
  Tiny t = tiny(9);
  KfacOptions o;
  o.fisher = KfacFisher::empirical;
  o.running_average = 0.8;
  Kfac kfac(nn::output_map(t.model, nn::Loss::softmax_cross_entropy), t.model.parameters(), o);
  const Tensor x1 = t.x.rows(0, 3).clone(), y1 = t.y.rows(0, 3).clone();
  const Tensor x2 = t.x.rows(3, 6).clone(), y2 = t.y.rows(3, 6).clone();
  std::vector<MatrixXd> a1, g1, a2, g2;
  kfac.batch_factors(x1, y1, a1, g1);
  kfac.step(x1, y1);
  kfac.batch_factors(x2, y2, a2, g2);  // at θ₁
  kfac.step(x2, y2);
  for (size_t j = 0; j < kfac.num_layers(); ++j) {
    const MatrixXd a = 0.8 * a1[j] + 0.2 * a2[j], g = 0.8 * g1[j] + 0.2 * g2[j];
    EXPECT_LT((kfac.input_factor(j) - a).norm(), 1e-12 * a.norm());
    EXPECT_LT((kfac.gradient_factor(j) - g).norm(), 1e-12 * g.norm());
  }
}

TEST(Kfac, RefusesWhatItCannotHandle) {
  Tiny t = tiny(1);
  KfacOptions o;
  o.damping = 0.0;
  EXPECT_THROW(Kfac(nn::output_map(t.model, nn::Loss::softmax_cross_entropy), t.model.parameters(), o), InputError);
  o = {};
  o.running_average = 1.0;
  EXPECT_THROW(Kfac(nn::output_map(t.model, nn::Loss::softmax_cross_entropy), t.model.parameters(), o), InputError);
  // Nothing to sample from.
  EXPECT_THROW(Kfac(nn::output_map(t.model, nn::Loss::hinge), t.model.parameters(), {}), InputError);
  auto cnn = nn::small_cnn({1, 28, 28}, 10, {.channels1 = 2, .channels2 = 2, .hidden = 4});
  EXPECT_THROW(Kfac(nn::output_map(cnn, nn::Loss::softmax_cross_entropy), cnn.parameters(), {}), InputError);
  Kfac k(nn::output_map(t.model, nn::Loss::softmax_cross_entropy), t.model.parameters(), {});
  EXPECT_THROW(k.precondition(Tensor::zeros({t.model.num_parameters()}, DType::f64)), InputError);
  EXPECT_THROW(k.step(Tensor::zeros({2, 5}, DType::f64), t.y.rows(0, 2)), ShapeError);
}

TEST(Kfac, TrainsFashionMnistFasterPerStepThanSgd) {
  data::Dataset train;
  try {
    train = data::load_fashion_mnist("train");
  } catch (const Error& e) {
    GTEST_SKIP() << "Fashion-MNIST is not installed (" << e.what() << "); skipped";
  }
  const int64_t n = 2000, batch = 100, steps = 120;
  train = train.take(n);
  nn::MlpOptions mo;
  mo.hidden = {64};
  auto run_kfac = [&](KfacFisher fisher) {
    nn::Model m = nn::mlp(784, 10, mo);
    m.initialize(1);
    KfacOptions o;
    o.learning_rate = 0.2;
    o.damping = 3e-2;
    o.momentum = 0.5;
    o.fisher = fisher;
    o.seed = 1;
    Kfac kfac(nn::output_map(m, nn::Loss::softmax_cross_entropy), m.parameters(), o);
    Rng rng(4);
    std::vector<int64_t> order;
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t k = 0; k < steps; ++k) {
      if (k % (n / batch) == 0) order = rng.permutation(n);
      const std::span<const int64_t> idx(order.data() + (k % (n / batch)) * batch, batch);
      const data::Dataset b = train.select(idx);
      kfac.step(b.inputs, b.targets);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    nn::ModelObjective f(m, nn::Loss::softmax_cross_entropy, train.inputs, train.targets);
    return std::pair{f.evaluate(m.parameters()).loss, seconds};
  };
  nn::Model m = nn::mlp(784, 10, mo);
  m.initialize(1);
  nn::ModelObjective f(m, nn::Loss::softmax_cross_entropy, train.inputs, train.targets);
  const auto t0 = std::chrono::steady_clock::now();
  const auto sgd = optim::minimize_stochastic(f, m.parameters(), optim::sgd(0.1, 0.9),
                                              {.batch_size = batch, .seed = 4}, {.max_steps = steps});
  const double sgd_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto [empirical, empirical_seconds] = run_kfac(KfacFisher::empirical);
  const auto [sampled, sampled_seconds] = run_kfac(KfacFisher::sampled);
  std::printf("  %lld steps of %lld on %lld Fashion-MNIST images, MLP 784-64-10: training loss SGD+momentum %.4f "
              "(%.2f s), K-FAC empirical %.4f (%.2f s), K-FAC sampled %.4f (%.2f s)\n",
              static_cast<long long>(steps), static_cast<long long>(batch), static_cast<long long>(n), sgd.value,
              sgd_seconds, empirical, empirical_seconds, sampled, sampled_seconds);
  EXPECT_LT(sampled, sgd.value);
  EXPECT_LT(empirical, sgd.value);
}

}  // namespace descent::optim
