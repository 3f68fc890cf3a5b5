#include "descent/optim/transform.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "checks.hpp"
#include "descent/core/dtype.hpp"
#include "descent/core/error.hpp"
#include "link_kit.hpp"

namespace descent::optim {

using detail::check_decay;
using detail::check_nonnegative;
using detail::check_positive;
using detail::Elementwise;
using detail::make;
using detail::zeros_like;

namespace {

void check_updates(const char* who, const Tensor& updates, const Tensor& params) {
  DESCENT_CHECK(updates.numel() == params.numel() && updates.dtype() == params.dtype(), ShapeError,
                "{}: updates ({} elements, {}) do not match the parameters ({} elements, {})", who,
                updates.numel(), dtype_name(updates.dtype()), params.numel(), dtype_name(params.dtype()));
}

}  // namespace

// ---------------------------------------------------------------- State

Tensor& State::tensor(std::string_view name) {
  for (auto& [n, t] : tensors)
    if (n == name) return t;
  fail<InputError>("optimizer state has no buffer named '{}'", name);
}
const Tensor& State::tensor(std::string_view name) const { return const_cast<State*>(this)->tensor(name); }

namespace {
void collect(const State& s, const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) {
  out.emplace_back(prefix + "step", Tensor::from_vector(std::vector<int64_t>{s.step}, Shape{1}));
  for (const auto& [n, t] : s.tensors) out.emplace_back(prefix + n, t);
  for (const auto& [n, c] : s.children) collect(c, prefix + n + ".", out);
}
size_t restore_into(State& s, const std::string& prefix,
                    const std::unordered_map<std::string, const Tensor*>& saved) {
  auto find = [&](const std::string& name) -> const Tensor& {
    auto it = saved.find(name);
    DESCENT_CHECK(it != saved.end(), InputError,
                  "optimizer checkpoint lacks '{}' (was it saved by the same optimizer?)", name);
    return *it->second;
  };
  const Tensor& st = find(prefix + "step");
  DESCENT_CHECK(st.numel() == 1, InputError, "optimizer checkpoint: '{}step' must hold one value, has {}",
                prefix, st.numel());
  s.step = static_cast<int64_t>(st.at(0));
  size_t used = 1;
  for (auto& [n, t] : s.tensors) {
    const Tensor& src = find(prefix + n);
    DESCENT_CHECK(src.shape() == t.shape() && src.dtype() == t.dtype(), InputError,
                  "optimizer checkpoint: '{}' has shape {} ({}), the optimizer expects {} ({})", prefix + n,
                  src.shape(), dtype_name(src.dtype()), t.shape(), dtype_name(t.dtype()));
    t.copy_from(src);
    ++used;
  }
  for (auto& [n, c] : s.children) used += restore_into(c, prefix + n + ".", saved);
  return used;
}
}  // namespace

std::vector<std::pair<std::string, Tensor>> State::named_tensors() const {
  std::vector<std::pair<std::string, Tensor>> out;
  collect(*this, "", out);
  return out;
}

void State::restore(const std::vector<std::pair<std::string, Tensor>>& saved) {
  std::unordered_map<std::string, const Tensor*> by_name;
  for (const auto& [n, t] : saved) by_name[n] = &t;
  const size_t used = restore_into(*this, "", by_name);
  DESCENT_CHECK(used == by_name.size(), InputError,
                "optimizer checkpoint has {} entries, this optimizer's state has {}: it was saved by a "
                "different optimizer",
                by_name.size(), used);
}

// ---------------------------------------------------------------- Transform / handle

void Transform::step(Tensor& params, Tensor& grads, State& state, const StepContext& context) const {
  update_in_context(grads, state, params, context);
  apply_updates(params, grads);
}

std::vector<Block> checked_blocks(const char* who, std::vector<Block> blocks, int64_t p) {
  if (blocks.empty()) return {Block{0, p, 1}};
  std::vector<Block> sorted = blocks;
  std::sort(sorted.begin(), sorted.end(), [](const Block& a, const Block& b) { return a.begin < b.begin; });
  for (size_t i = 0; i < sorted.size(); ++i) {
    const Block& b = sorted[i];
    DESCENT_CHECK(b.begin >= 0 && b.end <= p && b.begin < b.end, InputError,
                  "{}: block [{}, {}) does not lie in the {} parameters", who, b.begin, b.end, p);
    DESCENT_CHECK(b.rows > 0 && b.size() % b.rows == 0, InputError, "{}: block [{}, {}) cannot be split into {} rows",
                  who, b.begin, b.end, b.rows);
    DESCENT_CHECK(i == 0 || sorted[i - 1].end <= b.begin, InputError, "{}: blocks [{}, {}) and [{}, {}) overlap", who,
                  sorted[i - 1].begin, sorted[i - 1].end, b.begin, b.end);
  }
  return blocks;
}

GradientTransformation::GradientTransformation(std::shared_ptr<const Transform> impl) : impl_(std::move(impl)) {
  DESCENT_CHECK(impl_ != nullptr, InputError, "GradientTransformation: null transform");
}
State GradientTransformation::init(const Tensor& params) const {
  DESCENT_CHECK(params.defined() && is_floating(params.dtype()), InputError,
                "{}: parameters must be a float32 or float64 tensor", impl_->name());
  return impl_->init(params);
}
void GradientTransformation::update(Tensor& updates, State& state, const Tensor& params,
                                    const StepContext& context) const {
  check_updates(impl_->name().c_str(), updates, params);
  impl_->update_in_context(updates, state, params, context);
}
void GradientTransformation::step(Tensor& params, Tensor& grads, State& state, const StepContext& context) const {
  check_updates(impl_->name().c_str(), grads, params);
  impl_->step(params, grads, state, context);
}

void apply_updates(Tensor& params, const Tensor& updates) {
  check_updates("apply_updates", updates, params);
  dispatch_floating(params.dtype(), "apply_updates", [&](auto zero) {
    using T = decltype(zero);
    T* p = params.data<T>();
    const T* u = updates.data<T>();
    const int64_t n = params.numel();
    for (int64_t i = 0; i < n; ++i) p[i] += u[i];
  });
}

// ---------------------------------------------------------------- chain

namespace {

class Chain final : public Transform {
 public:
  explicit Chain(std::vector<GradientTransformation> links) : links_(std::move(links)) {}
  std::string name() const override {
    std::string s = "chain(";
    for (size_t i = 0; i < links_.size(); ++i) s += (i ? ", " : "") + links_[i].name();
    return s + ")";
  }
  State init(const Tensor& params) const override {
    State s;
    for (size_t i = 0; i < links_.size(); ++i)
      s.children.emplace_back(fmt::format("{}.{}", i, short_name(links_[i].name())), links_[i].init(params));
    return s;
  }
  void update(Tensor& u, State& s, const Tensor& params) const override { update_in_context(u, s, params, {}); }
  void update_in_context(Tensor& u, State& s, const Tensor& params, const StepContext& context) const override {
    for (size_t i = 0; i < links_.size(); ++i)
      links_[i].impl().update_in_context(u, s.children[i].second, params, context);
    ++s.step;
  }

 private:
  static std::string short_name(const std::string& n) { return n.substr(0, n.find('(')); }
  std::vector<GradientTransformation> links_;
};

class Scale final : public Elementwise<Scale> {
 public:
  explicit Scale(double c) : c_(c) {
    DESCENT_CHECK(std::isfinite(c), InputError, "scale: factor must be finite, got {}", c);
  }
  std::string name() const override { return fmt::format("scale({})", c_); }
  State init(const Tensor&) const override { return {}; }
  template <class T>
  void apply(T* u, State&, const Tensor&, int64_t n) const {
    const T c = static_cast<T>(c_);
    for (int64_t i = 0; i < n; ++i) u[i] *= c;
  }

 private:
  double c_;
};

class ScaleBySchedule final : public Elementwise<ScaleBySchedule> {
 public:
  ScaleBySchedule(Schedule s, double sign) : schedule_(std::move(s)), sign_(sign) {}
  std::string name() const override {
    return fmt::format("{}({})", sign_ < 0 ? "scale_by_learning_rate" : "scale_by_schedule",
                       schedule_.description());
  }
  State init(const Tensor&) const override { return {}; }
  template <class T>
  void apply(T* u, State& s, const Tensor&, int64_t n) const {
    const double rate = schedule_(s.step);
    DESCENT_CHECK(std::isfinite(rate), InputError, "{}: the schedule gave {} at step {}", name(), rate, s.step);
    const T c = static_cast<T>(sign_ * rate);
    for (int64_t i = 0; i < n; ++i) u[i] *= c;
  }

 private:
  Schedule schedule_;
  double sign_;
};

class AddDecayedWeights final : public Elementwise<AddDecayedWeights> {
 public:
  explicit AddDecayedWeights(double wd) : wd_(wd) { check_nonnegative("add_decayed_weights", "weight_decay", wd); }
  std::string name() const override { return fmt::format("add_decayed_weights({})", wd_); }
  State init(const Tensor&) const override { return {}; }
  template <class T>
  void apply(T* u, State&, const Tensor& params, int64_t n) const {
    const T wd = static_cast<T>(wd_);
    const T* p = params.data<T>();
    for (int64_t i = 0; i < n; ++i) u[i] += wd * p[i];
  }

 private:
  double wd_;
};

class Trace final : public Elementwise<Trace> {
 public:
  Trace(double decay, bool nesterov, bool damped, double dampening)
      : decay_(decay), dampening_(dampening), nesterov_(nesterov), damped_(damped) {
    check_decay("trace", "momentum", decay);
    DESCENT_CHECK(std::isfinite(dampening) && dampening >= 0.0 && dampening <= 1.0, InputError,
                  "trace: dampening must lie in [0, 1], got {}", dampening);
    DESCENT_CHECK(!(damped && dampening != 0.0), InputError,
                  "trace: the damped form and torch's dampening exclude each other");
  }
  std::string name() const override {
    return fmt::format("trace(momentum={}{}{}{})", decay_, nesterov_ ? ", nesterov" : "", damped_ ? ", damped" : "",
                       dampening_ != 0.0 ? fmt::format(", dampening={}", dampening_) : "");
  }
  State init(const Tensor& params) const override {
    State s;
    s.tensors.emplace_back("trace", zeros_like(params));
    return s;
  }
  template <class T>
  void apply(T* u, State& s, const Tensor&, int64_t n) const {
    T* b = s.tensor("trace").data<T>();
    const T mu = static_cast<T>(decay_);
    const T c = damped_ ? static_cast<T>(1.0 - decay_) : T(1);
    if (dampening_ != 0.0) {
      // torch.optim.SGD: the buffer starts as the first update itself, undamped.
      const T keep = static_cast<T>(1.0 - dampening_);
      const bool first = s.step == 0;
      for (int64_t i = 0; i < n; ++i) {
        b[i] = first ? u[i] : mu * b[i] + keep * u[i];
        u[i] = nesterov_ ? u[i] + mu * b[i] : b[i];
      }
      return;
    }
    if (nesterov_) {
      for (int64_t i = 0; i < n; ++i) {
        const T cu = c * u[i];
        b[i] = mu * b[i] + cu;
        u[i] = cu + mu * b[i];
      }
    } else {
      for (int64_t i = 0; i < n; ++i) {
        b[i] = mu * b[i] + c * u[i];
        u[i] = b[i];
      }
    }
  }

 private:
  double decay_, dampening_;
  bool nesterov_, damped_;
};

class ScaleByAdam final : public Transform {
 public:
  ScaleByAdam(double b1, double b2, double eps, bool amsgrad) : b1_(b1), b2_(b2), eps_(eps), amsgrad_(amsgrad) {
    check_decay("scale_by_adam", "b1", b1);
    check_decay("scale_by_adam", "b2", b2);
    check_positive("scale_by_adam", "eps", eps);
  }
  std::string name() const override {
    return fmt::format("scale_by_adam(b1={}, b2={}, eps={}{})", b1_, b2_, eps_, amsgrad_ ? ", amsgrad" : "");
  }
  State init(const Tensor& params) const override {
    State s;
    s.tensors.emplace_back("mu", zeros_like(params));
    s.tensors.emplace_back("nu", zeros_like(params));
    if (amsgrad_) s.tensors.emplace_back("nu_max", zeros_like(params));
    return s;
  }
  void update(Tensor& u, State& s, const Tensor&) const override {
    ++s.step;
    dispatch_floating(u.dtype(), "scale_by_adam", [&](auto zero) {
      using T = decltype(zero);
      T* g = u.data<T>();
      T* m = s.tensor("mu").data<T>();
      T* v = s.tensor("nu").data<T>();
      // m̂ / (√v̂ + ε) = (m / (1−β1^t)) / (√v / √(1−β2^t) + ε); the fused kernels use the same
      // expression so the two forms agree to rounding.
      const T b1 = static_cast<T>(b1_), b2 = static_cast<T>(b2_), eps = static_cast<T>(eps_);
      const T one_b1 = static_cast<T>(1.0 - b1_), one_b2 = static_cast<T>(1.0 - b2_);
      const T c1 = static_cast<T>(1.0 / (1.0 - std::pow(b1_, static_cast<double>(s.step))));
      const T c2 = static_cast<T>(1.0 / std::sqrt(1.0 - std::pow(b2_, static_cast<double>(s.step))));
      const int64_t n = u.numel();
      if (amsgrad_) {
        T* vmax = s.tensor("nu_max").data<T>();
        for (int64_t i = 0; i < n; ++i) {
          m[i] = b1 * m[i] + one_b1 * g[i];
          v[i] = b2 * v[i] + one_b2 * (g[i] * g[i]);
          vmax[i] = std::max(vmax[i], v[i]);
          g[i] = (m[i] * c1) / (std::sqrt(vmax[i]) * c2 + eps);
        }
        return;
      }
      for (int64_t i = 0; i < n; ++i) {
        m[i] = b1 * m[i] + one_b1 * g[i];
        v[i] = b2 * v[i] + one_b2 * (g[i] * g[i]);
        g[i] = (m[i] * c1) / (std::sqrt(v[i]) * c2 + eps);
      }
    });
  }

 private:
  double b1_, b2_, eps_;
  bool amsgrad_;
};

class ScaleByRss final : public Elementwise<ScaleByRss> {
 public:
  ScaleByRss(double init, double eps) : init_(init), eps_(eps) {
    check_nonnegative("scale_by_rss", "initial_accumulator", init);
    check_positive("scale_by_rss", "eps", eps);
  }
  std::string name() const override { return fmt::format("scale_by_rss(initial={}, eps={})", init_, eps_); }
  State init(const Tensor& params) const override {
    State s;
    s.tensors.emplace_back("sum_of_squares", Tensor::full({params.numel()}, init_, params.dtype()));
    return s;
  }
  template <class T>
  void apply(T* u, State& s, const Tensor&, int64_t n) const {
    T* a = s.tensor("sum_of_squares").data<T>();
    const T eps = static_cast<T>(eps_);
    for (int64_t i = 0; i < n; ++i) {
      a[i] += u[i] * u[i];
      u[i] = u[i] / (std::sqrt(a[i]) + eps);
    }
  }

 private:
  double init_, eps_;
};

class ScaleByRms final : public Elementwise<ScaleByRms> {
 public:
  ScaleByRms(double decay, double eps, bool centered) : decay_(decay), eps_(eps), centered_(centered) {
    check_decay("scale_by_rms", "alpha", decay);
    check_positive("scale_by_rms", "eps", eps);
  }
  std::string name() const override {
    return fmt::format("scale_by_rms(alpha={}, eps={}{})", decay_, eps_, centered_ ? ", centered" : "");
  }
  State init(const Tensor& params) const override {
    State s;
    s.tensors.emplace_back("nu", zeros_like(params));
    if (centered_) s.tensors.emplace_back("mu", zeros_like(params));
    return s;
  }
  template <class T>
  void apply(T* u, State& s, const Tensor&, int64_t n) const {
    T* v = s.tensor("nu").data<T>();
    const T rho = static_cast<T>(decay_), one_rho = static_cast<T>(1.0 - decay_), eps = static_cast<T>(eps_);
    if (centered_) {
      T* m = s.tensor("mu").data<T>();
      for (int64_t i = 0; i < n; ++i) {
        v[i] = rho * v[i] + one_rho * u[i] * u[i];  // torch's addcmul order: ((1−ρ)u)u
        m[i] = rho * m[i] + one_rho * u[i];
        u[i] = u[i] / (std::sqrt(v[i] - m[i] * m[i]) + eps);
      }
    } else {
      for (int64_t i = 0; i < n; ++i) {
        v[i] = rho * v[i] + one_rho * u[i] * u[i];  // torch's addcmul order: ((1−ρ)u)u
        u[i] = u[i] / (std::sqrt(v[i]) + eps);
      }
    }
  }

 private:
  double decay_, eps_;
  bool centered_;
};

constexpr int64_t kMaxFullMatrixDimension = 2048;

class FullMatrixAdagrad final : public Transform {
 public:
  explicit FullMatrixAdagrad(double eps) : eps_(eps) { check_positive("scale_by_full_matrix_adagrad", "eps", eps); }
  std::string name() const override { return fmt::format("scale_by_full_matrix_adagrad(eps={})", eps_); }
  State init(const Tensor& params) const override {
    const int64_t p = params.numel();
    DESCENT_CHECK(p <= kMaxFullMatrixDimension, InputError,
                  "full-matrix AdaGrad keeps a P×P matrix and factorizes it every step; P = {} exceeds {} "
                  "(use diagonal adagrad)",
                  p, kMaxFullMatrixDimension);
    State s;
    s.tensors.emplace_back("gram", Tensor::zeros({p, p}, params.dtype()));
    return s;
  }
  void update(Tensor& u, State& s, const Tensor&) const override {
    ++s.step;
    dispatch_floating(u.dtype(), "scale_by_full_matrix_adagrad", [&](auto zero) {
      using T = decltype(zero);
      const Eigen::Index p = u.numel();
      Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>> g(u.data<T>(), p);
      Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>> gram(s.tensor("gram").data<T>(), p, p);
      gram.noalias() += g * g.transpose();
      // Arora §2.5.4: out = (G^{1/2} + εI)^{-1} g, via G = QΛQᵀ (in double: small P, and the
      // square root of a near-singular G needs the precision).
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(gram.template cast<double>());
      const Eigen::VectorXd inv = 1.0 / (eig.eigenvalues().array().max(0.0).sqrt() + eps_);
      const Eigen::MatrixXd& q = eig.eigenvectors();
      const Eigen::VectorXd gd = g.template cast<double>();
      g = (q * (inv.asDiagonal() * (q.transpose() * gd))).template cast<T>();
    });
  }

 private:
  double eps_;
};

class Precondition final : public Transform {
 public:
  explicit Precondition(Tensor c) {
    DESCENT_CHECK(c.defined() && c.rank() == 2 && c.dim(0) == c.dim(1) && is_floating(c.dtype()), InputError,
                  "precondition: the preconditioner must be a square float matrix, got shape {}",
                  c.defined() ? c.shape() : Shape{});
    const int64_t p = c.dim(0);
    matrix_.resize(p, p);
    for (int64_t i = 0; i < p; ++i)
      for (int64_t j = 0; j < p; ++j) matrix_(i, j) = c.at(i * p + j);
    DESCENT_CHECK(matrix_.allFinite(), InputError, "precondition: the preconditioner has non-finite entries");
  }
  std::string name() const override { return fmt::format("precondition({}x{})", matrix_.rows(), matrix_.cols()); }
  State init(const Tensor& params) const override {
    DESCENT_CHECK(params.numel() == matrix_.rows(), InputError,
                  "precondition: a {}x{} preconditioner cannot act on {} parameters", matrix_.rows(),
                  matrix_.cols(), params.numel());
    return {};
  }
  void update(Tensor& u, State& s, const Tensor&) const override {
    ++s.step;
    dispatch_floating(u.dtype(), "precondition", [&](auto zero) {
      using T = decltype(zero);
      Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>> g(u.data<T>(), u.numel());
      g = (matrix_ * g.template cast<double>()).template cast<T>();
    });
  }

 private:
  Eigen::MatrixXd matrix_;
};

class ClipByGlobalNorm final : public Transform {
 public:
  explicit ClipByGlobalNorm(double max_norm) : max_norm_(max_norm) {
    check_positive("clip_by_global_norm", "max_norm", max_norm);
  }
  std::string name() const override { return fmt::format("clip_by_global_norm({})", max_norm_); }
  State init(const Tensor&) const override { return {}; }
  void update(Tensor& u, State& s, const Tensor&) const override {
    ++s.step;
    dispatch_floating(u.dtype(), "clip_by_global_norm", [&](auto zero) {
      using T = decltype(zero);
      T* g = u.data<T>();
      const int64_t n = u.numel();
      double sq = 0.0;
      for (int64_t i = 0; i < n; ++i) sq += static_cast<double>(g[i]) * static_cast<double>(g[i]);
      const double norm = std::sqrt(sq);
      if (norm <= max_norm_) return;
      const T c = static_cast<T>(max_norm_ / norm);
      for (int64_t i = 0; i < n; ++i) g[i] *= c;
    });
  }

 private:
  double max_norm_;
};

class ClipByValue final : public Elementwise<ClipByValue> {
 public:
  explicit ClipByValue(double m) : max_abs_(m) { check_positive("clip_by_value", "max_abs", m); }
  std::string name() const override { return fmt::format("clip_by_value({})", max_abs_); }
  State init(const Tensor&) const override { return {}; }
  template <class T>
  void apply(T* u, State&, const Tensor&, int64_t n) const {
    const T hi = static_cast<T>(max_abs_), lo = -hi;
    for (int64_t i = 0; i < n; ++i) u[i] = std::clamp(u[i], lo, hi);
  }

 private:
  double max_abs_;
};

}  // namespace

GradientTransformation chain(std::vector<GradientTransformation> links) { return make<Chain>(std::move(links)); }
GradientTransformation scale(double factor) { return make<Scale>(factor); }
GradientTransformation scale_by_schedule(Schedule s) { return make<ScaleBySchedule>(std::move(s), 1.0); }
GradientTransformation scale_by_learning_rate(Schedule s) { return make<ScaleBySchedule>(std::move(s), -1.0); }
GradientTransformation add_decayed_weights(double wd) { return make<AddDecayedWeights>(wd); }
GradientTransformation trace(double decay, bool nesterov, bool damped, double dampening) {
  return make<Trace>(decay, nesterov, damped, dampening);
}
GradientTransformation scale_by_adam(double b1, double b2, double eps, bool amsgrad) {
  return make<ScaleByAdam>(b1, b2, eps, amsgrad);
}
GradientTransformation scale_by_rss(double init, double eps) { return make<ScaleByRss>(init, eps); }
GradientTransformation scale_by_rms(double decay, double eps, bool centered) {
  return make<ScaleByRms>(decay, eps, centered);
}
GradientTransformation scale_by_full_matrix_adagrad(double eps) { return make<FullMatrixAdagrad>(eps); }
GradientTransformation precondition(Tensor matrix) { return make<Precondition>(std::move(matrix)); }
GradientTransformation clip_by_global_norm(double max_norm) { return make<ClipByGlobalNorm>(max_norm); }
GradientTransformation clip_by_value(double max_abs) { return make<ClipByValue>(max_abs); }

}  // namespace descent::optim
