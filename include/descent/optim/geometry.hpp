#pragma once
// Methods that change the geometry of the step (Arora ch. 8; Murphy §6.3):
//   mirror descent for a potential ψ:   ∇ψ(w_{t+1}) = ∇ψ(w_t) − η_t ∇L(w_t)          (Arora §8.1.1)
//   steepest descent w.r.t. a norm:     w_{t+1} = w_t + η_t Δ_t,
//                                       Δ_t ∈ argmin_v ⟨∇L(w_t), v⟩ + ½‖v‖²         (Arora §8.3, Gunasekar et al. 2018)
//   coordinate descent:                 one coordinate of the gradient per step (cyclic, random or
//                                       greedy = Gauss–Southwell, which is ℓ1 steepest descent).
// And the reference points their implicit bias is measured against: the Bregman projection
// argmin_{Xw=y} D_ψ(w, w0) (Arora Thm 8.1.2).
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "descent/optim/minimize.hpp"
#include "descent/optim/transform.hpp"

namespace descent::optim {

// ---- potentials (mirror maps) ----
// A strictly convex ψ with its gradient (the mirror map), the inverse of the mirror map
// ∇ψ* = (∇ψ)^{-1}, and the convex conjugate ψ*(z) = sup_w ⟨z, w⟩ − ψ(w).
struct Potential {
  std::string name;
  std::function<double(std::span<const double> w)> value;
  std::function<void(std::span<const double> w, std::span<double> out)> gradient;
  std::function<void(std::span<const double> z, std::span<double> out)> inverse_gradient;
  std::function<double(std::span<const double> z)> conjugate_value;
};

// ψ(w) = Σ_i w_i log w_i − w_i on w > 0 (unnormalized negative entropy): ∇ψ = log w,
// ∇ψ* = exp z, ψ*(z) = Σ exp z_i. Mirror descent with it is exponentiated gradient.
Potential negative_entropy();
// ψ(w) = ½‖w‖_p², 1 < p < ∞: ∇ψ(w)_i = sign(w_i)|w_i|^{p−1} ‖w‖_p^{2−p}; its conjugate is
// ½‖z‖_q² with 1/p + 1/q = 1, so ∇ψ* is the same map with q.
Potential half_squared_lp_norm(double p);
// D_ψ(w, w0) = ψ(w) − ψ(w0) − ⟨∇ψ(w0), w − w0⟩.
double bregman_divergence(const Potential& psi, std::span<const double> w, std::span<const double> w0);

// Mirror descent on an Objective: z ← ∇ψ(θ) − η_t ∇f(θ), θ ← ∇ψ*(z). Records as minimize;
// step_size is ‖θ_{k+1} − θ_k‖₂. θ0 must lie in ψ's domain (positive for negative_entropy).
Trace mirror_descent(Objective& objective, const Tensor& theta0, const Potential& psi, Schedule learning_rate,
                     const StopCriteria& stop = {}, const std::vector<Callback>& callbacks = {});

// argmin_{w : Xw = y} D_ψ(w, w0) for X [n, d] (row-major, n ≤ d, full row rank): the
// optimality condition is ∇ψ(w) = ∇ψ(w0) + Xᵀλ, so w = ∇ψ*(∇ψ(w0) + Xᵀλ) with λ the
// minimizer of the convex dual ψ*(∇ψ(w0) + Xᵀλ) − λᵀy, found by damped Newton. Throws
// Error if the constraint residual ‖Xw − y‖ does not fall below tolerance · max(1, ‖y‖).
std::vector<double> bregman_projection(const Potential& psi, std::span<const double> X, int64_t n,
                                       std::span<const double> y, std::span<const double> w0,
                                       double tolerance = 1e-10);

// ---- steepest descent w.r.t. ℓp ----
// The steepest-descent step for a gradient g, Δ = argmin_v ⟨g, v⟩ + ½‖v‖_p², is
//   Δ = −∇(½‖·‖_q²)(g),  Δ_i = −sign(g_i)|g_i|^{q−1} ‖g‖_q^{2−q},  1/p + 1/q = 1,
// i.e. −‖g‖_q times the unit-ℓp vector most aligned with g. Limits: p = 1 (q = ∞) moves only
// the largest |g_i| (first index on ties) by −g_i; p = ∞ (q = 1) gives −‖g‖_1 sign(g); p = 2
// gives −g. Writes −Δ (the direction before the descent sign) into `out`; p ∈ [1, ∞].
void lp_steepest_direction(std::span<const double> g, double p, std::span<double> out);
// Link: u ← −Δ(u) above (so chain(..., scale_by_learning_rate(η)) steps by ηΔ).
GradientTransformation scale_by_lp_steepest_direction(double p);
// chain(scale_by_lp_steepest_direction(p), scale_by_learning_rate(η)).
GradientTransformation lp_steepest_descent(Schedule learning_rate, double p);

// ---- coordinate descent ----
enum class CoordinateRule { cyclic, random, greedy };
// Link: keeps one coordinate of u and zeroes the rest. cyclic: i = step mod P; random:
// i drawn uniformly from a generator seeded by (seed, step); greedy (Gauss–Southwell): the
// largest |u_i|, first on ties.
GradientTransformation select_coordinate(CoordinateRule rule, uint64_t seed = 0);
// chain(select_coordinate(rule, seed), scale_by_learning_rate(η)).
GradientTransformation coordinate_descent(Schedule learning_rate, CoordinateRule rule, uint64_t seed = 0);

}  // namespace descent::optim
