#pragma once
// Simulation of SGD's SDE (Arora §12.2–12.3, eq. 12.4; Li, Tai & E 2019)
//     dX_t = −∇f(X_t) dt + √η Σ(X_t)^{1/2} dW_t
// on any Objective f, with the diffusion of diffusion.hpp and the Brownian increments of
// brownian.hpp (shared between runs for coupling).
//
//   Euler–Maruyama  X_{k+1} = X_k − ∇f(X_k) Δt + g(X_k) ΔW_k,           g = √η Σ^{1/2}
//   Milstein        … + ½ Σ_{j,l} (L^j g_{·l})(X_k) (ΔW_j ΔW_l − δ_{jl} Δt),  L^j = Σ_m g_{mj} ∂_m
// Milstein is written for commutative noise (L^j g_{·l} = L^l g_{·j}: scalar, diagonal or
// state-independent noise; Kloeden & Platen §10.3), where the iterated Itô integrals reduce
// to (ΔW_j ΔW_l − δ_{jl}Δt)/2 and no Lévy areas are needed. The derivatives of g are central
// differences of Σ^{1/2}; the Δt trace term costs P directional derivatives, so Milstein is
// for small P. With state-independent Σ it is Euler–Maruyama.
//
// Recording: the path every `record_every` steps, and the first step at which X leaves a
// region (exit time k·Δt, monitored at the grid times).
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "descent/core/objective.hpp"
#include "descent/dynamics/brownian.hpp"
#include "descent/dynamics/diffusion.hpp"

namespace descent::dynamics {

enum class Scheme { euler_maruyama, milstein };
const char* to_string(Scheme s);
Scheme scheme_from_string(const std::string& name);  // "euler_maruyama"/"em", "milstein"

// A region of parameter space, given by its indicator.
struct Region {
  std::function<bool(const Tensor& x)> inside;
  std::string name;
};
Region ball_region(const Tensor& center, double radius);           // ‖x − c‖ < r
Region box_region(std::vector<double> lower, std::vector<double> upper);  // lower < x < upper
Region halfspace_region(std::vector<double> normal, double offset);       // ⟨a, x⟩ < c

struct SdeOptions {
  double noise_scale = 0.01;  // η in √η Σ^{1/2} (the learning rate, in the SGD reading)
  int64_t steps = 1000;       // Δt comes from the Brownian increments
  Scheme scheme = Scheme::euler_maruyama;
  int64_t record_every = 0;   // 0: keep only the end point
  const Region* exit_region = nullptr;  // when set: record the first exit
  bool stop_at_exit = true;
};

struct SdeResult {
  Tensor final_state;          // float64 [P]
  Tensor path;                 // [records, P] when recording (X_0 first), else undefined
  std::vector<double> times;   // of the path's rows
  int64_t steps_taken = 0;
  bool exited = false;
  double exit_time = std::numeric_limits<double>::infinity();  // k·Δt of the first step outside
  bool finite = true;          // false: X became non-finite at step steps_taken (reported, not hidden)
};

SdeResult simulate_sde(Objective& objective, Diffusion& diffusion, const Tensor& x0, BrownianIncrements& noise,
                       const SdeOptions& options);

// First exit times of `runs` independent paths from x0 (Brownian stream r for run r, all from
// `seed`): +inf for a path still inside after options.steps (censored). Used for the
// exp(ΔV/ε) law of Freidlin–Wentzell.
struct ExitTimes {
  std::vector<double> times;
  int64_t censored = 0;
  int64_t non_finite = 0;
  double mean_uncensored() const;
};
ExitTimes exit_times(Objective& objective, Diffusion& diffusion, const Tensor& x0, const Region& region, double dt,
                     const SdeOptions& options, int64_t runs, uint64_t seed);

}  // namespace descent::dynamics
