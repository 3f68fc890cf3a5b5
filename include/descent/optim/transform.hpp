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
#include <functional>
#include <limits>
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

// What a step knows besides the gradient, for the links that read it: the loss at θ (Polyak
// step sizes, loss-dependent rates) and the loss and gradient of the SAME batch at another
// point (sharpness-aware minimization's ascent step). Callers that have them pass them
// (minimize, minimize_stochastic, descent train); a link that needs a missing one refuses
// with InputError.
struct StepContext {
  double value = std::numeric_limits<double>::quiet_NaN();
  // f(θ') and ∇f(θ') → gradient, on the batch of this step; empty when not available.
  std::function<double(const Tensor& theta, Tensor& gradient)> gradient_at;
};

// A slice [begin, end) of θ: one parameter tensor (or layer). `rows` splits it into rows of
// equal length, row-major, for the unit-wise links (AGC's units are the rows of a weight
// [out, in], one output unit each; Adafactor factors a block with rows > 1 as a matrix).
struct Block {
  int64_t begin = 0, end = 0;
  int64_t rows = 1;
  int64_t size() const { return end - begin; }
  int64_t cols() const { return size() / rows; }
};
// Every block lies in [0, P), has rows dividing its size, and no two overlap (InputError
// naming `who` otherwise). Empty `blocks` means one block [0, P) with one row.
std::vector<Block> checked_blocks(const char* who, std::vector<Block> blocks, int64_t p);

class Transform {
 public:
  virtual ~Transform() = default;
  virtual std::string name() const = 0;
  virtual State init(const Tensor& params) const = 0;
  virtual void update(Tensor& updates, State& state, const Tensor& params) const = 0;
  // Links that read the step's context override this; the default ignores it.
  virtual void update_in_context(Tensor& updates, State& state, const Tensor& params,
                                 const StepContext& context) const {
    (void)context;
    update(updates, state, params);
  }
  // θ ← θ + update(grads). The default runs update_in_context then adds; fused optimizers
  // override.
  virtual void step(Tensor& params, Tensor& grads, State& state, const StepContext& context) const;
};

// A handle to an immutable Transform (cheap to copy, shareable between threads as long as
// each thread has its own State).
class GradientTransformation {
 public:
  explicit GradientTransformation(std::shared_ptr<const Transform> impl);
  std::string name() const { return impl_->name(); }
  State init(const Tensor& params) const;
  void update(Tensor& updates, State& state, const Tensor& params, const StepContext& context = {}) const;
  void step(Tensor& params, Tensor& grads, State& state, const StepContext& context = {}) const;
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
//   torch.optim.SGD's dampening d (damped = false): b ← u at the first step, then
//                                           b ← μ b + (1−d) u;  out = nesterov ? u + μ b : b
GradientTransformation trace(double decay, bool nesterov = false, bool damped = false, double dampening = 0.0);
// Adam's direction (Kingma & Ba, Alg. 1): m ← β1 m + (1−β1)u, v ← β2 v + (1−β2)u²,
// out = m̂ / (√v̂ + ε) with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t). State: "mu", "nu".
// AMSGrad (Reddi et al. 2018, in torch's form): v̂ uses the running maximum of v, "nu_max".
GradientTransformation scale_by_adam(double b1 = 0.9, double b2 = 0.999, double eps = 1e-8, bool amsgrad = false);
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

// ---- the torch.optim directions (tests/optim/test_torch_agreement.cpp) ----
// NAdam (Dozat 2016, torch's momentum schedule): μ_t = β1(1 − ½·0.96^{tψ}), π_t = Π_{i≤t} μ_i,
// m, v as Adam; out = [(1−μ_t)/(1−π_t) u + μ_{t+1}/(1−π_t μ_{t+1}) m] / (√(v/(1−β2^t)) + ε).
// State: "mu", "nu", "mu_product" (float64 [1]). (torch 1.13 multiplies the second
// denominator's π by μ_t once more; torch ≥ 2.0 and the paper do not.)
GradientTransformation scale_by_nadam(double b1 = 0.9, double b2 = 0.999, double eps = 1e-8,
                                      double momentum_decay = 4e-3);
// RAdam (Liu et al. 2020, eq. of Alg. 2): ρ∞ = 2/(1−β2) − 1, ρ_t = ρ∞ − 2tβ2^t/(1−β2^t);
// out = m̂ · r_t √(1−β2^t)/(√v + ε) when ρ_t > 5, else m̂ (r_t the variance rectification).
GradientTransformation scale_by_radam(double b1 = 0.9, double b2 = 0.999, double eps = 1e-8);
// Adamax (Kingma & Ba §7.1): m as Adam, w ← max(β2 w, |u| + ε), out = m / ((1−β1^t) w).
// State: "mu", "inf_norm".
GradientTransformation scale_by_adamax(double b1 = 0.9, double b2 = 0.999, double eps = 1e-8);
// Adadelta (Zeiler 2012, Alg. 1): s ← ρ s + (1−ρ)u², out = √(d + ε)/√(s + ε) · u,
// d ← ρ d + (1−ρ) out². State: "square_avg", "acc_delta".
GradientTransformation scale_by_adadelta(double rho = 0.9, double eps = 1e-6);
// Rprop (Riedmiller & Braun 1993, torch's variant without backtracking): per coordinate a
// step size s ← clamp(s · (η+ if u·u_prev > 0, η− if < 0, 1 otherwise), s_min, s_max); where
// the sign flipped, u counts as 0 (and is remembered as 0). out = −sign(u) s: this link is
// the whole update, learning rate included (s starts at `initial_step`). State: "prev", "step_size".
GradientTransformation scale_by_rprop(double initial_step = 1e-2, double eta_minus = 0.5, double eta_plus = 1.2,
                                      double min_step = 1e-6, double max_step = 50.0);
// Iterate averaging: a running average a of the parameters AFTER this step, θ' = θ + u,
// a ← a + w_t (θ' − a) (a ← θ' when w_t = 1), output unchanged. The last link of a chain
// (it reads θ + u as the new iterate). State: "average" (the averaged parameters).
//   asgd_average(t0): w_t = 1 / max(1, t − t0), t = 1, 2, … (Polyak–Juditsky; torch ASGD's ax)
//   parameter_ema(decay): w_t = 1 − decay (an exponential moving average of the iterates,
//   started at θ0; what optax users keep for evaluation)
GradientTransformation asgd_average(double t0 = 1e6);
GradientTransformation parameter_ema(double decay = 0.999);
// u ← −u: put first, a descent chain ascends (torch.optim's maximize = True).
GradientTransformation negate();

// ---- what optax users expect ----
// Lion (Chen et al. 2023, Alg. 2): out = sign(β1 m + (1−β1) u), then m ← β2 m + (1−β2) u.
// State: "mu".
GradientTransformation scale_by_lion(double b1 = 0.9, double b2 = 0.99);
// Layer-wise trust ratio (LARS, You et al. 2017 eq. 6; LAMB, You et al. 2020 Alg. 2): in
// every block, u_b ← u_b · c ‖θ_b‖ / (‖u_b‖ + ε); a block where ‖θ_b‖ or ‖u_b‖ is 0 is left as is.
GradientTransformation scale_by_trust_ratio(std::vector<Block> blocks = {}, double trust_coefficient = 1.0,
                                            double eps = 0.0);
// Adafactor's second moment (Shazeer & Stern 2018, Alg. 4/5, in optax's form): β2_t = 1 − t^{−decay_rate};
// a block whose shorter side has at least min_dim_size_to_factor entries keeps row means
// R ← β2 R + (1−β2) mean_cols(u² + ε1) and column means C likewise, V̂ = R Cᵀ / mean(R),
// and out = u · (R/mean R)^{−½} · C^{−½} (the two factors applied one after the other); the
// other blocks (and θ outside every block) keep v elementwise, out = u/√v. Then out is
// divided by max(1, RMS(out)/clipping_threshold) per block. State: "v_row", "v_col", "v" (packed).
GradientTransformation scale_by_factored_rms(std::vector<Block> blocks = {}, double decay_rate = 0.8,
                                             double eps = 1e-30, double clipping_threshold = 1.0,
                                             int64_t min_dim_size_to_factor = 128);
// Adafactor's relative step: u_b ← u_b · max(ε2, RMS(θ_b)) per block (§8: "multiply by
// parameter scale").
GradientTransformation scale_by_param_block_rms(std::vector<Block> blocks = {}, double min_scale = 1e-3);
// Per-block factors (per-layer learning-rate multipliers): u_b ← c_b u_b.
GradientTransformation scale_by_block(std::vector<Block> blocks, std::vector<double> factors);
// Adaptive gradient clipping (Brock et al. 2021, eq. 3), unit-wise: in every row i of every
// block, if ‖u_i‖ > λ max(‖θ_i‖, ε) then u_i ← λ max(‖θ_i‖, ε) u_i / ‖u_i‖.
GradientTransformation adaptive_grad_clip(double clipping, std::vector<Block> blocks = {}, double eps = 1e-3);
// u ← u + σ_t ξ, ξ ~ N(0, I) drawn from (seed, step) alone, so a resumed run draws the same
// noise. With σ_t = √(2η/β) after scale_by_learning_rate(η) this is SGLD (Welling & Teh).
GradientTransformation add_noise(Schedule stddev, uint64_t seed = 0);
// `inner` acts on the coordinates of `blocks` only; elsewhere the update passes through
// unchanged (optax.masked). inner's state is kept for all P coordinates.
GradientTransformation masked(GradientTransformation inner, std::vector<Block> blocks);
// u ← 0 on `blocks`: those parameters stay frozen (masked(scale(0), blocks)).
GradientTransformation freeze(std::vector<Block> blocks);
// Lookahead (Zhang et al. 2019, Alg. 1): `inner` moves the fast weights; every k steps the
// slow weights move φ ← φ + α(θ − φ) and θ is reset to φ. State: "slow" + inner's.
GradientTransformation lookahead(GradientTransformation inner, int64_t sync_period = 5, double alpha = 0.5);
// Gradient accumulation (optax.MultiSteps): the mean of k successive updates goes through
// `inner` every k-th step; the other steps output 0. State: "accumulator" + inner's.
GradientTransformation multi_steps(GradientTransformation inner, int64_t every_k);
// Polyak's step size (Polyak 1987; Loizou et al. 2021's SPS_max): u ← min(γ_max, (f − f*) /
// (‖u‖² + ε)) u, with f the step's loss (StepContext::value). Followed by scale(−1).
GradientTransformation scale_by_polyak(double max_rate = 1.0, double f_min = 0.0, double eps = 0.0);
// Reduce on plateau (torch ReduceLROnPlateau, mode "min", relative threshold): u ← c u with a
// factor c that starts at 1. The step's loss (StepContext::value) is averaged over
// `accumulation` steps; each mean is one torch "epoch": better than best·(1 − threshold)
// resets the count of bad ones, more than `patience` bad ones multiply c by `factor` (not
// below min_scale), then `cooldown` means are ignored. Put last. State: "plateau" float64
// [5]: c, best, bad count, cooldown left, running sum.
GradientTransformation reduce_on_plateau(double factor = 0.1, int64_t patience = 10, double threshold = 1e-4,
                                         int64_t cooldown = 0, double min_scale = 0.0, int64_t accumulation = 1);
// Sharpness-aware minimization (Foret et al. 2021, eq. 2–3): the gradient is replaced by the
// gradient of the same batch at θ + ε̂, ε̂ = ρ g/‖g‖ (one ascent step of radius ρ); put
// first, the rest of the chain descends with it. adaptive = true is ASAM (Kwon et al. 2021,
// eq. 9): ε̂ = ρ T² g / ‖T g‖ with T = diag(|θ| + η). Needs StepContext::gradient_at.
// State: "perturbed" (scratch for θ + ε̂).
GradientTransformation sam(double rho = 0.05, bool adaptive = false, double eta = 0.01);

}  // namespace descent::optim
