// The links beyond the seed methods: the torch.optim directions (NAdam, RAdam, Adamax,
// Adadelta, Rprop, ASGD's averaging), and the optax ones (Lion, trust ratios, Adafactor,
// AGC, noise, masks, Lookahead, MultiSteps, Polyak steps, SAM). Conventions of transform.hpp.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "checks.hpp"
#include "descent/core/error.hpp"
#include "descent/core/rng.hpp"
#include "descent/optim/transform.hpp"
#include "link_kit.hpp"

namespace descent::optim {

using detail::check_decay;
using detail::check_nonnegative;
using detail::check_positive;
using detail::Elementwise;
using detail::make;
using detail::zeros_like;

namespace {

template <class T>
T sign_of(T x) {
  return static_cast<T>((x > T(0)) - (x < T(0)));
}

// ---------------------------------------------------------------- torch.optim directions

class ScaleByNadam final : public Elementwise<ScaleByNadam> {
 public:
  ScaleByNadam(double b1, double b2, double eps, double psi) : b1_(b1), b2_(b2), eps_(eps), psi_(psi) {
    check_decay("scale_by_nadam", "b1", b1);
    check_decay("scale_by_nadam", "b2", b2);
    check_positive("scale_by_nadam", "eps", eps);
    check_nonnegative("scale_by_nadam", "momentum_decay", psi);
  }
  std::string name() const override {
    return fmt::format("scale_by_nadam(b1={}, b2={}, eps={}, momentum_decay={})", b1_, b2_, eps_, psi_);
  }
  State init(const Tensor& params) const override {
    State s;
    s.tensors.emplace_back("mu", zeros_like(params));
    s.tensors.emplace_back("nu", zeros_like(params));
    s.tensors.emplace_back("mu_product", Tensor::full({1}, 1.0, DType::f64));
    return s;
  }
  template <class T>
  void apply(T* u, State& s, const Tensor&, int64_t n) const {
    const double t = static_cast<double>(s.step + 1);
    const double bc2 = 1.0 - std::pow(b2_, t);
    const double mu = b1_ * (1.0 - 0.5 * std::pow(0.96, t * psi_));
    const double mu_next = b1_ * (1.0 - 0.5 * std::pow(0.96, (t + 1.0) * psi_));
    double& prod = s.tensor("mu_product").data<double>()[0];
    prod *= mu;
    const T cg = static_cast<T>((1.0 - mu) / (1.0 - prod));
    const T cm = static_cast<T>(mu_next / (1.0 - prod * mu_next));
    T* m = s.tensor("mu").data<T>();
    T* v = s.tensor("nu").data<T>();
    const T b1 = static_cast<T>(b1_), b2 = static_cast<T>(b2_), one_b1 = static_cast<T>(1.0 - b1_),
            one_b2 = static_cast<T>(1.0 - b2_), eps = static_cast<T>(eps_), c2 = static_cast<T>(bc2);
    for (int64_t i = 0; i < n; ++i) {
      m[i] = b1 * m[i] + one_b1 * u[i];
      v[i] = b2 * v[i] + one_b2 * (u[i] * u[i]);
      const T denom = std::sqrt(v[i] / c2) + eps;
      u[i] = cg * u[i] / denom + cm * m[i] / denom;
    }
  }

 private:
  double b1_, b2_, eps_, psi_;
};

class ScaleByRadam final : public Elementwise<ScaleByRadam> {
 public:
  ScaleByRadam(double b1, double b2, double eps) : b1_(b1), b2_(b2), eps_(eps) {
    check_decay("scale_by_radam", "b1", b1);
    check_decay("scale_by_radam", "b2", b2);
    check_positive("scale_by_radam", "eps", eps);
  }
  std::string name() const override { return fmt::format("scale_by_radam(b1={}, b2={}, eps={})", b1_, b2_, eps_); }
  State init(const Tensor& params) const override {
    State s;
    s.tensors.emplace_back("mu", zeros_like(params));
    s.tensors.emplace_back("nu", zeros_like(params));
    return s;
  }
  template <class T>
  void apply(T* u, State& s, const Tensor&, int64_t n) const {
    const double t = static_cast<double>(s.step + 1);
    const double bc1 = 1.0 - std::pow(b1_, t), bc2 = 1.0 - std::pow(b2_, t);
    const double rho_inf = 2.0 / (1.0 - b2_) - 1.0;
    const double rho_t = rho_inf - 2.0 * t * std::pow(b2_, t) / bc2;
    T* m = s.tensor("mu").data<T>();
    T* v = s.tensor("nu").data<T>();
    const T b1 = static_cast<T>(b1_), b2 = static_cast<T>(b2_), one_b1 = static_cast<T>(1.0 - b1_),
            one_b2 = static_cast<T>(1.0 - b2_), eps = static_cast<T>(eps_), c1 = static_cast<T>(bc1);
    if (rho_t > 5.0) {
      const double rect =
          std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t));
      const T sq2 = static_cast<T>(std::sqrt(bc2)), r = static_cast<T>(rect);
      for (int64_t i = 0; i < n; ++i) {
        m[i] = b1 * m[i] + one_b1 * u[i];
        v[i] = b2 * v[i] + one_b2 * (u[i] * u[i]);
        u[i] = (m[i] / c1) * (sq2 / (std::sqrt(v[i]) + eps)) * r;
      }
    } else {
      // Too few steps for the variance of the adaptive rate to be finite: plain momentum.
      for (int64_t i = 0; i < n; ++i) {
        m[i] = b1 * m[i] + one_b1 * u[i];
        v[i] = b2 * v[i] + one_b2 * (u[i] * u[i]);
        u[i] = m[i] / c1;
      }
    }
  }

 private:
  double b1_, b2_, eps_;
};

class ScaleByAdamax final : public Elementwise<ScaleByAdamax> {
 public:
  ScaleByAdamax(double b1, double b2, double eps) : b1_(b1), b2_(b2), eps_(eps) {
    check_decay("scale_by_adamax", "b1", b1);
    check_decay("scale_by_adamax", "b2", b2);
    check_positive("scale_by_adamax", "eps", eps);
  }
  std::string name() const override { return fmt::format("scale_by_adamax(b1={}, b2={}, eps={})", b1_, b2_, eps_); }
  State init(const Tensor& params) const override {
    State s;
    s.tensors.emplace_back("mu", zeros_like(params));
    s.tensors.emplace_back("inf_norm", zeros_like(params));
    return s;
  }
  template <class T>
  void apply(T* u, State& s, const Tensor&, int64_t n) const {
    const T bc1 = static_cast<T>(1.0 - std::pow(b1_, static_cast<double>(s.step + 1)));
    T* m = s.tensor("mu").data<T>();
    T* w = s.tensor("inf_norm").data<T>();
    const T b1 = static_cast<T>(b1_), b2 = static_cast<T>(b2_), one_b1 = static_cast<T>(1.0 - b1_),
            eps = static_cast<T>(eps_);
    for (int64_t i = 0; i < n; ++i) {
      m[i] = b1 * m[i] + one_b1 * u[i];
      w[i] = std::max(b2 * w[i], std::abs(u[i]) + eps);
      u[i] = m[i] / (bc1 * w[i]);
    }
  }

 private:
  double b1_, b2_, eps_;
};

class ScaleByAdadelta final : public Elementwise<ScaleByAdadelta> {
 public:
  ScaleByAdadelta(double rho, double eps) : rho_(rho), eps_(eps) {
    check_decay("scale_by_adadelta", "rho", rho);
    check_positive("scale_by_adadelta", "eps", eps);
  }
  std::string name() const override { return fmt::format("scale_by_adadelta(rho={}, eps={})", rho_, eps_); }
  State init(const Tensor& params) const override {
    State s;
    s.tensors.emplace_back("square_avg", zeros_like(params));
    s.tensors.emplace_back("acc_delta", zeros_like(params));
    return s;
  }
  template <class T>
  void apply(T* u, State& s, const Tensor&, int64_t n) const {
    T* sq = s.tensor("square_avg").data<T>();
    T* acc = s.tensor("acc_delta").data<T>();
    const T rho = static_cast<T>(rho_), one_rho = static_cast<T>(1.0 - rho_), eps = static_cast<T>(eps_);
    for (int64_t i = 0; i < n; ++i) {
      sq[i] = rho * sq[i] + one_rho * (u[i] * u[i]);
      const T delta = std::sqrt(acc[i] + eps) / std::sqrt(sq[i] + eps) * u[i];
      acc[i] = rho * acc[i] + one_rho * (delta * delta);
      u[i] = delta;
    }
  }

 private:
  double rho_, eps_;
};

class ScaleByRprop final : public Elementwise<ScaleByRprop> {
 public:
  ScaleByRprop(double initial, double eta_minus, double eta_plus, double lo, double hi)
      : initial_(initial), eta_minus_(eta_minus), eta_plus_(eta_plus), lo_(lo), hi_(hi) {
    check_positive("scale_by_rprop", "initial_step", initial);
    DESCENT_CHECK(eta_minus > 0 && eta_minus < 1 && eta_plus > 1 && std::isfinite(eta_plus), InputError,
                  "scale_by_rprop: need 0 < eta_minus < 1 < eta_plus, got {} and {}", eta_minus, eta_plus);
    DESCENT_CHECK(lo >= 0 && lo <= hi && std::isfinite(hi), InputError,
                  "scale_by_rprop: need 0 <= min_step <= max_step, got {} and {}", lo, hi);
  }
  std::string name() const override {
    return fmt::format("scale_by_rprop(initial={}, etas=({}, {}), steps=({}, {}))", initial_, eta_minus_, eta_plus_,
                       lo_, hi_);
  }
  State init(const Tensor& params) const override {
    State s;
    s.tensors.emplace_back("prev", zeros_like(params));
    s.tensors.emplace_back("step_size", Tensor::full({params.numel()}, initial_, params.dtype()));
    return s;
  }
  template <class T>
  void apply(T* u, State& s, const Tensor&, int64_t n) const {
    T* prev = s.tensor("prev").data<T>();
    T* step = s.tensor("step_size").data<T>();
    const T em = static_cast<T>(eta_minus_), ep = static_cast<T>(eta_plus_), lo = static_cast<T>(lo_),
            hi = static_cast<T>(hi_);
    for (int64_t i = 0; i < n; ++i) {
      const T agree = sign_of(u[i] * prev[i]);
      const T factor = agree > 0 ? ep : agree < 0 ? em : T(1);
      step[i] = std::clamp(step[i] * factor, lo, hi);
      const T g = agree < 0 ? T(0) : u[i];
      prev[i] = g;
      u[i] = -sign_of(g) * step[i];
    }
  }

 private:
  double initial_, eta_minus_, eta_plus_, lo_, hi_;
};

class AverageParameters final : public Elementwise<AverageParameters> {
 public:
  // kind 0: ASGD's 1/max(1, t − t0); kind 1: EMA with weight 1 − decay.
  AverageParameters(int kind, double c) : kind_(kind), c_(c) {
    if (kind == 0) check_nonnegative("asgd_average", "t0", c);
    else check_decay("parameter_ema", "decay", c);
  }
  std::string name() const override {
    return kind_ == 0 ? fmt::format("asgd_average(t0={})", c_) : fmt::format("parameter_ema(decay={})", c_);
  }
  State init(const Tensor& params) const override {
    State s;
    Tensor a = zeros_like(params);
    a.copy_from(params.reshape({params.numel()}));
    s.tensors.emplace_back("average", a);
    return s;
  }
  template <class T>
  void apply(T* u, State& s, const Tensor& params, int64_t n) const {
    const double t = static_cast<double>(s.step + 1);
    const double w = kind_ == 0 ? 1.0 / std::max(1.0, t - c_) : 1.0 - c_;
    T* a = s.tensor("average").data<T>();
    const T* p = params.data<T>();
    if (w == 1.0) {
      for (int64_t i = 0; i < n; ++i) a[i] = p[i] + u[i];
      return;
    }
    const T wt = static_cast<T>(w);
    for (int64_t i = 0; i < n; ++i) a[i] += (p[i] + u[i] - a[i]) * wt;
  }

 private:
  int kind_;
  double c_;
};

class Negate final : public Elementwise<Negate> {
 public:
  std::string name() const override { return "negate"; }
  State init(const Tensor&) const override { return {}; }
  template <class T>
  void apply(T* u, State&, const Tensor&, int64_t n) const {
    for (int64_t i = 0; i < n; ++i) u[i] = -u[i];
  }
};

// ---------------------------------------------------------------- optax links

class ScaleByLion final : public Elementwise<ScaleByLion> {
 public:
  ScaleByLion(double b1, double b2) : b1_(b1), b2_(b2) {
    check_decay("scale_by_lion", "b1", b1);
    check_decay("scale_by_lion", "b2", b2);
  }
  std::string name() const override { return fmt::format("scale_by_lion(b1={}, b2={})", b1_, b2_); }
  State init(const Tensor& params) const override {
    State s;
    s.tensors.emplace_back("mu", zeros_like(params));
    return s;
  }
  template <class T>
  void apply(T* u, State& s, const Tensor&, int64_t n) const {
    T* m = s.tensor("mu").data<T>();
    const T b1 = static_cast<T>(b1_), b2 = static_cast<T>(b2_), one_b1 = static_cast<T>(1.0 - b1_),
            one_b2 = static_cast<T>(1.0 - b2_);
    for (int64_t i = 0; i < n; ++i) {
      const T g = u[i];
      u[i] = sign_of(b1 * m[i] + one_b1 * g);
      m[i] = b2 * m[i] + one_b2 * g;
    }
  }

 private:
  double b1_, b2_;
};

// Links over blocks check them against θ at init and keep them.
class BlockLink : public Transform {
 public:
  BlockLink(const char* who, std::vector<Block> blocks) : who_(who), blocks_(std::move(blocks)) {}
  std::vector<Block> blocks_for(const Tensor& params) const { return checked_blocks(who_, blocks_, params.numel()); }

 protected:
  const char* who_;
  std::vector<Block> blocks_;
};

template <class T>
double sum_squares(const T* x, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return s;
}

class ScaleByTrustRatio final : public BlockLink {
 public:
  ScaleByTrustRatio(std::vector<Block> blocks, double c, double eps)
      : BlockLink("scale_by_trust_ratio", std::move(blocks)), c_(c), eps_(eps) {
    check_positive(who_, "trust_coefficient", c);
    check_nonnegative(who_, "eps", eps);
  }
  std::string name() const override { return fmt::format("scale_by_trust_ratio(c={}, eps={})", c_, eps_); }
  State init(const Tensor& params) const override {
    blocks_for(params);
    return {};
  }
  void update(Tensor& u, State& s, const Tensor& params) const override {
    const auto blocks = blocks_for(params);
    dispatch_floating(u.dtype(), who_, [&](auto zero) {
      using T = decltype(zero);
      T* g = u.data<T>();
      const T* p = params.data<T>();
      for (const Block& b : blocks) {
        const double pn = std::sqrt(sum_squares(p + b.begin, b.size()));
        const double un = std::sqrt(sum_squares(g + b.begin, b.size()));
        if (pn == 0.0 || un == 0.0) continue;
        const T r = static_cast<T>(c_ * pn / (un + eps_));
        for (int64_t i = b.begin; i < b.end; ++i) g[i] *= r;
      }
    });
    ++s.step;
  }

 private:
  double c_, eps_;
};

class ScaleByFactoredRms final : public BlockLink {
 public:
  ScaleByFactoredRms(std::vector<Block> blocks, double decay_rate, double eps, double clip, int64_t min_dim)
      : BlockLink("scale_by_factored_rms", std::move(blocks)), decay_rate_(decay_rate), eps_(eps), clip_(clip),
        min_dim_(min_dim) {
    check_positive(who_, "decay_rate", decay_rate);
    check_positive(who_, "eps", eps);
    check_positive(who_, "clipping_threshold", clip);
    DESCENT_CHECK(min_dim >= 1, InputError, "{}: min_dim_size_to_factor must be >= 1, got {}", who_, min_dim);
  }
  std::string name() const override {
    return fmt::format("scale_by_factored_rms(decay_rate={}, eps={}, clipping_threshold={}, min_dim_size_to_factor={})",
                       decay_rate_, eps_, clip_, min_dim_);
  }
  // optax's _factored_dims for a 2-D block: factored when its smaller side has at least
  // min_dim_size_to_factor entries (a [10, 256] output layer keeps the full v).
  bool factored(const Block& b) const { return b.rows > 1 && std::min(b.rows, b.cols()) >= min_dim_; }
  // Packed statistics: v_row holds R of every factored block in block order, v_col C, and v
  // the full second moment of unfactored blocks (and of θ outside every block), in θ's order.
  State init(const Tensor& params) const override {
    const auto blocks = blocks_for(params);
    int64_t rows = 0, cols = 0, full = params.numel();
    for (const Block& b : blocks)
      if (factored(b)) {
        rows += b.rows;
        cols += b.cols();
        full -= b.size();
      }
    State s;
    s.tensors.emplace_back("v_row", Tensor::zeros({std::max<int64_t>(rows, 1)}, params.dtype()));
    s.tensors.emplace_back("v_col", Tensor::zeros({std::max<int64_t>(cols, 1)}, params.dtype()));
    s.tensors.emplace_back("v", Tensor::zeros({std::max<int64_t>(full, 1)}, params.dtype()));
    return s;
  }
  // optax.scale_by_factored_rms, for each block:
  //   factored:   R ← β R + (1−β) mean_cols(u² + ε1),  C ← β C + (1−β) mean_rows(u² + ε1),
  //               out_ij = u_ij · (R_i / mean(R))^{−½} · C_j^{−½}
  //   unfactored: v ← β v + (1−β)(u² + ε1),  out = u · v^{−½}
  // (the statistic of the block's shorter side is the one normalized by its mean, as optax's
  // argsort of the shape does; ties: the rows). The two factors are applied one after the
  // other, never as the product R_i C_j: in float32 that product underflows to 0 where both
  // are ≈ ε1 = 1e-30 (a row and a column whose gradients are all zero: a ReLU unit dead on
  // the whole batch, a constant input pixel), and u/√0 = 0/0 poisoned θ at the first step on
  // full Fashion-MNIST. Then clip_by_block_rms: out_b ← out_b / max(1, RMS(out_b)/d).
  void update(Tensor& u, State& s, const Tensor& params) const override {
    const auto blocks = blocks_for(params);
    const double t = static_cast<double>(s.step + 1);
    const double beta = 1.0 - std::pow(t, -decay_rate_);  // Shazeer & Stern §7.2: β̂2_t = 1 − t^{−0.8}
    dispatch_floating(u.dtype(), who_, [&](auto zero) {
      using T = decltype(zero);
      T* g = u.data<T>();
      T* vr = s.tensor("v_row").data<T>();
      T* vc = s.tensor("v_col").data<T>();
      T* v = s.tensor("v").data<T>();
      const T bt = static_cast<T>(beta), one_bt = static_cast<T>(1.0 - beta), eps = static_cast<T>(eps_);
      auto clip = [&](int64_t begin, int64_t end) {
        const double rms = std::sqrt(sum_squares(g + begin, end - begin) / static_cast<double>(end - begin));
        const double d = std::max(1.0, rms / clip_);
        if (d > 1.0)
          for (int64_t i = begin; i < end; ++i) g[i] = static_cast<T>(g[i] / d);
      };
      // The stretches of θ outside the factored blocks, in θ's order, share the packed v.
      std::vector<std::pair<int64_t, int64_t>> factored_spans;
      int64_t ro = 0, co = 0;
      for (const Block& b : blocks) {
        if (!factored(b)) continue;
        const int64_t r = b.rows, c = b.cols();
        T* gb = g + b.begin;
        T* R = vr + ro;
        T* C = vc + co;
        for (int64_t i = 0; i < r; ++i) {
          double acc = 0;
          for (int64_t j = 0; j < c; ++j) acc += static_cast<double>(gb[i * c + j] * gb[i * c + j] + eps);
          R[i] = bt * R[i] + one_bt * static_cast<T>(acc / static_cast<double>(c));
        }
        for (int64_t j = 0; j < c; ++j) {
          double acc = 0;
          for (int64_t i = 0; i < r; ++i) acc += static_cast<double>(gb[i * c + j] * gb[i * c + j] + eps);
          C[j] = bt * C[j] + one_bt * static_cast<T>(acc / static_cast<double>(r));
        }
        const bool normalize_rows = r <= c;
        double mean = 0;
        for (int64_t k = 0; k < (normalize_rows ? r : c); ++k) mean += static_cast<double>(normalize_rows ? R[k] : C[k]);
        const T m = static_cast<T>(mean / static_cast<double>(normalize_rows ? r : c));
        for (int64_t i = 0; i < r; ++i) {
          const T row_factor = normalize_rows ? T(1) / std::sqrt(R[i] / m) : T(1) / std::sqrt(R[i]);
          for (int64_t j = 0; j < c; ++j) {
            const T col_factor = normalize_rows ? T(1) / std::sqrt(C[j]) : T(1) / std::sqrt(C[j] / m);
            gb[i * c + j] = gb[i * c + j] * row_factor * col_factor;
          }
        }
        clip(b.begin, b.end);
        factored_spans.emplace_back(b.begin, b.end);
        ro += r;
        co += c;
      }
      std::sort(factored_spans.begin(), factored_spans.end());
      int64_t k = 0, i = 0;
      auto unfactored_until = [&](int64_t end) {
        for (; i < end; ++i, ++k) {
          v[k] = bt * v[k] + one_bt * (g[i] * g[i] + eps);
          g[i] = g[i] / std::sqrt(v[k]);
        }
      };
      for (const auto& [begin, end] : factored_spans) {
        unfactored_until(begin);
        i = end;
      }
      unfactored_until(u.numel());
      for (const Block& b : blocks)
        if (!factored(b)) clip(b.begin, b.end);
    });
    ++s.step;
  }

 private:
  double decay_rate_, eps_, clip_;
  int64_t min_dim_;
};

class ScaleByParamBlockRms final : public BlockLink {
 public:
  ScaleByParamBlockRms(std::vector<Block> blocks, double min_scale)
      : BlockLink("scale_by_param_block_rms", std::move(blocks)), min_scale_(min_scale) {
    check_nonnegative(who_, "min_scale", min_scale);
  }
  std::string name() const override { return fmt::format("scale_by_param_block_rms(min_scale={})", min_scale_); }
  State init(const Tensor& params) const override {
    blocks_for(params);
    return {};
  }
  void update(Tensor& u, State& s, const Tensor& params) const override {
    const auto blocks = blocks_for(params);
    dispatch_floating(u.dtype(), who_, [&](auto zero) {
      using T = decltype(zero);
      T* g = u.data<T>();
      const T* p = params.data<T>();
      for (const Block& b : blocks) {
        const double rms = std::sqrt(sum_squares(p + b.begin, b.size()) / static_cast<double>(b.size()));
        const T c = static_cast<T>(std::max(min_scale_, rms));
        for (int64_t i = b.begin; i < b.end; ++i) g[i] *= c;
      }
    });
    ++s.step;
  }

 private:
  double min_scale_;
};

class ScaleByBlock final : public BlockLink {
 public:
  ScaleByBlock(std::vector<Block> blocks, std::vector<double> factors)
      : BlockLink("scale_by_block", std::move(blocks)), factors_(std::move(factors)) {
    DESCENT_CHECK(factors_.size() == blocks_.size() && !blocks_.empty(), InputError,
                  "scale_by_block: {} blocks but {} factors", blocks_.size(), factors_.size());
    for (double f : factors_) DESCENT_CHECK(std::isfinite(f), InputError, "scale_by_block: factor {} is not finite", f);
  }
  std::string name() const override { return fmt::format("scale_by_block({} blocks)", blocks_.size()); }
  State init(const Tensor& params) const override {
    blocks_for(params);
    return {};
  }
  void update(Tensor& u, State& s, const Tensor&) const override {
    dispatch_floating(u.dtype(), who_, [&](auto zero) {
      using T = decltype(zero);
      T* g = u.data<T>();
      for (size_t k = 0; k < blocks_.size(); ++k) {
        const T c = static_cast<T>(factors_[k]);
        for (int64_t i = blocks_[k].begin; i < blocks_[k].end; ++i) g[i] *= c;
      }
    });
    ++s.step;
  }

 private:
  std::vector<double> factors_;
};

class AdaptiveGradClip final : public BlockLink {
 public:
  AdaptiveGradClip(double clipping, std::vector<Block> blocks, double eps)
      : BlockLink("adaptive_grad_clip", std::move(blocks)), clipping_(clipping), eps_(eps) {
    check_positive(who_, "clipping", clipping);
    check_positive(who_, "eps", eps);
  }
  std::string name() const override { return fmt::format("adaptive_grad_clip({}, eps={})", clipping_, eps_); }
  State init(const Tensor& params) const override {
    blocks_for(params);
    return {};
  }
  void update(Tensor& u, State& s, const Tensor& params) const override {
    const auto blocks = blocks_for(params);
    dispatch_floating(u.dtype(), who_, [&](auto zero) {
      using T = decltype(zero);
      T* g = u.data<T>();
      const T* p = params.data<T>();
      for (const Block& b : blocks) {
        const int64_t c = b.cols();
        for (int64_t r = 0; r < b.rows; ++r) {
          const int64_t o = b.begin + r * c;
          const double wn = std::max(std::sqrt(sum_squares(p + o, c)), eps_);
          const double gn = std::sqrt(sum_squares(g + o, c));
          const double max_norm = clipping_ * wn;
          if (gn <= max_norm) continue;
          const T f = static_cast<T>(max_norm / gn);
          for (int64_t i = o; i < o + c; ++i) g[i] *= f;
        }
      }
    });
    ++s.step;
  }

 private:
  double clipping_, eps_;
};

class AddNoise final : public Transform {
 public:
  AddNoise(Schedule stddev, uint64_t seed) : stddev_(std::move(stddev)), seed_(seed) {}
  std::string name() const override { return fmt::format("add_noise({}, seed={})", stddev_.description(), seed_); }
  State init(const Tensor&) const override { return {}; }
  void update(Tensor& u, State& s, const Tensor&) const override {
    const double sigma = stddev_(s.step);
    DESCENT_CHECK(std::isfinite(sigma) && sigma >= 0, InputError, "add_noise: the schedule gave {} at step {}", sigma,
                  s.step);
    // One stream per step: the draw depends on (seed, step) only, never on earlier draws.
    Rng rng(seed_, static_cast<uint64_t>(s.step));
    dispatch_floating(u.dtype(), "add_noise", [&](auto zero) {
      using T = decltype(zero);
      T* g = u.data<T>();
      for (int64_t i = 0; i < u.numel(); ++i) g[i] += static_cast<T>(sigma * rng.normal());
    });
    ++s.step;
  }

 private:
  Schedule stddev_;
  uint64_t seed_;
};

// ---------------------------------------------------------------- wrappers

class Masked final : public BlockLink {
 public:
  Masked(GradientTransformation inner, std::vector<Block> blocks)
      : BlockLink("masked", std::move(blocks)), inner_(std::move(inner)) {
    DESCENT_CHECK(!blocks_.empty(), InputError, "masked: give at least one block");
  }
  std::string name() const override { return fmt::format("masked({}, {} blocks)", inner_.name(), blocks_.size()); }
  State init(const Tensor& params) const override {
    blocks_for(params);
    State s;
    s.tensors.emplace_back("passthrough", zeros_like(params));
    s.children.emplace_back("inner", inner_.impl().init(params));
    return s;
  }
  void update(Tensor& u, State& s, const Tensor& params) const override { update_in_context(u, s, params, {}); }
  void update_in_context(Tensor& u, State& s, const Tensor& params, const StepContext& context) const override {
    Tensor& keep = s.tensor("passthrough");
    keep.copy_from(u);
    inner_.impl().update_in_context(u, s.children[0].second, params, context);
    // Outside the blocks, the incoming update is put back.
    dispatch_floating(u.dtype(), "masked", [&](auto zero) {
      using T = decltype(zero);
      T* g = u.data<T>();
      const T* k = keep.data<T>();
      int64_t from = 0;
      auto restore = [&](int64_t a, int64_t b) {
        for (int64_t i = a; i < b; ++i) g[i] = k[i];
      };
      std::vector<Block> sorted = blocks_;
      std::sort(sorted.begin(), sorted.end(), [](const Block& a, const Block& b) { return a.begin < b.begin; });
      for (const Block& b : sorted) {
        restore(from, b.begin);
        from = b.end;
      }
      restore(from, u.numel());
    });
    ++s.step;
  }

 private:
  GradientTransformation inner_;
};

class Lookahead final : public Transform {
 public:
  Lookahead(GradientTransformation inner, int64_t k, double alpha) : inner_(std::move(inner)), k_(k), alpha_(alpha) {
    DESCENT_CHECK(k >= 1, InputError, "lookahead: sync_period must be >= 1, got {}", k);
    DESCENT_CHECK(alpha > 0 && alpha <= 1, InputError, "lookahead: alpha must lie in (0, 1], got {}", alpha);
  }
  std::string name() const override { return fmt::format("lookahead({}, k={}, alpha={})", inner_.name(), k_, alpha_); }
  State init(const Tensor& params) const override {
    State s;
    Tensor slow = zeros_like(params);
    slow.copy_from(params.reshape({params.numel()}));
    s.tensors.emplace_back("slow", slow);
    s.children.emplace_back("inner", inner_.impl().init(params));
    return s;
  }
  void update(Tensor& u, State& s, const Tensor& params) const override { update_in_context(u, s, params, {}); }
  void update_in_context(Tensor& u, State& s, const Tensor& params, const StepContext& context) const override {
    inner_.impl().update_in_context(u, s.children[0].second, params, context);
    ++s.step;
    if (s.step % k_ != 0) return;
    // Sync: φ ← φ + α(θ_fast − φ) with θ_fast = θ + u; θ jumps to φ, so u = φ − θ.
    dispatch_floating(u.dtype(), "lookahead", [&](auto zero) {
      using T = decltype(zero);
      T* g = u.data<T>();
      T* phi = s.tensor("slow").data<T>();
      const T* p = params.data<T>();
      const T a = static_cast<T>(alpha_);
      for (int64_t i = 0; i < u.numel(); ++i) {
        phi[i] += a * (p[i] + g[i] - phi[i]);
        g[i] = phi[i] - p[i];
      }
    });
  }

 private:
  GradientTransformation inner_;
  int64_t k_;
  double alpha_;
};

class MultiSteps final : public Transform {
 public:
  MultiSteps(GradientTransformation inner, int64_t k) : inner_(std::move(inner)), k_(k) {
    DESCENT_CHECK(k >= 1, InputError, "multi_steps: every_k must be >= 1, got {}", k);
  }
  std::string name() const override { return fmt::format("multi_steps({}, k={})", inner_.name(), k_); }
  State init(const Tensor& params) const override {
    State s;
    s.tensors.emplace_back("accumulator", zeros_like(params));
    s.children.emplace_back("inner", inner_.impl().init(params));
    return s;
  }
  void update(Tensor& u, State& s, const Tensor& params) const override { update_in_context(u, s, params, {}); }
  void update_in_context(Tensor& u, State& s, const Tensor& params, const StepContext& context) const override {
    Tensor& acc = s.tensor("accumulator");
    ++s.step;
    const bool emit = s.step % k_ == 0;
    dispatch_floating(u.dtype(), "multi_steps", [&](auto zero) {
      using T = decltype(zero);
      T* g = u.data<T>();
      T* a = acc.data<T>();
      for (int64_t i = 0; i < u.numel(); ++i) {
        a[i] += g[i];
        g[i] = emit ? a[i] / static_cast<T>(k_) : T(0);
        if (emit) a[i] = T(0);
      }
    });
    if (emit) inner_.impl().update_in_context(u, s.children[0].second, params, context);
  }

 private:
  GradientTransformation inner_;
  int64_t k_;
};

class ScaleByPolyak final : public Transform {
 public:
  ScaleByPolyak(double max_rate, double f_min, double eps) : max_rate_(max_rate), f_min_(f_min), eps_(eps) {
    check_positive("scale_by_polyak", "max_rate", max_rate);
    check_nonnegative("scale_by_polyak", "eps", eps);
    DESCENT_CHECK(std::isfinite(f_min), InputError, "scale_by_polyak: f_min must be finite, got {}", f_min);
  }
  std::string name() const override {
    return fmt::format("scale_by_polyak(max_rate={}, f_min={}, eps={})", max_rate_, f_min_, eps_);
  }
  State init(const Tensor&) const override { return {}; }
  void update(Tensor& u, State& s, const Tensor& params) const override { update_in_context(u, s, params, {}); }
  void update_in_context(Tensor& u, State& s, const Tensor&, const StepContext& context) const override {
    DESCENT_CHECK(!std::isnan(context.value), InputError,
                  "scale_by_polyak needs the step's loss value: step the optimizer with a StepContext");
    dispatch_floating(u.dtype(), "scale_by_polyak", [&](auto zero) {
      using T = decltype(zero);
      T* g = u.data<T>();
      const double sq = sum_squares(g, u.numel());
      const double gap = std::max(0.0, context.value - f_min_);
      const double rate = sq + eps_ > 0 ? std::min(max_rate_, gap / (sq + eps_)) : 0.0;
      const T c = static_cast<T>(rate);
      for (int64_t i = 0; i < u.numel(); ++i) g[i] *= c;
    });
    ++s.step;
  }

 private:
  double max_rate_, f_min_, eps_;
};

class ReduceOnPlateau final : public Transform {
 public:
  ReduceOnPlateau(double factor, int64_t patience, double threshold, int64_t cooldown, double min_scale,
                  int64_t accumulation)
      : factor_(factor), threshold_(threshold), min_scale_(min_scale), patience_(patience), cooldown_(cooldown),
        accumulation_(accumulation) {
    DESCENT_CHECK(factor > 0 && factor < 1, InputError, "reduce_on_plateau: factor must lie in (0, 1), got {}", factor);
    DESCENT_CHECK(patience >= 0 && cooldown >= 0 && accumulation >= 1, InputError,
                  "reduce_on_plateau: need patience >= 0, cooldown >= 0, accumulation >= 1; got {}, {}, {}", patience,
                  cooldown, accumulation);
    check_nonnegative("reduce_on_plateau", "threshold", threshold);
    check_nonnegative("reduce_on_plateau", "min_scale", min_scale);
  }
  std::string name() const override {
    return fmt::format("reduce_on_plateau(factor={}, patience={}, threshold={}, cooldown={}, accumulation={})",
                       factor_, patience_, threshold_, cooldown_, accumulation_);
  }
  State init(const Tensor&) const override {
    State s;
    s.tensors.emplace_back(
        "plateau", Tensor::from_vector(std::vector<double>{1.0, std::numeric_limits<double>::infinity(), 0, 0, 0}, {5}));
    return s;
  }
  void update(Tensor& u, State& s, const Tensor& params) const override { update_in_context(u, s, params, {}); }
  void update_in_context(Tensor& u, State& s, const Tensor&, const StepContext& context) const override {
    DESCENT_CHECK(!std::isnan(context.value), InputError,
                  "reduce_on_plateau needs the step's loss value: step the optimizer with a StepContext");
    double* st = s.tensor("plateau").data<double>();
    double& scale = st[0];
    dispatch_floating(u.dtype(), "reduce_on_plateau", [&](auto zero) {
      using T = decltype(zero);
      T* g = u.data<T>();
      const T c = static_cast<T>(scale);
      for (int64_t i = 0; i < u.numel(); ++i) g[i] *= c;
    });
    ++s.step;
    st[4] += context.value;
    if (s.step % accumulation_ != 0) return;
    const double metric = st[4] / static_cast<double>(accumulation_);
    st[4] = 0.0;
    // torch ReduceLROnPlateau.step, operation for operation.
    if (metric < st[1] * (1.0 - threshold_)) {
      st[1] = metric;
      st[2] = 0;
    } else {
      st[2] += 1;
    }
    if (st[3] > 0) {
      st[3] -= 1;
      st[2] = 0;
    }
    if (st[2] > static_cast<double>(patience_)) {
      const double reduced = std::max(scale * factor_, min_scale_);
      if (scale - reduced > 1e-8) scale = reduced;
      st[3] = static_cast<double>(cooldown_);
      st[2] = 0;
    }
  }

 private:
  double factor_, threshold_, min_scale_;
  int64_t patience_, cooldown_, accumulation_;
};

class Sam final : public Transform {
 public:
  Sam(double rho, bool adaptive, double eta) : rho_(rho), eta_(eta), adaptive_(adaptive) {
    check_positive("sam", "rho", rho);
    check_nonnegative("sam", "eta", eta);
  }
  std::string name() const override {
    return adaptive_ ? fmt::format("asam(rho={}, eta={})", rho_, eta_) : fmt::format("sam(rho={})", rho_);
  }
  State init(const Tensor& params) const override {
    State s;
    s.tensors.emplace_back("perturbed", zeros_like(params));
    return s;
  }
  void update(Tensor& u, State& s, const Tensor& params) const override { update_in_context(u, s, params, {}); }
  void update_in_context(Tensor& u, State& s, const Tensor& params, const StepContext& context) const override {
    DESCENT_CHECK(static_cast<bool>(context.gradient_at), InputError,
                  "{} needs the gradient of the same batch at θ + ε: step the optimizer with a StepContext that "
                  "has gradient_at",
                  name());
    Tensor& q = s.tensor("perturbed");
    dispatch_floating(u.dtype(), "sam", [&](auto zero) {
      using T = decltype(zero);
      const T* g = u.data<T>();
      const T* p = params.data<T>();
      T* x = q.data<T>();
      const int64_t n = u.numel();
      // ε̂ = ρ T²g/‖Tg‖ (T = I for SAM); the ascent step of radius ρ in the T⁻¹ metric.
      double norm_sq = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        const double t = adaptive_ ? std::abs(static_cast<double>(p[i])) + eta_ : 1.0;
        norm_sq += (t * g[i]) * (t * g[i]);
      }
      const double norm = std::sqrt(norm_sq);
      const double c = norm > 0 ? rho_ / norm : 0.0;
      for (int64_t i = 0; i < n; ++i) {
        const double t = adaptive_ ? std::abs(static_cast<double>(p[i])) + eta_ : 1.0;
        x[i] = static_cast<T>(p[i] + c * t * t * g[i]);
      }
    });
    const double value = context.gradient_at(q.reshape(params.shape()), u);
    DESCENT_CHECK(std::isfinite(value), NonFiniteError, "{}: the loss at the ascent point θ + ε is {}", name(), value);
    ++s.step;
  }

 private:
  double rho_, eta_;
  bool adaptive_;
};

}  // namespace

GradientTransformation scale_by_nadam(double b1, double b2, double eps, double momentum_decay) {
  return make<ScaleByNadam>(b1, b2, eps, momentum_decay);
}
GradientTransformation scale_by_radam(double b1, double b2, double eps) { return make<ScaleByRadam>(b1, b2, eps); }
GradientTransformation scale_by_adamax(double b1, double b2, double eps) { return make<ScaleByAdamax>(b1, b2, eps); }
GradientTransformation scale_by_adadelta(double rho, double eps) { return make<ScaleByAdadelta>(rho, eps); }
GradientTransformation scale_by_rprop(double initial, double eta_minus, double eta_plus, double lo, double hi) {
  return make<ScaleByRprop>(initial, eta_minus, eta_plus, lo, hi);
}
GradientTransformation asgd_average(double t0) { return make<AverageParameters>(0, t0); }
GradientTransformation parameter_ema(double decay) { return make<AverageParameters>(1, decay); }
GradientTransformation negate() { return make<Negate>(); }
GradientTransformation scale_by_lion(double b1, double b2) { return make<ScaleByLion>(b1, b2); }
GradientTransformation scale_by_trust_ratio(std::vector<Block> blocks, double c, double eps) {
  return make<ScaleByTrustRatio>(std::move(blocks), c, eps);
}
GradientTransformation scale_by_factored_rms(std::vector<Block> blocks, double decay_rate, double eps, double clip,
                                             int64_t min_dim_size_to_factor) {
  return make<ScaleByFactoredRms>(std::move(blocks), decay_rate, eps, clip, min_dim_size_to_factor);
}
GradientTransformation scale_by_param_block_rms(std::vector<Block> blocks, double min_scale) {
  return make<ScaleByParamBlockRms>(std::move(blocks), min_scale);
}
GradientTransformation scale_by_block(std::vector<Block> blocks, std::vector<double> factors) {
  return make<ScaleByBlock>(std::move(blocks), std::move(factors));
}
GradientTransformation adaptive_grad_clip(double clipping, std::vector<Block> blocks, double eps) {
  return make<AdaptiveGradClip>(clipping, std::move(blocks), eps);
}
GradientTransformation add_noise(Schedule stddev, uint64_t seed) { return make<AddNoise>(std::move(stddev), seed); }
GradientTransformation masked(GradientTransformation inner, std::vector<Block> blocks) {
  return make<Masked>(std::move(inner), std::move(blocks));
}
GradientTransformation freeze(std::vector<Block> blocks) { return masked(scale(0.0), std::move(blocks)); }
GradientTransformation lookahead(GradientTransformation inner, int64_t k, double alpha) {
  return make<Lookahead>(std::move(inner), k, alpha);
}
GradientTransformation multi_steps(GradientTransformation inner, int64_t k) {
  return make<MultiSteps>(std::move(inner), k);
}
GradientTransformation scale_by_polyak(double max_rate, double f_min, double eps) {
  return make<ScaleByPolyak>(max_rate, f_min, eps);
}
GradientTransformation sam(double rho, bool adaptive, double eta) { return make<Sam>(rho, adaptive, eta); }
GradientTransformation reduce_on_plateau(double factor, int64_t patience, double threshold, int64_t cooldown,
                                         double min_scale, int64_t accumulation) {
  return make<ReduceOnPlateau>(factor, patience, threshold, cooldown, min_scale, accumulation);
}

}  // namespace descent::optim
