// The optax-style links, each against its paper's update written out literally on a closed-form
// case: Lion, LAMB, LARS, Adafactor, Lookahead, MultiSteps, parameter EMA, AGC, per-block
// factors, masked/freeze, add_noise (SGLD's stationary variance), Polyak steps, SAM and ASAM.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "descent/core/objective.hpp"
#include "descent/optim/minimize.hpp"
#include "descent/optim/optimizers.hpp"
#include "descent/optim/transform.hpp"

using namespace descent;
using namespace descent::optim;

namespace {

using Vec = std::vector<double>;

// f(w) = ½ Σ λ_i w_i², gradient λ ⊙ w.
const Vec kCurvature = {1.0, 3.0, 10.0, 0.5, 7.0, 2.0};
const Vec kStart = {1.0, -2.0, 0.5, 3.0, -1.0, 0.25};
Vec quad_grad(const Vec& w) {
  Vec g(w.size());
  for (size_t i = 0; i < w.size(); ++i) g[i] = kCurvature[i] * w[i];
  return g;
}
double quad_value(const Vec& w) {
  double f = 0;
  for (size_t i = 0; i < w.size(); ++i) f += 0.5 * kCurvature[i] * w[i] * w[i];
  return f;
}
Tensor tensor_of(const Vec& v) { return Tensor::from_vector(v, {int64_t(v.size())}, DType::f64); }
double norm_of(const Vec& v, size_t a = 0, size_t b = SIZE_MAX) {
  double s = 0;
  for (size_t i = a; i < std::min(b, v.size()); ++i) s += v[i] * v[i];
  return std::sqrt(s);
}
double sgn(double x) { return (x > 0) - (x < 0); }

// Runs `opt` on the quadratic for n steps with the loss and same-batch gradient in the context.
std::vector<Vec> run(const GradientTransformation& opt, Vec w0, int n) {
  Tensor theta = tensor_of(w0);
  State s = opt.init(theta);
  std::vector<Vec> out;
  Tensor g = Tensor::empty({int64_t(w0.size())}, DType::f64);
  StepContext ctx;
  ctx.gradient_at = [](const Tensor& x, Tensor& grad) {
    grad.copy_from(tensor_of(quad_grad(x.to_vector())));
    return quad_value(x.to_vector());
  };
  for (int t = 0; t < n; ++t) {
    ctx.value = quad_value(theta.to_vector());
    g.copy_from(tensor_of(quad_grad(theta.to_vector())));
    opt.step(theta, g, s, ctx);
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

// Two blocks: [0, 4) as a 2×2 matrix, [4, 6) a vector.
const std::vector<Block> kBlocks = {{0, 4, 2}, {4, 6, 1}};

}  // namespace

// Chen et al. 2023, Alg. 2: c = β1 m + (1−β1) g; θ ← θ − η(sign(c) + λθ); m ← β2 m + (1−β2) g.
TEST(Links, LionMatchesPaper) {
  const double eta = 0.01, b1 = 0.9, b2 = 0.99, wd = 0.1;
  std::vector<Vec> literal;
  Vec w = kStart, m(w.size(), 0.0);
  for (int t = 0; t < 60; ++t) {
    const Vec g = quad_grad(w);
    for (size_t i = 0; i < w.size(); ++i) {
      const double c = b1 * m[i] + (1 - b1) * g[i];
      w[i] -= eta * (sgn(c) + wd * w[i]);
      m[i] = b2 * m[i] + (1 - b2) * g[i];
    }
    literal.push_back(w);
  }
  expect_close(run(lion(eta, b1, b2, wd), kStart, 60), literal, 1e-13);
}

// You et al. 2020, Alg. 2 (LAMB): r = m̂/(√v̂ + ε); per layer θ ← θ − η ‖θ‖/‖r + λθ‖ (r + λθ).
TEST(Links, LambMatchesPaper) {
  const double eta = 0.02, b1 = 0.9, b2 = 0.999, eps = 1e-6, wd = 0.01;
  std::vector<Vec> literal;
  Vec w = kStart, m(w.size(), 0.0), v(w.size(), 0.0);
  for (int t = 1; t <= 40; ++t) {
    const Vec g = quad_grad(w);
    Vec u(w.size());
    for (size_t i = 0; i < w.size(); ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const double mh = m[i] / (1 - std::pow(b1, t)), vh = v[i] / (1 - std::pow(b2, t));
      u[i] = mh / (std::sqrt(vh) + eps) + wd * w[i];
    }
    for (const Block& b : kBlocks) {
      const double ratio = norm_of(w, b.begin, b.end) / norm_of(u, b.begin, b.end);
      for (int64_t i = b.begin; i < b.end; ++i) w[i] -= eta * ratio * u[i];
    }
    literal.push_back(w);
  }
  expect_close(run(lamb(eta, b1, b2, eps, wd, kBlocks), kStart, 40), literal, 1e-9);
}

// You et al. 2017, Alg. 1 (LARS): g' = g + βw; local rate λ = c‖w‖/‖g'‖; v ← μv + η λ g'; w ← w − v.
TEST(Links, LarsMatchesPaper) {
  const double eta = 0.5, mu = 0.9, beta = 5e-4, c = 0.01;
  std::vector<Vec> literal;
  Vec w = kStart, vel(w.size(), 0.0);
  for (int t = 0; t < 50; ++t) {
    const Vec g = quad_grad(w);
    Vec gp(w.size());
    for (size_t i = 0; i < w.size(); ++i) gp[i] = g[i] + beta * w[i];
    for (const Block& b : kBlocks) {
      const double local = c * norm_of(w, b.begin, b.end) / norm_of(gp, b.begin, b.end);
      for (int64_t i = b.begin; i < b.end; ++i) vel[i] = mu * vel[i] + eta * local * gp[i];
    }
    for (size_t i = 0; i < w.size(); ++i) w[i] -= vel[i];
    literal.push_back(w);
  }
  expect_close(run(lars(eta, mu, beta, c, kBlocks), kStart, 50), literal, 1e-12);
}

// Shazeer & Stern 2018: at t = 1 (β2 = 1 − 1^{−0.8} = 0), for a rank-one G² = x²(y²)ᵀ the
// factored V̂ = R Cᵀ/(1ᵀR) is G² itself, so U = sign(G), RMS(U) = 1 (no clipping at d = 1),
// and the step is −η max(ε2, RMS(θ)) sign(G).
TEST(Links, AdafactorFirstStepOnRankOneGradient) {
  const Vec x = {0.5, -2.0}, y = {3.0, 0.25};
  const Vec theta0 = {0.1, -0.4, 0.3, 0.2, 1.0, -2.0};
  Vec g = {x[0] * y[0], x[0] * y[1], x[1] * y[0], x[1] * y[1], 0.3, -0.6};
  const double eta = 0.01;
  const auto opt = adafactor(eta, kBlocks, 0.8, 1.0, 1e-3, /*min_dim_size_to_factor=*/2);
  Tensor theta = tensor_of(theta0), grad = tensor_of(g);
  State s = opt.init(theta);
  opt.step(theta, grad, s);
  const Vec after = theta.to_vector();
  for (const Block& b : kBlocks) {
    const double rms = norm_of(theta0, b.begin, b.end) / std::sqrt(double(b.size()));
    for (int64_t i = b.begin; i < b.end; ++i)
      EXPECT_NEAR(after[i], theta0[i] - eta * rms * sgn(g[i]), 1e-12) << "coordinate " << i;
  }
}

// Adafactor's update clipping: a block whose RMS(U) exceeds d is divided by RMS(U)/d.
TEST(Links, FactoredRmsClipsLargeUpdates) {
  // At t = 2 with β2 = 1 − 2^{−0.8}, a gradient much larger than the first gives |U| ≫ 1.
  const auto link = scale_by_factored_rms({{0, 4, 2}}, 0.8, 1e-30, 1.0, /*min_dim_size_to_factor=*/2);
  Tensor theta = tensor_of({1, 1, 1, 1});
  State s = link.init(theta);
  Tensor u = tensor_of({1e-3, 1e-3, 1e-3, 1e-3});
  link.update(u, s, theta);
  u = tensor_of({1.0, 2.0, 3.0, 4.0});
  link.update(u, s, theta);
  const Vec out = u.to_vector();
  EXPECT_NEAR(norm_of(out) / 2.0, 1.0, 1e-12);  // RMS exactly d = 1 after the clip
}

namespace {

// optax.adafactor (optax/_src/alias.py and factorized.py, defaults: min_dim_size_to_factor 128,
// decay_rate 0.8, ε1 1e-30, clipping_threshold 1, multiply_by_parameter_scale with ε2 1e-3, no
// momentum) transcribed leaf by leaf in float64:
//   chain(scale_by_factored_rms, clip_by_block_rms(1), scale_by_learning_rate(η, flip_sign=False),
//         scale_by_param_block_rms(1e-3), scale(−1)).
struct OptaxLeaf {
  std::vector<int64_t> shape;  // [n] or [r, c]
  Vec v_row, v_col, v;
};
struct OptaxAdafactor {
  std::vector<OptaxLeaf> leaves;
  int64_t count = 0;
  // _factored_dims: None below rank 2 or when the second-largest dim is < 128; else
  // (d1, d0) = (argsort[-2], argsort[-1]) (numpy's argsort is stable: ties keep axis order).
  static bool factored_dims(const std::vector<int64_t>& shape, int& d1, int& d0) {
    if (shape.size() < 2) return false;
    d1 = shape[0] <= shape[1] ? 0 : 1;  // argsort of two: [0, 1] unless shape[0] > shape[1]
    d0 = 1 - d1;
    return shape[d1] >= 128;
  }
  void step(Vec& theta, const Vec& grad, double eta) {
    const double t = static_cast<double>(count + 1), beta = 1.0 - std::pow(t, -0.8);
    int64_t off = 0;
    for (OptaxLeaf& leaf : leaves) {
      const int64_t n = leaf.shape.size() == 1 ? leaf.shape[0] : leaf.shape[0] * leaf.shape[1];
      Vec u(grad.begin() + off, grad.begin() + off + n);
      int d1 = 0, d0 = 0;
      if (factored_dims(leaf.shape, d1, d0)) {
        const int64_t r = leaf.shape[0], c = leaf.shape[1];
        // mean of grad² + ε over axis d0 → indexed by axis d1 (v_row), over d1 → by d0 (v_col).
        Vec over_cols(r, 0.0), over_rows(c, 0.0);
        for (int64_t i = 0; i < r; ++i)
          for (int64_t j = 0; j < c; ++j) {
            const double sq = u[i * c + j] * u[i * c + j] + 1e-30;
            over_cols[i] += sq / double(c);
            over_rows[j] += sq / double(r);
          }
        const Vec& row_stat = d1 == 0 ? over_cols : over_rows;  // mean over axis d0
        const Vec& col_stat = d1 == 0 ? over_rows : over_cols;  // mean over axis d1
        if (leaf.v_row.empty()) leaf.v_row.assign(row_stat.size(), 0.0), leaf.v_col.assign(col_stat.size(), 0.0);
        for (size_t k = 0; k < row_stat.size(); ++k) leaf.v_row[k] = beta * leaf.v_row[k] + (1 - beta) * row_stat[k];
        for (size_t k = 0; k < col_stat.size(); ++k) leaf.v_col[k] = beta * leaf.v_col[k] + (1 - beta) * col_stat[k];
        double mean = 0;
        for (double x : leaf.v_row) mean += x / double(leaf.v_row.size());
        for (int64_t i = 0; i < r; ++i)
          for (int64_t j = 0; j < c; ++j) {
            const int64_t along_d1 = d1 == 0 ? i : j, along_d0 = d1 == 0 ? j : i;
            u[i * c + j] *= std::pow(leaf.v_row[along_d1] / mean, -0.5) * std::pow(leaf.v_col[along_d0], -0.5);
          }
      } else {
        if (leaf.v.empty()) leaf.v.assign(n, 0.0);
        for (int64_t i = 0; i < n; ++i) {
          leaf.v[i] = beta * leaf.v[i] + (1 - beta) * (u[i] * u[i] + 1e-30);
          u[i] *= std::pow(leaf.v[i], -0.5);
        }
      }
      const double rms_u = norm_of(u) / std::sqrt(double(n));
      const double param_rms = norm_of(theta, off, off + n) / std::sqrt(double(n));
      const double scale = eta / std::max(1.0, rms_u / 1.0) * std::max(param_rms, 1e-3);
      for (int64_t i = 0; i < n; ++i) theta[off + i] -= scale * u[i];
      off += n;
    }
    ++count;
  }
};

// The leaves: factored with rows < cols and rows > cols, a matrix below the factoring size, a
// vector. The gradient is that of f(θ) = ½ Σ a_i (θ_i − c_i)² with a = 0 on W1's row 3 and
// column 5 and W2's row 7 and column 2: a ReLU unit dead on the whole batch and a constant
// input, whose second-moment statistics are only ε1 = 1e-30 (float32's R_i·C_j then underflows).
struct AdafactorCase {
  std::vector<std::vector<int64_t>> shapes = {{130, 150}, {140, 129}, {10, 140}, {140}};
  std::vector<Block> blocks;
  Vec a, c, theta0;
  AdafactorCase() {
    int64_t off = 0;
    for (const auto& sh : shapes) {
      const int64_t n = sh.size() == 1 ? sh[0] : sh[0] * sh[1];
      blocks.push_back({off, off + n, sh.size() == 1 ? 1 : sh[0]});
      off += n;
    }
    a.resize(off), c.resize(off), theta0.resize(off);
    for (int64_t i = 0; i < off; ++i) {
      a[i] = 0.5 + std::fmod(0.37 * double(i), 3.0);
      c[i] = std::sin(0.01 * double(i));
      theta0[i] = 0.05 * std::cos(0.3 * double(i));
    }
    auto kill = [&](int leaf, int64_t row, int64_t col) {
      const auto& sh = shapes[leaf];
      for (int64_t j = 0; j < sh[1]; ++j) a[blocks[leaf].begin + row * sh[1] + j] = 0;
      for (int64_t i = 0; i < sh[0]; ++i) a[blocks[leaf].begin + i * sh[1] + col] = 0;
    };
    kill(0, 3, 5);
    kill(1, 7, 2);
  }
  Vec grad(const Vec& w) const {
    Vec g(w.size());
    for (size_t i = 0; i < w.size(); ++i) g[i] = a[i] * (w[i] - c[i]);
    return g;
  }
};

}  // namespace

// descent's adafactor (factory defaults) against the optax transcription, 40 steps, in float64
// to 1e-12 and in float32 to float32's rounding (the float32 run used to put 0/0 into θ at the
// first step: u/√(R_i C_j / mean R) with R_i C_j = 1e-60 → 0).
TEST(Links, AdafactorMatchesOptaxTranscription) {
  const AdafactorCase k;
  const double eta = 1e-2;
  for (const DType dt : {DType::f64, DType::f32}) {
    OptaxAdafactor ref;
    for (const auto& sh : k.shapes) ref.leaves.push_back({sh, {}, {}, {}});
    Vec w_ref = k.theta0;
    const auto opt = adafactor(eta, k.blocks);
    Tensor theta = Tensor::from_vector(k.theta0, {int64_t(k.theta0.size())}, dt);
    const Vec start = theta.to_vector();  // θ0 as stored (rounded to float32 in the second run)
    State s = opt.init(theta);
    for (int t = 0; t < 40; ++t) {
      Tensor g = Tensor::from_vector(k.grad(theta.to_vector()), {int64_t(k.theta0.size())}, dt);
      opt.step(theta, g, s);
      ref.step(w_ref, k.grad(w_ref), eta);
    }
    const Vec got = theta.to_vector();
    const double tol = dt == DType::f64 ? 1e-12 : 1e-4;
    double max_rel = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(std::isfinite(got[i])) << dtype_name(dt) << " coordinate " << i;
      max_rel = std::max(max_rel, std::abs(got[i] - w_ref[i]) / std::max(1e-2, std::abs(w_ref[i])));
    }
    EXPECT_LT(max_rel, tol) << dtype_name(dt);
    // The dead row and column never move (their gradient is exactly 0 at every step).
    for (int64_t j = 0; j < 150; ++j) EXPECT_EQ(got[3 * 150 + j], start[3 * 150 + j]);
  }
}

// Closed form at t = 1 (β2 = 0), float32, one factored 128×128 block with G = x yᵀ where x and
// y each have one zero: V̂ = R Cᵀ/mean(R) equals G² + O(ε1) elsewhere, so the update is
// −η max(ε2, RMS(θ)) sign(G) off the dead row and column and exactly 0 on them (RMS(U) < 1: no clip).
TEST(Links, AdafactorFirstStepWithDeadRowAndColumnInFloat32) {
  const int64_t n = 128;
  Vec x(n), y(n), g(n * n), theta0(n * n);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = i == 17 ? 0.0 : 1e-3 * (1.0 + double(i % 7));
    y[i] = i == 40 ? 0.0 : (i % 2 ? -1.0 : 1.0) * 1e-3 * (1.0 + double(i % 5));
  }
  for (int64_t i = 0; i < n * n; ++i) {
    g[i] = x[i / n] * y[i % n];
    theta0[i] = 0.02 * std::sin(double(i));
  }
  const double eta = 1e-2;
  const auto opt = adafactor(eta, {{0, n * n, n}});
  Tensor theta = Tensor::from_vector(theta0, {n * n}, DType::f32);
  Tensor grad = Tensor::from_vector(g, {n * n}, DType::f32);
  const Vec start = theta.to_vector();
  State s = opt.init(theta);
  opt.step(theta, grad, s);
  const Vec after = theta.to_vector();
  const double rms = std::max(1e-3, norm_of(start) / double(n));
  for (int64_t i = 0; i < n * n; ++i) {
    ASSERT_TRUE(std::isfinite(after[i])) << "coordinate " << i;
    EXPECT_NEAR(after[i], start[i] - eta * rms * sgn(g[i]), 1e-6) << "coordinate " << i;
  }
}

// Zhang et al. 2019, Alg. 1: k inner SGD steps on the fast weights, then φ ← φ + α(θ − φ), θ ← φ.
TEST(Links, LookaheadMatchesPaper) {
  const double eta = 0.05, alpha = 0.5;
  const int k = 5;
  std::vector<Vec> literal;
  Vec w = kStart, phi = kStart;
  for (int t = 1; t <= 40; ++t) {
    const Vec g = quad_grad(w);
    for (size_t i = 0; i < w.size(); ++i) w[i] -= eta * g[i];
    if (t % k == 0)
      for (size_t i = 0; i < w.size(); ++i) {
        phi[i] += alpha * (w[i] - phi[i]);
        w[i] = phi[i];
      }
    literal.push_back(w);
  }
  expect_close(run(lookahead(sgd(eta), k, alpha), kStart, 40), literal, 1e-14);
}

// MultiSteps: k − 1 steps of no motion, then one inner step with the mean of the k gradients.
TEST(Links, MultiStepsAccumulatesTheMean) {
  const auto opt = multi_steps(sgd(0.1, 0.9), 3);
  Tensor theta = tensor_of({1.0, 2.0});
  State s = opt.init(theta);
  const std::vector<Vec> grads = {{1, 2}, {3, -2}, {2, 6}, {1, 1}, {1, 1}, {4, 4}};
  Vec expect = {1.0, 2.0}, buf = {0, 0};
  for (size_t t = 0; t < grads.size(); ++t) {
    Tensor g = tensor_of(grads[t]);
    opt.step(theta, g, s);
    if (t % 3 == 2) {
      for (int i = 0; i < 2; ++i) {
        const double mean = (grads[t - 2][i] + grads[t - 1][i] + grads[t][i]) / 3.0;
        buf[i] = 0.9 * buf[i] + mean;
        expect[i] -= 0.1 * buf[i];
      }
    }
    const Vec now = theta.to_vector();
    for (int i = 0; i < 2; ++i) EXPECT_NEAR(now[i], expect[i], 1e-14) << "step " << t;
  }
}

// The EMA of the iterates: a ← d a + (1 − d) θ_{t+1}, a_0 = θ_0.
TEST(Links, ParameterEmaFollowsTheIterates) {
  const double d = 0.9;
  const auto opt = chain(sgd(0.05), parameter_ema(d));
  Tensor theta = tensor_of(kStart);
  State s = opt.init(theta);
  Vec avg = kStart;
  for (int t = 0; t < 30; ++t) {
    Tensor g = tensor_of(quad_grad(theta.to_vector()));
    opt.step(theta, g, s);
    const Vec w = theta.to_vector();
    for (size_t i = 0; i < w.size(); ++i) avg[i] += (w[i] - avg[i]) * (1 - d);
  }
  const Vec got = s.children[1].second.tensor("average").to_vector();
  for (size_t i = 0; i < avg.size(); ++i) EXPECT_NEAR(got[i], avg[i], 1e-14);
}

// Brock et al. 2021, eq. 3 unit-wise: a row with ‖G_i‖ > λ max(‖W_i‖, ε) is rescaled to that
// norm; the others pass.
TEST(Links, AdaptiveGradClipUnitWise) {
  const auto link = adaptive_grad_clip(0.1, {{0, 4, 2}, {4, 6, 2}}, 1e-3);
  // Rows: W0 = (3, 4) (‖·‖ 5, cap 0.5), W1 = (0.1, 0) (cap 0.01), W2 = (0), W3 = (0) (cap 1e-4).
  Tensor theta = tensor_of({3, 4, 0.1, 0, 0, 0});
  Tensor u = tensor_of({0.3, 0.4, 0.001, 0.0, 2.0, 0.0});
  State s = link.init(theta);
  link.update(u, s, theta);
  const Vec out = u.to_vector();
  EXPECT_NEAR(out[0], 0.3, 1e-15);  // ‖(0.3, 0.4)‖ = 0.5 ≤ 0.5: untouched
  EXPECT_NEAR(out[1], 0.4, 1e-15);
  EXPECT_NEAR(out[2], 0.001, 1e-15);  // 0.001 ≤ 0.01
  EXPECT_NEAR(out[4], 1e-4, 1e-16);   // 2 > 0.1·1e-3: clipped to λε
  EXPECT_EQ(out[5], 0.0);
}

TEST(Links, PerBlockFactorsAndFreeze) {
  const auto opt = chain(scale_by_block(kBlocks, {2.0, 0.5}), sgd(0.1));
  Tensor theta = tensor_of(kStart);
  State s = opt.init(theta);
  Tensor g = tensor_of(Vec(6, 1.0));
  opt.step(theta, g, s);
  const Vec w = theta.to_vector();
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(w[i], kStart[i] - 0.1 * (i < 4 ? 2.0 : 0.5), 1e-15);

  // Freezing block 1 under Adam: it never moves, the rest follows Adam on its own coordinates
  // (Adam is elementwise, so the frozen coordinates cannot influence them).
  const auto frozen = chain(adam(0.05), freeze({kBlocks[1]}));
  const auto trajectory = run(frozen, kStart, 30);
  const auto plain = run(adam(0.05), kStart, 30);
  for (size_t t = 0; t < trajectory.size(); ++t)
    for (int i = 0; i < 6; ++i)
      if (i < 4) EXPECT_NEAR(trajectory[t][i], plain[t][i], 1e-13) << "step " << t << " coordinate " << i;
      else EXPECT_EQ(trajectory[t][i], kStart[i]) << "step " << t << " coordinate " << i;
}

// masked(inner): inner acts on the blocks, the update passes unchanged elsewhere.
TEST(Links, MaskedAppliesInnerOnTheBlocksOnly) {
  const auto link = masked(clip_by_value(0.5), {{1, 3, 1}});
  Tensor theta = tensor_of({0, 0, 0, 0});
  Tensor u = tensor_of({2.0, 2.0, -3.0, 4.0});
  State s = link.init(theta);
  link.update(u, s, theta);
  EXPECT_EQ(u.to_vector(), (Vec{2.0, 0.5, -0.5, 4.0}));
}

// SGLD on f = ½λθ² as chain(scale_by_learning_rate(η), add_noise(√(2η/β))): θ ← (1−ηλ)θ +
// √(2η/β)ξ has the stationary variance 2/(βλ(2 − ηλ)). 20,000 independent coordinates after
// 400 steps (ηλ = 0.05: the start's memory is 0.95^800 ≈ 1e-18).
TEST(Links, AddNoiseGivesSgldsStationaryVariance) {
  const double eta = 0.05, lambda = 1.0, beta = 4.0;
  const int64_t p = 20000;
  const auto opt = langevin(eta, beta, /*seed=*/7);
  Tensor theta = Tensor::full({p}, 3.0, DType::f64);
  State s = opt.init(theta);
  Tensor g = Tensor::empty({p}, DType::f64);
  for (int t = 0; t < 400; ++t) {
    for (int64_t i = 0; i < p; ++i) g.data<double>()[i] = lambda * theta.data<double>()[i];
    opt.step(theta, g, s);
  }
  double mean = 0, sq = 0;
  for (int64_t i = 0; i < p; ++i) {
    mean += theta.data<double>()[i];
    sq += theta.data<double>()[i] * theta.data<double>()[i];
  }
  mean /= p;
  const double var = sq / p - mean * mean;
  const double expected = 2.0 / (beta * lambda * (2.0 - eta * lambda));
  // The sample variance of 20,000 Gaussians has relative standard error √(2/20000) = 1%.
  EXPECT_NEAR(var / expected, 1.0, 0.04);
  EXPECT_NEAR(mean, 0.0, 4 * std::sqrt(expected / p));
}

// The noise depends on (seed, step) only: a state restored from a checkpoint draws the same.
TEST(Links, AddNoiseIsReproducibleAcrossRestore) {
  const auto opt = noisy_sgd(0.1, 0.5, 3);
  Tensor a = tensor_of(kStart);
  State sa = opt.init(a);
  for (int t = 0; t < 5; ++t) {
    Tensor g = tensor_of(quad_grad(a.to_vector()));
    opt.step(a, g, sa);
  }
  Tensor b = a.clone();
  State sb = opt.init(b);
  sb.restore(sa.named_tensors());
  for (int t = 0; t < 5; ++t) {
    Tensor ga = tensor_of(quad_grad(a.to_vector())), gb = tensor_of(quad_grad(b.to_vector()));
    opt.step(a, ga, sa);
    opt.step(b, gb, sb);
  }
  EXPECT_EQ(a.to_vector(), b.to_vector());
}

// Polyak's step on f = ½‖x‖² (f* = 0): γ = f/‖∇f‖² = ½, so x ← x/2; capped at γ_max = 0.3: x ← 0.7x.
TEST(Links, PolyakStepOnTheSquaredNorm) {
  FunctionObjective f(3, [](const Tensor& x, Tensor& g) {
    double v = 0;
    for (int i = 0; i < 3; ++i) {
      g.set(i, x.at(i));
      v += 0.5 * x.at(i) * x.at(i);
    }
    return v;
  });
  const Tensor x0 = tensor_of({1.0, -2.0, 4.0});
  const Trace halves = minimize(f, x0, polyak_sgd(1.0), {.max_steps = 3});
  const Trace capped = minimize(f, x0, polyak_sgd(0.3), {.max_steps = 3});
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(halves.theta.at(i), x0.at(i) / 8.0, 1e-15);
    EXPECT_NEAR(capped.theta.at(i), x0.at(i) * 0.343, 1e-14);
  }
  // Without the loss the link refuses instead of guessing.
  Tensor theta = x0.clone(), g = x0.clone();
  const auto opt = polyak_sgd(1.0);
  State s = opt.init(theta);
  EXPECT_THROW(opt.step(theta, g, s), InputError);
}

// Foret et al. 2021, eq. 2–3 on the quadratic: g_SAM = Λ(w + ρ Λw/‖Λw‖); ASAM (Kwon et al.
// 2021, eq. 9) with T = |w| + η: g = Λ(w + ρ T²Λw/‖TΛw‖).
TEST(Links, SamAndAsamMatchTheirPapers) {
  for (bool adaptive : {false, true}) {
    const double eta = 0.05, rho = 0.1, asam_eta = 0.01;
    std::vector<Vec> literal;
    Vec w = kStart;
    for (int t = 0; t < 30; ++t) {
      const Vec g = quad_grad(w);
      Vec tg(w.size()), eps(w.size()), wp(w.size());
      for (size_t i = 0; i < w.size(); ++i) tg[i] = (adaptive ? std::abs(w[i]) + asam_eta : 1.0) * g[i];
      const double n = norm_of(tg);
      for (size_t i = 0; i < w.size(); ++i) {
        const double ti = adaptive ? std::abs(w[i]) + asam_eta : 1.0;
        wp[i] = w[i] + rho * ti * ti * g[i] / n;
      }
      const Vec gs = quad_grad(wp);
      for (size_t i = 0; i < w.size(); ++i) w[i] -= eta * gs[i];
      literal.push_back(w);
    }
    expect_close(run(chain(sam(rho, adaptive, asam_eta), sgd(eta)), kStart, 30), literal, 1e-13);
  }
  // No gradient_at: refused with a message.
  Tensor theta = tensor_of(kStart), g = tensor_of(kStart);
  const auto opt = chain(sam(0.1), sgd(0.1));
  State s = opt.init(theta);
  EXPECT_THROW(opt.step(theta, g, s), InputError);
}

// Blocks that overlap, leave θ or do not split into their rows are refused at init.
TEST(Links, BadBlocksAreRefused) {
  Tensor theta = tensor_of(kStart);
  EXPECT_THROW(scale_by_trust_ratio({{0, 4}, {3, 6}}).init(theta), InputError);
  EXPECT_THROW(scale_by_trust_ratio({{0, 7}}).init(theta), InputError);
  EXPECT_THROW(adaptive_grad_clip(0.1, {{0, 5, 2}}).init(theta), InputError);
}
