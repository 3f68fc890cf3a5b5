#pragma once
// Learning-rate schedules: η as a function of the step count t = 0, 1, 2, … (the number of
// updates already applied, so the first update uses η(0)). A Schedule is a value; a plain
// double converts to a constant schedule, so `adam(1e-3)` and `adam(cosine_decay(...))`
// read alike. Schedules are pure functions of t: the step count in an optimizer's State is
// all a checkpoint needs to resume them.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace descent::optim {

class Schedule {
 public:
  // A constant rate (≥ 0, finite).
  Schedule(double constant);  // NOLINT: implicit on purpose
  Schedule(std::function<double(int64_t step)> rate, std::string description);

  double operator()(int64_t step) const { return rate_(step); }
  const std::string& description() const { return description_; }
  // True when the rate does not depend on the step.
  bool is_constant() const { return constant_; }

 private:
  std::function<double(int64_t)> rate_;
  std::string description_;
  bool constant_ = false;
};

Schedule constant_schedule(double rate);
// η0 · γ^⌊t / step_size⌋ (PyTorch StepLR; step_size = 1 gives η0 γ^t).
Schedule step_decay(double initial, double gamma, int64_t step_size = 1);
// η0 / (1 + λ t) (torch Adagrad's lr_decay).
Schedule inverse_time_decay(double initial, double decay);
// η0 · e^{−λ t}.
Schedule exponential_decay(double initial, double decay_rate);
// η0 · (β t + 1)^{−α} (Murphy §6.3.1.1's polynomial decay; α = 0.5, β = 1 is the classic 1/√t).
Schedule polynomial_decay(double initial, double alpha, double beta = 1.0);
// η_min + (η0 − η_min)(1 + cos(π t / T)) / 2 for t ≤ T, then η_min (PyTorch
// CosineAnnealingLR's closed form, without restarts).
Schedule cosine_decay(double initial, int64_t total_steps, double final_value = 0.0);
// Linear warm-up from `start_value` to after(0) over `warmup_steps` steps, then
// after(t − warmup_steps).
Schedule linear_warmup(Schedule after, int64_t warmup_steps, double start_value = 0.0);
// η0 times the scale of every boundary passed: at t ≥ b_i the rate is multiplied by s_i
// (optax.piecewise_constant_schedule; torch MultiStepLR is every s_i = γ). Boundaries increasing.
Schedule piecewise_constant(double initial, std::vector<std::pair<int64_t, double>> boundaries_and_scales);
// torch OneCycleLR (Smith & Topin 2019), two phases, cosine annealing: from max/div_factor up
// to max_rate over the first pct_start·T steps (ending at step pct_start·T − 1), then down to
// max/(div_factor·final_div_factor) at step T − 1.
Schedule one_cycle(double max_rate, int64_t total_steps, double pct_start = 0.3, double div_factor = 25.0,
                   double final_div_factor = 1e4);
// torch CyclicLR (Smith 2017): triangular cycles between base and max_rate, step_size_up
// steps up and step_size_down down (−1: as many as up); mode "triangular", "triangular2" (the height halves
// each cycle) or "exp_range" (height × γ^t).
Schedule cyclic(double base, double max_rate, int64_t step_size_up, int64_t step_size_down = -1,
                const std::string& mode = "triangular", double gamma = 1.0);
// η_t = η (1 − ηλ)^{−(2t+1)}: plain SGD with this growing rate follows the same normalized
// trajectory as GD with weight decay λ on a scale-invariant loss. Arora Thm 13.3.1; the seed
// prints (1 − ηλ)^{−(2t+1)} without the factor η (spec ⚠), which the proof requires.
Schedule weight_decay_equivalent_exponential(double rate, double weight_decay);

}  // namespace descent::optim
