#pragma once
// Composable gradient transformations (the optax design, STYLE.md): an optimizer is
//   init(params) -> State          and   update(updates, state, params)
// chained, so Adam = chain(scale_by_adam, scale_by_learning_rate(η)) and clipping, weight
// decay, momentum variants and schedules are further links instead of options of a class.
//
// Conventions
// - Parameters θ are one flat contiguous float32 or float64 tensor [P] (any shape is read
//   flat). Every buffer in a State has θ's dtype and numel.
// - `update` works IN PLACE: on entry `updates` holds the incoming direction (the gradient,
//   for the first link), on exit this link's output. No link allocates after init.
// - The final output of a chain is ADDED to θ (apply_updates): descent directions are
//   negative, hence scale_by_learning_rate multiplies by −η.
// - `step(params, grads, state)` = update then apply. Named optimizers (sgd, adam, adamw)
//   override it with one fused pass over memory; their init/update are the chain's, so
//   the fused and chained forms share one State layout and are tested against each other.
//   After step, `grads` holds unspecified values (the chain writes the update into it).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "descent/core/tensor.hpp"
#include "descent/optim/schedule.hpp"

namespace descent::optim {

// The state of one transformation: explicit, named data. A chain's state holds one child
// per link. A checkpoint is `named_tensors()`; resuming is `restore(saved)`.
struct State {
  int64_t step = 0;  // updates applied so far (schedules read it)
  std::vector<std::pair<std::string, Tensor>> tensors;  // this link's buffers (mu, nu, ...)
  std::vector<std::pair<std::string, State>> children;  // links of a chain, named "0.trace", ...

  Tensor& tensor(std::string_view name);
  const Tensor& tensor(std::string_view name) const;

  // Every buffer and step count, depth first. Buffers are shared with the state (not
  // copies); step counts are fresh int64 [1] tensors. Names: "step", "mu",
  // "1.scale_by_adam.step", "1.scale_by_adam.nu", ... — stable for a given optimizer.
  std::vector<std::pair<std::string, Tensor>> named_tensors() const;
  // Copies saved values into this state (which must come from init of the same optimizer
  // on parameters of the same size and dtype). Every name of this state must be present
  // with the same shape and dtype; InputError says which is not. Extra names are refused.
  void restore(const std::vector<std::pair<std::string, Tensor>>& saved);
};

class Transform {
 public:
  virtual ~Transform() = default;
  virtual std::string name() const = 0;
  virtual State init(const Tensor& params) const = 0;
  virtual void update(Tensor& updates, State& state, const Tensor& params) const = 0;
  // θ ← θ + update(grads). The default runs update then adds; fused optimizers override.
  virtual void step(Tensor& params, Tensor& grads, State& state) const;
};

// A handle to an immutable Transform (cheap to copy, shareable between threads as long as
// each thread has its own State).
class GradientTransformation {
 public:
  explicit GradientTransformation(std::shared_ptr<const Transform> impl);
  std::string name() const { return impl_->name(); }
  State init(const Tensor& params) const;
  void update(Tensor& updates, State& state, const Tensor& params) const;
  void step(Tensor& params, Tensor& grads, State& state) const;
  const Transform& impl() const { return *impl_; }

 private:
  std::shared_ptr<const Transform> impl_;
};

// Links applied left to right.
GradientTransformation chain(std::vector<GradientTransformation> links);
template <class... Ts>
GradientTransformation chain(GradientTransformation first, Ts... rest) {
  return chain(std::vector<GradientTransformation>{std::move(first), std::move(rest)...});
}

// θ ← θ + u.
void apply_updates(Tensor& params, const Tensor& updates);

// ---- links ----
// u ← c u.
GradientTransformation scale(double factor);
// u ← η(t) u.
GradientTransformation scale_by_schedule(Schedule schedule);
// u ← −η(t) u: the last link of a descent method.
GradientTransformation scale_by_learning_rate(Schedule learning_rate);
// u ← u + λ θ. Before an adaptive link it is coupled L2 regularization (∇ of λ/2 ‖θ‖²,
// PyTorch's weight_decay); after it, decoupled weight decay (AdamW, Loshchilov & Hutter).
GradientTransformation add_decayed_weights(double weight_decay);
// Momentum. State: "trace" b.
//   common (PyTorch) form, damped = false:  b ← μ b + u;   out = nesterov ? u + μ b : b
//   damped form, damped = true:             b ← μ b + (1−μ) u; out = nesterov ? (1−μ) u + μ b : b
// With u = −η g the damped heavy ball is Suzuki's Δw ← θΔw − (1−θ)ηg, w ← w + Δw, and
// the common form is Arora §2.3's u_t = −∇f(w_t) + β u_{t−1}, w ← w + η u_t.
// Nesterov: both seeds evaluate the gradient at the look-ahead point y_t = w_t + μΔw_{t−1}.
// Writing the recursion in y (y_{t+1} = w_{t+1} + μΔw_t = y_t + Δw_t + μ(Δw_t − Δw_{t−1}))
// gives y_{t+1} = y_t + μΔw_t + c(−g(y_t)) with Δw_t = μΔw_{t−1} + c(−g(y_t)): the
// `out = c u + μ b` above, gradient taken at the iterate itself (c = 1 or 1−μ). Arora
// prints the look-ahead self-referentially (spec ⚠, §2.3); this is the standard one.
GradientTransformation trace(double decay, bool nesterov = false, bool damped = false);
// Adam's direction (Kingma & Ba, Alg. 1): m ← β1 m + (1−β1)u, v ← β2 v + (1−β2)u²,
// out = m̂ / (√v̂ + ε) with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t). State: "mu", "nu".
GradientTransformation scale_by_adam(double b1 = 0.9, double b2 = 0.999, double eps = 1e-8);
// Diagonal AdaGrad (Duchi et al.; Arora §2.5.4 Alg. 3 diagonal; Hu): s ← s + u²,
// out = u / (√s + ε). State: "sum_of_squares".
GradientTransformation scale_by_rss(double initial_accumulator = 0.0, double eps = 1e-10);
// RMSProp (Hinton): s ← ρ s + (1−ρ)u², out = u / (√s + ε); centered subtracts the square of
// the running mean m ← ρ m + (1−ρ)u under the root. State: "nu" (+ "mu" if centered).
GradientTransformation scale_by_rms(double decay = 0.99, double eps = 1e-8, bool centered = false);
// Full-matrix AdaGrad (Arora §2.5.4): G ← G + u uᵀ, out = (G^{1/2} + εI)^{-1} u via an
// eigendecomposition of G each step (O(P³): for small P only; refused above P = 2048).
// State: "gram" [P, P].
GradientTransformation scale_by_full_matrix_adagrad(double eps = 1e-8);
// u ← C u with a fixed P×P matrix C (preconditioned SGD, Murphy §6.3.1.3, eq. 6.48).
GradientTransformation precondition(Tensor matrix);
// u ← u · min(1, max_norm / ‖u‖): clipping by the global Euclidean norm. (PyTorch's
// clip_grad_norm_ divides by ‖u‖ + 1e-6; this is the exact projection.)
GradientTransformation clip_by_global_norm(double max_norm);
// u_i ← clamp(u_i, −max_abs, max_abs).
GradientTransformation clip_by_value(double max_abs);

}  // namespace descent::optim
