#include "descent/optim/optimizers.hpp"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>

#include <fmt/format.h>

#include "checks.hpp"
#include "descent/core/error.hpp"

namespace descent::optim {

using detail::check_decay;
using detail::check_nonnegative;
using detail::check_positive;

namespace {

// A named optimizer whose init/update are its chain's and whose step is one fused pass.
// The fused kernels repeat the chain's floating-point operations in the same order; they may
// differ only where the compiler contracts a·b + c into an FMA (tests/optim/test_transforms.cpp,
// FusedAgainstChain, checks agreement to rounding over many steps).
class Fused : public Transform {
 public:
  Fused(std::string name, GradientTransformation chain) : name_(std::move(name)), chain_(std::move(chain)) {}
  std::string name() const override { return name_; }
  State init(const Tensor& params) const override { return chain_.impl().init(params); }
  void update(Tensor& u, State& s, const Tensor& params) const override { chain_.impl().update(u, s, params); }

 protected:
  static void advance(State& s) {
    ++s.step;
    for (auto& [n, c] : s.children) ++c.step;
  }

 private:
  std::string name_;
  GradientTransformation chain_;
};

class FusedSgd final : public Fused {
 public:
  FusedSgd(std::string name, GradientTransformation chain, Schedule lr, double momentum, bool nesterov,
           double weight_decay, int lr_index, int trace_index)
      : Fused(std::move(name), std::move(chain)), lr_(std::move(lr)), mu_(momentum), wd_(weight_decay),
        nesterov_(nesterov), lr_index_(lr_index), trace_index_(trace_index) {}

  void step(Tensor& params, Tensor& grads, State& s, const StepContext&) const override {
    const double rate = lr_(s.children[lr_index_].second.step);
    DESCENT_CHECK(std::isfinite(rate), InputError, "sgd: the schedule gave {} at step {}", rate, s.step);
    dispatch_floating(params.dtype(), "sgd", [&](auto zero) {
      using T = decltype(zero);
      // θ and g never overlap (the optimizer's contract); __restrict lets the compiler
      // vectorize without runtime overlap checks.
      T* __restrict p = params.data<T>();
      const T* __restrict g = grads.data<T>();
      const int64_t n = params.numel();
      const T neg_lr = static_cast<T>(-rate), wd = static_cast<T>(wd_), mu = static_cast<T>(mu_);
      if (trace_index_ < 0) {
        // Plain SGD is one read of θ and g and one write of θ: a loop per case, so that the
        // common one has nothing but the multiply-add.
        if (wd_ == 0.0)
          for (int64_t i = 0; i < n; ++i) p[i] += g[i] * neg_lr;
        else
          for (int64_t i = 0; i < n; ++i) p[i] += (g[i] + wd * p[i]) * neg_lr;
        return;
      }
      T* b = s.children[trace_index_].second.tensor("trace").data<T>();
      for (int64_t i = 0; i < n; ++i) {
        const T d = wd_ != 0.0 ? g[i] + wd * p[i] : g[i];
        b[i] = mu * b[i] + d;
        const T out = nesterov_ ? d + mu * b[i] : b[i];
        p[i] += out * neg_lr;
      }
    });
    advance(s);
  }

 private:
  Schedule lr_;
  double mu_, wd_;
  bool nesterov_;
  int lr_index_, trace_index_;
};

template <class T>
struct AdamConstants {
  T b1, b2, one_b1, one_b2, c1, c2, eps, neg_lr, coupled, decoupled;
};

// One pass over memory: θ, g, m, v are walked once, in L1-sized chunks. Within a chunk the
// expression is evaluated by Eigen, whose vectorized sqrt GCC cannot emit from std::sqrt in
// a loop (errno semantics keep a scalar call path). The operations and their order are those
// of scale_by_adam + add_decayed_weights + scale_by_learning_rate + apply_updates.
template <class T, bool kCoupled, bool kDecoupled>
void adam_kernel(T* p, const T* g, T* m, T* v, int64_t n, const AdamConstants<T> k) {
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
  constexpr int64_t kChunk = 1024;
  alignas(64) T gbuf[kChunk];
  alignas(64) T dbuf[kChunk];
  for (int64_t s = 0; s < n; s += kChunk) {
    const Eigen::Index len = static_cast<Eigen::Index>(std::min(kChunk, n - s));
    Eigen::Map<Array> P(p + s, len), M(m + s, len), V(v + s, len), D(dbuf, len), Gc(gbuf, len);
    Eigen::Map<const Array> G(g + s, len);
    if constexpr (kCoupled) Gc = G + k.coupled * P;
    const auto& Gi = [&]() -> decltype(auto) {
      if constexpr (kCoupled) return static_cast<const Eigen::Map<Array>&>(Gc);
      else return static_cast<const Eigen::Map<const Array>&>(G);
    }();
    M = k.b1 * M + k.one_b1 * Gi;
    V = k.b2 * V + k.one_b2 * (Gi * Gi);
    D = (M * k.c1) / (V.sqrt() * k.c2 + k.eps);
    if constexpr (kDecoupled) D = D + k.decoupled * P;
    P += D * k.neg_lr;
  }
}

class FusedAdam final : public Fused {
 public:
  FusedAdam(std::string name, GradientTransformation chain, Schedule lr, double b1, double b2, double eps,
            double coupled_wd, double decoupled_wd, int adam_index, int lr_index)
      : Fused(std::move(name), std::move(chain)), lr_(std::move(lr)), b1_(b1), b2_(b2), eps_(eps),
        coupled_(coupled_wd), decoupled_(decoupled_wd), adam_index_(adam_index), lr_index_(lr_index) {}

  void step(Tensor& params, Tensor& grads, State& s, const StepContext&) const override {
    const double rate = lr_(s.children[lr_index_].second.step);
    DESCENT_CHECK(std::isfinite(rate), InputError, "{}: the schedule gave {} at step {}", name(), rate, s.step);
    State& a = s.children[adam_index_].second;
    const double t = static_cast<double>(a.step + 1);
    dispatch_floating(params.dtype(), "adam", [&](auto zero) {
      using T = decltype(zero);
      T* p = params.data<T>();
      const T* g = grads.data<T>();
      T* m = a.tensor("mu").data<T>();
      T* v = a.tensor("nu").data<T>();
      const int64_t n = params.numel();
      // Same constants and expression as scale_by_adam (transform.cpp).
      const T b1 = static_cast<T>(b1_), b2 = static_cast<T>(b2_), eps = static_cast<T>(eps_);
      const T one_b1 = static_cast<T>(1.0 - b1_), one_b2 = static_cast<T>(1.0 - b2_);
      const T c1 = static_cast<T>(1.0 / (1.0 - std::pow(b1_, t)));
      const T c2 = static_cast<T>(1.0 / std::sqrt(1.0 - std::pow(b2_, t)));
      const T neg_lr = static_cast<T>(-rate), cwd = static_cast<T>(coupled_), dwd = static_cast<T>(decoupled_);
      const AdamConstants<T> k{b1, b2, one_b1, one_b2, c1, c2, eps, neg_lr, cwd, dwd};
      if (coupled_ != 0.0) adam_kernel<T, true, false>(p, g, m, v, n, k);
      else if (decoupled_ != 0.0) adam_kernel<T, false, true>(p, g, m, v, n, k);
      else adam_kernel<T, false, false>(p, g, m, v, n, k);
    });
    advance(s);
  }

 private:
  Schedule lr_;
  double b1_, b2_, eps_, coupled_, decoupled_;
  int adam_index_, lr_index_;
};

// Lion in one pass over memory (Chen et al. 2023, Alg. 2): per coordinate, the sign of the
// interpolated momentum, the update of θ (with decoupled decay) and the momentum update, so θ,
// g and m are each read once and θ, m written once (the chain makes three passes and needs
// the gradient copied into its working buffer). Same operations in the same order as
// scale_by_lion + add_decayed_weights + scale_by_learning_rate + apply_updates.
class FusedLion final : public Fused {
 public:
  FusedLion(std::string name, GradientTransformation chain, Schedule lr, double b1, double b2, double weight_decay,
            int lr_index)
      : Fused(std::move(name), std::move(chain)), lr_(std::move(lr)), b1_(b1), b2_(b2), wd_(weight_decay),
        lr_index_(lr_index) {}

  void step(Tensor& params, Tensor& grads, State& s, const StepContext&) const override {
    const double rate = lr_(s.children[lr_index_].second.step);
    DESCENT_CHECK(std::isfinite(rate), InputError, "lion: the schedule gave {} at step {}", rate, s.step);
    dispatch_floating(params.dtype(), "lion", [&](auto zero) {
      using T = decltype(zero);
      T* __restrict p = params.data<T>();
      const T* __restrict g = grads.data<T>();
      T* __restrict m = s.children[0].second.tensor("mu").data<T>();
      const int64_t n = params.numel();
      const T b1 = static_cast<T>(b1_), b2 = static_cast<T>(b2_), one_b1 = static_cast<T>(1.0 - b1_),
              one_b2 = static_cast<T>(1.0 - b2_), neg_lr = static_cast<T>(-rate), wd = static_cast<T>(wd_);
      if (wd_ == 0.0) {
        for (int64_t i = 0; i < n; ++i) {
          const T c = b1 * m[i] + one_b1 * g[i];
          p[i] += static_cast<T>((c > T(0)) - (c < T(0))) * neg_lr;
          m[i] = b2 * m[i] + one_b2 * g[i];
        }
      } else {
        for (int64_t i = 0; i < n; ++i) {
          const T c = b1 * m[i] + one_b1 * g[i];
          p[i] += (static_cast<T>((c > T(0)) - (c < T(0))) + wd * p[i]) * neg_lr;
          m[i] = b2 * m[i] + one_b2 * g[i];
        }
      }
    });
    advance(s);
  }

 private:
  Schedule lr_;
  double b1_, b2_, wd_;
  int lr_index_;
};

std::string rate_text(const Schedule& s) { return s.description(); }

}  // namespace

GradientTransformation sgd(Schedule lr, double momentum, bool nesterov, double weight_decay, double dampening) {
  check_decay("sgd", "momentum", momentum);
  check_nonnegative("sgd", "weight_decay", weight_decay);
  DESCENT_CHECK(!nesterov || momentum > 0.0, InputError, "sgd: nesterov needs momentum > 0, got momentum = {}",
                momentum);
  // torch refuses Nesterov with dampening (its look-ahead form assumes the undamped buffer).
  DESCENT_CHECK(!(nesterov && dampening != 0.0), InputError, "sgd: nesterov needs dampening = 0, got {}", dampening);
  if (dampening != 0.0) {
    DESCENT_CHECK(momentum > 0.0, InputError, "sgd: dampening {} needs momentum > 0", dampening);
    std::vector<GradientTransformation> links;
    if (weight_decay != 0.0) links.push_back(add_decayed_weights(weight_decay));
    links.push_back(trace(momentum, false, false, dampening));
    links.push_back(scale_by_learning_rate(std::move(lr)));
    return chain(std::move(links));
  }
  std::vector<GradientTransformation> links;
  if (weight_decay != 0.0) links.push_back(add_decayed_weights(weight_decay));
  int trace_index = -1;
  if (momentum != 0.0) {
    trace_index = static_cast<int>(links.size());
    links.push_back(trace(momentum, nesterov));
  }
  const int lr_index = static_cast<int>(links.size());
  links.push_back(scale_by_learning_rate(lr));
  return GradientTransformation(std::make_shared<const FusedSgd>(
      fmt::format("sgd(lr={}, momentum={}{}, weight_decay={})", rate_text(lr), momentum,
                  nesterov ? ", nesterov" : "", weight_decay),
      chain(std::move(links)), lr, momentum, nesterov, weight_decay, lr_index, trace_index));
}

GradientTransformation damped_momentum(Schedule lr, double momentum, bool nesterov) {
  check_decay("damped_momentum", "momentum", momentum);
  return chain(scale_by_learning_rate(std::move(lr)), trace(momentum, nesterov, /*damped=*/true));
}

namespace {
GradientTransformation adam_like(const char* who, Schedule lr, double b1, double b2, double eps, double coupled,
                                 double decoupled, bool amsgrad) {
  check_decay(who, "b1", b1);
  check_decay(who, "b2", b2);
  check_positive(who, "eps", eps);
  check_nonnegative(who, "weight_decay", coupled + decoupled);
  std::vector<GradientTransformation> links;
  if (coupled != 0.0) links.push_back(add_decayed_weights(coupled));
  const int adam_index = static_cast<int>(links.size());
  links.push_back(scale_by_adam(b1, b2, eps, amsgrad));
  if (decoupled != 0.0) links.push_back(add_decayed_weights(decoupled));
  const int lr_index = static_cast<int>(links.size());
  links.push_back(scale_by_learning_rate(lr));
  if (amsgrad) return chain(std::move(links));  // not fused: AMSGrad's running maximum
  return GradientTransformation(std::make_shared<const FusedAdam>(
      fmt::format("{}(lr={}, b1={}, b2={}, eps={}, weight_decay={})", who, rate_text(lr), b1, b2, eps,
                  coupled + decoupled),
      chain(std::move(links)), lr, b1, b2, eps, coupled, decoupled, adam_index, lr_index));
}
}  // namespace

GradientTransformation adam(Schedule lr, double b1, double b2, double eps, double weight_decay, bool amsgrad) {
  check_nonnegative("adam", "weight_decay", weight_decay);
  return adam_like("adam", std::move(lr), b1, b2, eps, weight_decay, 0.0, amsgrad);
}

GradientTransformation adamw(Schedule lr, double b1, double b2, double eps, double weight_decay, bool amsgrad) {
  check_nonnegative("adamw", "weight_decay", weight_decay);
  return adam_like("adamw", std::move(lr), b1, b2, eps, 0.0, weight_decay, amsgrad);
}

GradientTransformation adagrad(Schedule lr, double eps, double initial_accumulator, double weight_decay,
                               double lr_decay) {
  check_nonnegative("adagrad", "weight_decay", weight_decay);
  check_nonnegative("adagrad", "lr_decay", lr_decay);
  std::vector<GradientTransformation> links;
  if (weight_decay != 0.0) links.push_back(add_decayed_weights(weight_decay));
  links.push_back(scale_by_rss(initial_accumulator, eps));
  if (lr_decay != 0.0) {
    DESCENT_CHECK(lr.is_constant(), InputError, "adagrad: lr_decay is a schedule of its own; give a constant rate");
    lr = inverse_time_decay(lr(0), lr_decay);
  }
  links.push_back(scale_by_learning_rate(std::move(lr)));
  return chain(std::move(links));
}

namespace {
// Coupled L2 first (torch's weight_decay), then the direction, then −η.
GradientTransformation coupled_chain(double weight_decay, GradientTransformation direction, Schedule lr) {
  std::vector<GradientTransformation> links;
  if (weight_decay != 0.0) links.push_back(add_decayed_weights(weight_decay));
  links.push_back(std::move(direction));
  links.push_back(scale_by_learning_rate(std::move(lr)));
  return chain(std::move(links));
}
}  // namespace

GradientTransformation nadam(Schedule lr, double b1, double b2, double eps, double weight_decay,
                             double momentum_decay) {
  return coupled_chain(weight_decay, scale_by_nadam(b1, b2, eps, momentum_decay), std::move(lr));
}
GradientTransformation radam(Schedule lr, double b1, double b2, double eps, double weight_decay) {
  return coupled_chain(weight_decay, scale_by_radam(b1, b2, eps), std::move(lr));
}
GradientTransformation adamax(Schedule lr, double b1, double b2, double eps, double weight_decay) {
  return coupled_chain(weight_decay, scale_by_adamax(b1, b2, eps), std::move(lr));
}
GradientTransformation adadelta(Schedule lr, double rho, double eps, double weight_decay) {
  return coupled_chain(weight_decay, scale_by_adadelta(rho, eps), std::move(lr));
}

GradientTransformation asgd(double lr, double lambd, double alpha, double t0, double weight_decay) {
  check_positive("asgd", "lr", lr);
  check_nonnegative("asgd", "lambd", lambd);
  check_nonnegative("asgd", "alpha", alpha);
  check_nonnegative("asgd", "weight_decay", weight_decay);
  // torch.optim.ASGD: θ ← θ(1 − λη_t) − η_t(g + wd θ), η_t = lr / (1 + λ lr t)^α.
  Schedule eta([lr, lambd, alpha](int64_t t) { return lr / std::pow(1.0 + lambd * lr * static_cast<double>(t), alpha); },
               fmt::format("{} / (1 + {}·{}·t)^{}", lr, lambd, lr, alpha));
  std::vector<GradientTransformation> links;
  if (weight_decay != 0.0) links.push_back(add_decayed_weights(weight_decay));
  if (lambd != 0.0) links.push_back(add_decayed_weights(lambd));
  links.push_back(scale_by_learning_rate(std::move(eta)));
  links.push_back(asgd_average(t0));
  return chain(std::move(links));
}

GradientTransformation rprop(double lr, double eta_minus, double eta_plus, double min_step, double max_step) {
  return chain(scale_by_rprop(lr, eta_minus, eta_plus, min_step, max_step));
}

GradientTransformation lion(Schedule lr, double b1, double b2, double weight_decay) {
  check_nonnegative("lion", "weight_decay", weight_decay);
  std::vector<GradientTransformation> links;
  links.push_back(scale_by_lion(b1, b2));
  if (weight_decay != 0.0) links.push_back(add_decayed_weights(weight_decay));
  const int lr_index = static_cast<int>(links.size());
  links.push_back(scale_by_learning_rate(lr));
  return GradientTransformation(std::make_shared<const FusedLion>(
      fmt::format("lion(lr={}, b1={}, b2={}, weight_decay={})", rate_text(lr), b1, b2, weight_decay),
      chain(std::move(links)), lr, b1, b2, weight_decay, lr_index));
}

GradientTransformation lamb(Schedule lr, double b1, double b2, double eps, double weight_decay,
                            std::vector<Block> blocks) {
  check_nonnegative("lamb", "weight_decay", weight_decay);
  std::vector<GradientTransformation> links;
  links.push_back(scale_by_adam(b1, b2, eps));
  if (weight_decay != 0.0) links.push_back(add_decayed_weights(weight_decay));
  links.push_back(scale_by_trust_ratio(std::move(blocks)));
  links.push_back(scale_by_learning_rate(std::move(lr)));
  return chain(std::move(links));
}

GradientTransformation lars(Schedule lr, double momentum, double weight_decay, double trust_coefficient,
                            std::vector<Block> blocks, double eps) {
  check_nonnegative("lars", "weight_decay", weight_decay);
  std::vector<GradientTransformation> links;
  if (weight_decay != 0.0) links.push_back(add_decayed_weights(weight_decay));
  links.push_back(scale_by_trust_ratio(std::move(blocks), trust_coefficient, eps));
  links.push_back(scale_by_learning_rate(std::move(lr)));
  if (momentum != 0.0) links.push_back(trace(momentum));
  return chain(std::move(links));
}

GradientTransformation adafactor(Schedule lr, std::vector<Block> blocks, double decay_rate, double clipping_threshold,
                                 double min_scale, int64_t min_dim_size_to_factor) {
  std::vector<GradientTransformation> links;
  links.push_back(scale_by_factored_rms(blocks, decay_rate, 1e-30, clipping_threshold, min_dim_size_to_factor));
  if (min_scale > 0.0) links.push_back(scale_by_param_block_rms(std::move(blocks), min_scale));
  links.push_back(scale_by_learning_rate(std::move(lr)));
  return chain(std::move(links));
}

GradientTransformation polyak_sgd(double max_rate, double f_min) {
  return chain(scale_by_polyak(max_rate, f_min), negate());
}

GradientTransformation noisy_sgd(Schedule lr, Schedule stddev, uint64_t seed) {
  return chain(scale_by_learning_rate(std::move(lr)), add_noise(std::move(stddev), seed));
}

GradientTransformation langevin(double lr, double inverse_temperature, uint64_t seed) {
  check_positive("langevin", "lr", lr);
  check_positive("langevin", "inverse_temperature", inverse_temperature);
  // θ ← θ − η∇f + √(2η/β) ξ (Welling & Teh 2011, eq. 4 with the temperature of langevin.hpp).
  return noisy_sgd(lr, std::sqrt(2.0 * lr / inverse_temperature), seed);
}

GradientTransformation rmsprop(Schedule lr, double alpha, double eps, double momentum, bool centered,
                               double weight_decay) {
  check_nonnegative("rmsprop", "weight_decay", weight_decay);
  check_decay("rmsprop", "momentum", momentum);
  std::vector<GradientTransformation> links;
  if (weight_decay != 0.0) links.push_back(add_decayed_weights(weight_decay));
  links.push_back(scale_by_rms(alpha, eps, centered));
  if (momentum != 0.0) links.push_back(trace(momentum));
  links.push_back(scale_by_learning_rate(std::move(lr)));
  return chain(std::move(links));
}

GradientTransformation full_matrix_adagrad(Schedule lr, double eps) {
  return chain(scale_by_full_matrix_adagrad(eps), scale_by_learning_rate(std::move(lr)));
}

GradientTransformation preconditioned_sgd(Schedule lr, Tensor preconditioner) {
  return chain(precondition(std::move(preconditioner)), scale_by_learning_rate(std::move(lr)));
}

}  // namespace descent::optim
