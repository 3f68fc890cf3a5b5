// Gradient transformations: each seed formula written out literally in the test and compared
// with the chain that claims to implement it; fused named optimizers against their chains
// bit for bit; State checkpoints; schedules; hyper-parameter refusal.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "descent/core/rng.hpp"
#include "descent/optim/optimizers.hpp"
#include "descent/optim/transform.hpp"

using namespace descent;
using namespace descent::optim;

namespace {

using Vec = std::vector<double>;

// f(w) = ½ Σ λ_i w_i² with spread curvatures (Arora §2.3's quadratic), gradient λ ⊙ w.
const Vec kCurvature = {1.0, 3.0, 10.0, 0.5, 7.0};
Vec quad_grad(const Vec& w) {
  Vec g(w.size());
  for (size_t i = 0; i < w.size(); ++i) g[i] = kCurvature[i] * w[i];
  return g;
}
Tensor tensor_of(const Vec& v, DType dt = DType::f64) { return Tensor::from_vector(v, {int64_t(v.size())}, dt); }

// Runs `opt` through step() on the quadratic for n steps; returns every iterate.
std::vector<Vec> run(const GradientTransformation& opt, Vec w0, int n) {
  Tensor theta = tensor_of(w0);
  State s = opt.init(theta);
  std::vector<Vec> out;
  Tensor g = Tensor::empty({int64_t(w0.size())}, DType::f64);
  for (int t = 0; t < n; ++t) {
    g.copy_from(tensor_of(quad_grad(theta.to_vector())));
    opt.step(theta, g, s);
    out.push_back(theta.to_vector());
  }
  return out;
}

void expect_close(const std::vector<Vec>& a, const std::vector<Vec>& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t t = 0; t < a.size(); ++t)
    for (size_t i = 0; i < a[t].size(); ++i)
      ASSERT_NEAR(a[t][i], b[t][i], tol * std::max(1.0, std::abs(b[t][i]))) << "step " << t << " coord " << i;
}

const Vec kStart = {1.0, -2.0, 0.5, 3.0, -1.0};

}  // namespace

// Arora §2.3 heavy ball: w_{t+1} = w_t − η∇f(w_t) + β(w_t − w_{t−1}).
TEST(Momentum, HeavyBallMatchesAroraRecursion) {
  const double eta = 0.05, beta = 0.8;
  std::vector<Vec> literal;
  Vec w = kStart, prev = kStart;
  for (int t = 0; t < 100; ++t) {
    const Vec g = quad_grad(w);
    Vec next(w.size());
    for (size_t i = 0; i < w.size(); ++i) next[i] = w[i] - eta * g[i] + beta * (w[i] - prev[i]);
    prev = w;
    w = next;
    literal.push_back(w);
  }
  expect_close(run(sgd(eta, beta), kStart, 100), literal, 1e-12);
}

// Suzuki's damped form: Δw ← θΔw − (1−θ)ηg, w ← w + Δw.
TEST(Momentum, DampedHeavyBallMatchesSuzukiRecursion) {
  const double eta = 0.2, theta = 0.7;
  std::vector<Vec> literal;
  Vec w = kStart, dw(w.size(), 0.0);
  for (int t = 0; t < 100; ++t) {
    const Vec g = quad_grad(w);
    for (size_t i = 0; i < w.size(); ++i) {
      dw[i] = theta * dw[i] - (1 - theta) * eta * g[i];
      w[i] += dw[i];
    }
    literal.push_back(w);
  }
  expect_close(run(damped_momentum(eta, theta), kStart, 100), literal, 1e-12);
}

// Arora §2.3 Nesterov (corrected, spec ⚠): u_t = −∇f(w_t + ηβu_{t−1}) + βu_{t−1},
// w_{t+1} = w_t + ηu_t. The transform runs on the look-ahead point y_t = w_t + ηβu_{t−1}.
TEST(Momentum, NesterovMatchesLookAheadRecursionOnLookAheadPoint) {
  const double eta = 0.05, beta = 0.9;
  std::vector<Vec> literal;
  Vec w = kStart, u(w.size(), 0.0);
  for (int t = 0; t < 150; ++t) {
    Vec look(w.size());
    for (size_t i = 0; i < w.size(); ++i) look[i] = w[i] + eta * beta * u[i];
    const Vec g = quad_grad(look);
    for (size_t i = 0; i < w.size(); ++i) {
      u[i] = -g[i] + beta * u[i];
      w[i] += eta * u[i];
    }
    Vec y(w.size());
    for (size_t i = 0; i < w.size(); ++i) y[i] = w[i] + eta * beta * u[i];
    literal.push_back(y);
  }
  expect_close(run(sgd(eta, beta, /*nesterov=*/true), kStart, 150), literal, 1e-12);
}

// Suzuki's Nesterov: g = ∇L(w + θΔw), Δw ← θΔw − (1−θ)ηg, w ← w + Δw; compared on y = w + θΔw.
TEST(Momentum, DampedNesterovMatchesSuzukiRecursionOnLookAheadPoint) {
  const double eta = 0.2, theta = 0.8;
  std::vector<Vec> literal;
  Vec w = kStart, dw(w.size(), 0.0);
  for (int t = 0; t < 150; ++t) {
    Vec look(w.size());
    for (size_t i = 0; i < w.size(); ++i) look[i] = w[i] + theta * dw[i];
    const Vec g = quad_grad(look);
    Vec y(w.size());
    for (size_t i = 0; i < w.size(); ++i) {
      dw[i] = theta * dw[i] - (1 - theta) * eta * g[i];
      w[i] += dw[i];
      y[i] = w[i] + theta * dw[i];
    }
    literal.push_back(y);
  }
  expect_close(run(damped_momentum(eta, theta, true), kStart, 150), literal, 1e-12);
}

TEST(Momentum, NesterovConvergesFasterThanGdOnIllConditionedQuadratic) {
  const auto gd = run(sgd(0.1), kStart, 100).back();
  // κ = 20; β = (√κ − 1)/(√κ + 1) ≈ 0.63 is the classical choice.
  const auto nag = run(sgd(0.1, 0.63, true), kStart, 100).back();
  auto norm = [](const Vec& v) { double s = 0; for (double x : v) s += x * x; return std::sqrt(s); };
  EXPECT_LT(norm(nag), 1e-4 * norm(gd));
}

TEST(Adam, FirstStepIsLearningRateTimesSignOfGradient) {
  // m̂_1 = g, v̂_1 = g², so the first step is −η g/(|g| + ε).
  Tensor theta = tensor_of({1.0, 2.0, -3.0});
  Tensor g = tensor_of({0.5, -4.0, 1e-3});
  const auto opt = adam(0.1);
  State s = opt.init(theta);
  opt.step(theta, g, s);
  EXPECT_NEAR(theta.at(0), 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-15);
  EXPECT_NEAR(theta.at(1), 2.0 + 0.1 * 4.0 / (4.0 + 1e-8), 1e-15);
  EXPECT_NEAR(theta.at(2), -3.0 - 0.1 * 1e-3 / (1e-3 + 1e-8), 1e-15);
}

TEST(AdamW, DecayIsDecoupledFromTheAdaptiveScaling) {
  // With zero gradient Adam's direction is 0, so AdamW only shrinks: θ ← θ(1 − ηλ); Adam's
  // coupled decay instead feeds λθ through the normalization (first step: −η sign(θ)).
  Tensor theta = tensor_of({2.0, -1.0});
  Tensor g = tensor_of({0.0, 0.0});
  const auto w = adamw(0.1, 0.9, 0.999, 1e-8, 0.5);
  State s = w.init(theta);
  w.step(theta, g, s);
  EXPECT_NEAR(theta.at(0), 2.0 * (1 - 0.05), 1e-15);
  EXPECT_NEAR(theta.at(1), -1.0 * (1 - 0.05), 1e-15);
  Tensor theta2 = tensor_of({2.0, -1.0});
  g = tensor_of({0.0, 0.0});
  const auto c = adam(0.1, 0.9, 0.999, 1e-8, 0.5);
  State s2 = c.init(theta2);
  c.step(theta2, g, s2);
  EXPECT_NEAR(theta2.at(0), 2.0 - 0.1, 1e-8);
  EXPECT_NEAR(theta2.at(1), -1.0 + 0.1, 1e-8);
}

// The fused single-pass step computes the chain's expression in the same order; the only
// difference the compiler may make is contracting a·b + c into one FMA (C++ allows it), so
// the forms agree to rounding, not bit for bit.
class FusedAgainstChain : public ::testing::TestWithParam<DType> {};

TEST_P(FusedAgainstChain, AgreeToRoundingOverManySteps) {
  const DType dt = GetParam();
  const int64_t p = 1037;  // not a multiple of any vector width
  const std::vector<GradientTransformation> opts = {
      sgd(0.1),
      sgd(0.05, 0.9),
      sgd(0.05, 0.9, true, 1e-2),
      sgd(cosine_decay(0.1, 20), 0.5, false, 3e-2),
      adam(1e-2),
      adam(linear_warmup(1e-2, 5), 0.8, 0.99, 1e-6, 1e-2),
      adamw(1e-2, 0.9, 0.999, 1e-8, 0.1),
      lion(1e-3),
      lion(cosine_decay(1e-3, 20), 0.95, 0.98, 0.1),
  };
  for (const auto& opt : opts) {
    Rng rng(7);
    Tensor theta_f = rng.normal_tensor({p}, dt);
    Tensor theta_c = theta_f.clone();
    State sf = opt.init(theta_f), sc = opt.init(theta_c);
    Tensor g = Tensor::empty({p}, dt);
    Tensor gc = Tensor::empty({p}, dt);
    for (int t = 0; t < 25; ++t) {
      rng.fill_normal(g);
      gc.copy_from(g);
      opt.step(theta_f, g, sf);                 // fused
      opt.update(gc, sc, theta_c);              // chain
      apply_updates(theta_c, gc);
    }
    const double tol = dt == DType::f32 ? 2e-6 : 1e-14;
    auto close = [tol](double a, double b) { return std::abs(a - b) <= tol * std::max(1.0, std::abs(b)); };
    for (int64_t i = 0; i < p; ++i)
      ASSERT_TRUE(close(theta_f.at(i), theta_c.at(i))) << opt.name() << " at " << i << ": " << theta_f.at(i)
                                                      << " vs " << theta_c.at(i);
    const auto nf = sf.named_tensors(), nc = sc.named_tensors();
    ASSERT_EQ(nf.size(), nc.size());
    for (size_t k = 0; k < nf.size(); ++k) {
      EXPECT_EQ(nf[k].first, nc[k].first);
      for (int64_t i = 0; i < nf[k].second.numel(); ++i)
        ASSERT_TRUE(close(nf[k].second.at(i), nc[k].second.at(i))) << opt.name() << " " << nf[k].first;
    }
  }
}
INSTANTIATE_TEST_SUITE_P(Dtypes, FusedAgainstChain, ::testing::Values(DType::f32, DType::f64));

TEST(State, CheckpointRestoreResumesBitForBit) {
  const auto opt = chain(clip_by_global_norm(5.0), adamw(cosine_decay(1e-2, 30), 0.9, 0.99, 1e-8, 0.1));
  Rng rng(3);
  Tensor theta = rng.normal_tensor({100}, DType::f32);
  State s = opt.init(theta);
  Tensor g = Tensor::empty({100}, DType::f32);
  Rng grads(11);
  for (int t = 0; t < 10; ++t) { grads.fill_normal(g); opt.step(theta, g, s); }
  // Save (copies, as a safetensors round trip would), continue, then resume from the copy.
  std::vector<std::pair<std::string, Tensor>> saved;
  for (auto& [n, t] : s.named_tensors()) saved.emplace_back(n, t.clone());
  Tensor theta_saved = theta.clone();
  Rng grads_saved = grads;
  for (int t = 0; t < 10; ++t) { grads.fill_normal(g); opt.step(theta, g, s); }

  State r = opt.init(theta_saved);
  r.restore(saved);
  for (int t = 0; t < 10; ++t) { grads_saved.fill_normal(g); opt.step(theta_saved, g, r); }
  for (int64_t i = 0; i < 100; ++i) ASSERT_EQ(theta.at(i), theta_saved.at(i));
  // Names are stable and say what they hold.
  const auto names = s.named_tensors();
  bool has_mu = false;
  for (auto& [n, t] : names) has_mu |= n == "1.adamw.0.scale_by_adam.mu";
  EXPECT_TRUE(has_mu);
}

TEST(State, RestoreRefusesAForeignCheckpoint) {
  Tensor theta = Tensor::zeros({4}, DType::f64);
  State a = adam(1e-3).init(theta);
  State s = sgd(0.1, 0.9).init(theta);
  EXPECT_THROW(a.restore(s.named_tensors()), InputError);
  State small = adam(1e-3).init(Tensor::zeros({3}, DType::f64));
  EXPECT_THROW(a.restore(small.named_tensors()), InputError);
}

TEST(Clip, ByGlobalNormProjectsOntoTheBall) {
  Tensor theta = Tensor::zeros({2}, DType::f64);
  Tensor u = tensor_of({3.0, 4.0});
  const auto c = clip_by_global_norm(1.0);
  State s = c.init(theta);
  c.update(u, s, theta);
  EXPECT_NEAR(u.at(0), 0.6, 1e-15);
  EXPECT_NEAR(u.at(1), 0.8, 1e-15);
  Tensor small = tensor_of({0.3, 0.4});
  c.update(small, s, theta);
  EXPECT_EQ(small.at(0), 0.3);
  EXPECT_EQ(small.at(1), 0.4);
}

TEST(Clip, ByValueClampsEachCoordinate) {
  Tensor theta = Tensor::zeros({3}, DType::f32);
  Tensor u = Tensor::from_vector(std::vector<float>{-5.f, 0.25f, 2.f}, {3});
  const auto c = clip_by_value(1.0);
  State s = c.init(theta);
  c.update(u, s, theta);
  EXPECT_EQ(u.at(0), -1.0);
  EXPECT_EQ(u.at(1), 0.25);
  EXPECT_EQ(u.at(2), 1.0);
}

TEST(WeightDecay, CoupledSgdIsGradientDescentOnTheL2RegularizedLoss) {
  // Arora (13.1): w ← (1 − ηλ)w − η∇L(w).
  const double eta = 0.1, lambda = 0.3;
  Vec w = kStart;
  std::vector<Vec> literal;
  for (int t = 0; t < 50; ++t) {
    const Vec g = quad_grad(w);
    for (size_t i = 0; i < w.size(); ++i) w[i] = (1 - eta * lambda) * w[i] - eta * g[i];
    literal.push_back(w);
  }
  expect_close(run(sgd(eta, 0.0, false, lambda), kStart, 50), literal, 1e-13);
}

TEST(Adagrad, DiagonalMatchesHuFormula) {
  // s += g², θ −= η g / (√s + ε).
  const double eta = 0.5, eps = 1e-10;
  Vec w = kStart, sum(w.size(), 0.0);
  std::vector<Vec> literal;
  for (int t = 0; t < 60; ++t) {
    const Vec g = quad_grad(w);
    for (size_t i = 0; i < w.size(); ++i) {
      sum[i] += g[i] * g[i];
      w[i] -= eta * g[i] / (std::sqrt(sum[i]) + eps);
    }
    literal.push_back(w);
  }
  expect_close(run(adagrad(eta, eps), kStart, 60), literal, 1e-12);
}

TEST(Adagrad, FullMatrixEqualsDiagonalWhenGradientsAreAxisAligned) {
  // Gradients along coordinate axes make G diagonal, so (G^{1/2}+εI)^{-1} g = g/(√diag G + ε).
  Tensor theta = Tensor::zeros({3}, DType::f64);
  const auto full = full_matrix_adagrad(1.0, 1e-8), diag = adagrad(1.0, 1e-8);
  State sf = full.init(theta), sd = diag.init(theta);
  for (int t = 0; t < 6; ++t) {
    Vec gv(3, 0.0);
    gv[t % 3] = 1.0 + t;
    Tensor a = tensor_of(gv), b = tensor_of(gv);
    full.update(a, sf, theta);
    diag.update(b, sd, theta);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(a.at(i), b.at(i), 1e-12);
  }
}

TEST(Adagrad, FullMatrixWhitensACorrelatedGradientDirection) {
  // After one gradient g, G = ggᵀ, so the step is g/(‖g‖ + ε): unit length along g.
  Tensor theta = Tensor::zeros({2}, DType::f64);
  const auto full = full_matrix_adagrad(1.0, 1e-12);
  State s = full.init(theta);
  Tensor g = tensor_of({3.0, 4.0});
  full.update(g, s, theta);
  EXPECT_NEAR(g.at(0), -0.6, 1e-9);
  EXPECT_NEAR(g.at(1), -0.8, 1e-9);
}

TEST(PreconditionedSgd, InverseHessianPreconditionerSolvesAQuadraticInOneStep) {
  // Murphy eq. 6.48 with C = H^{-1}, η = 1: Newton's step.
  const int64_t n = 5;
  Tensor c = Tensor::zeros({n, n}, DType::f64);
  for (int64_t i = 0; i < n; ++i) c.set(i * n + i, 1.0 / kCurvature[i]);
  const auto w = run(preconditioned_sgd(1.0, c), kStart, 1).back();
  for (double x : w) EXPECT_NEAR(x, 0.0, 1e-15);
}

TEST(Schedule, ClosedForms) {
  EXPECT_DOUBLE_EQ(step_decay(1.0, 0.5, 10)(25), 0.25);
  EXPECT_DOUBLE_EQ(exponential_decay(2.0, 0.1)(10), 2.0 * std::exp(-1.0));
  EXPECT_DOUBLE_EQ(polynomial_decay(1.0, 0.5, 1.0)(3), 0.5);
  const auto cos = cosine_decay(1.0, 100, 0.1);
  EXPECT_DOUBLE_EQ(cos(0), 1.0);
  EXPECT_NEAR(cos(50), 0.55, 1e-15);
  EXPECT_DOUBLE_EQ(cos(100), 0.1);
  EXPECT_DOUBLE_EQ(cos(1000), 0.1);
  const auto warm = linear_warmup(cosine_decay(1.0, 10), 4, 0.2);
  EXPECT_DOUBLE_EQ(warm(0), 0.2);
  EXPECT_DOUBLE_EQ(warm(2), 0.6);
  EXPECT_DOUBLE_EQ(warm(4), 1.0);
  EXPECT_NEAR(warm(9), 0.5, 1e-15);
  const auto grow = weight_decay_equivalent_exponential(0.1, 0.5);
  EXPECT_DOUBLE_EQ(grow(0), 0.1 / 0.95);
  EXPECT_NEAR(grow(3), 0.1 * std::pow(0.95, -7.0), 1e-15);
}

// Arora Thm 13.3.1 (corrected): on a scale-invariant loss, GD with weight decay λ and SGD
// with η_t = η(1−ηλ)^{−(2t+1)} give the same normalized iterates w/‖w‖.
TEST(Schedule, ExponentialRateReproducesWeightDecayOnScaleInvariantLoss) {
  // L(w) = ½ Σ λ_i (w_i/‖w‖)²: invariant to w → cw; ∇L(w) = (Λu − (uᵀΛu) u)/‖w‖, u = w/‖w‖.
  auto grad = [](const Vec& w) {
    double nn = 0;
    for (double x : w) nn += x * x;
    const double r = std::sqrt(nn);
    Vec u(w.size()), g(w.size());
    double q = 0;
    for (size_t i = 0; i < w.size(); ++i) { u[i] = w[i] / r; q += kCurvature[i] * u[i] * u[i]; }
    for (size_t i = 0; i < w.size(); ++i) g[i] = (kCurvature[i] * u[i] - q * u[i]) / r;
    return g;
  };
  const double eta = 0.1, lambda = 0.05;
  auto normalized = [](Vec v) { double s = 0; for (double x : v) s += x * x; for (double& x : v) x /= std::sqrt(s); return v; };
  const auto wd = sgd(eta, 0.0, false, lambda);
  const auto grow = sgd(weight_decay_equivalent_exponential(eta, lambda));
  Tensor a = tensor_of(kStart), b = tensor_of(kStart);
  State sa = wd.init(a), sb = grow.init(b);
  for (int t = 0; t < 60; ++t) {
    Tensor ga = tensor_of(grad(a.to_vector())), gb = tensor_of(grad(b.to_vector()));
    wd.step(a, ga, sa);
    grow.step(b, gb, sb);
    const Vec na = normalized(a.to_vector()), nb = normalized(b.to_vector());
    for (size_t i = 0; i < na.size(); ++i) ASSERT_NEAR(na[i], nb[i], 1e-11) << "step " << t;
  }
  // And it is a real claim: without the growth the trajectories differ.
  Tensor c = tensor_of(kStart);
  const auto plain = sgd(eta);
  State sc = plain.init(c);
  for (int t = 0; t < 60; ++t) { Tensor gc = tensor_of(grad(c.to_vector())); plain.step(c, gc, sc); }
  const Vec na = normalized(a.to_vector()), nc = normalized(c.to_vector());
  double diff = 0;
  for (size_t i = 0; i < na.size(); ++i) diff = std::max(diff, std::abs(na[i] - nc[i]));
  EXPECT_GT(diff, 1e-3);
}

TEST(HyperParameters, InvalidValuesAreRefusedNamingTheParameter) {
  auto message = [](auto&& make) -> std::string {
    try { make(); } catch (const InputError& e) { return e.what(); }
    return "";
  };
  EXPECT_NE(message([] { sgd(-0.1); }).find("-0.1"), std::string::npos);
  EXPECT_NE(message([] { sgd(0.1, 1.0); }).find("momentum"), std::string::npos);
  EXPECT_NE(message([] { sgd(0.1, 0.0, true); }).find("nesterov"), std::string::npos);
  EXPECT_NE(message([] { adam(1e-3, 1.2); }).find("b1"), std::string::npos);
  EXPECT_NE(message([] { adam(1e-3, 0.9, -0.1); }).find("b2"), std::string::npos);
  EXPECT_NE(message([] { adam(1e-3, 0.9, 0.999, 0.0); }).find("eps"), std::string::npos);
  EXPECT_NE(message([] { adamw(1e-3, 0.9, 0.999, 1e-8, -1.0); }).find("weight_decay"), std::string::npos);
  EXPECT_NE(message([] { rmsprop(1e-3, 1.0); }).find("alpha"), std::string::npos);
  EXPECT_NE(message([] { adagrad(1e-3, -1.0); }).find("eps"), std::string::npos);
  EXPECT_NE(message([] { clip_by_global_norm(0.0); }).find("max_norm"), std::string::npos);
  EXPECT_NE(message([] { cosine_decay(1.0, 0); }).find("total_steps"), std::string::npos);
  EXPECT_NE(message([] { weight_decay_equivalent_exponential(1.0, 2.0); }).find("< 1"), std::string::npos);
}

TEST(Step, ReusesItsBuffers) {
  // No allocation per step: the state's buffers keep their storage across steps.
  Tensor theta = Tensor::zeros({64}, DType::f32);
  const auto opt = adamw(1e-3);
  State s = opt.init(theta);
  const void* mu = s.named_tensors()[2].second.raw();
  Tensor g = Tensor::ones({64}, DType::f32);
  for (int t = 0; t < 3; ++t) opt.step(theta, g, s);
  EXPECT_EQ(s.named_tensors()[2].second.raw(), mu);
}
