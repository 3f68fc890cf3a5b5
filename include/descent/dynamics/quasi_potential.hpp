#pragma once
// Quasi-potential tools (seed 003: Hu, Zhu, Xiong & Huan 2019; Freidlin–Wentzell theory).
//
// For dx = −∇f dt + √ε σ(x) dW with D = σσᵀ, the stationary density is ≍ exp(−φ(x)/ε) and
// the mean exit time from a basin G obeys lim ε log E[τ] = min_{y∈∂G} φ(y) (seed 003 eq. 5–7).
// Near a minimum with Hessian H and constant D the quasi-potential is quadratic:
//     φ(x) = ½ xᵀ S⁻¹ x,   H S + S Hᵀ = D   (the continuous Lyapunov equation; the OU process
// dx = −Hx dt + √ε σ dW has stationary covariance εS). For isotropic D = σ²I, φ = 2(f − f(O))/σ²,
// and the Eyring–Kramers law gives the prefactor of the mean transition time over a saddle.
#include <cstdint>
#include <functional>
#include <vector>

#include <Eigen/Dense>

#include "descent/core/objective.hpp"

namespace descent::dynamics {

// X with A X + X Aᵀ = Q (scipy.linalg.solve_continuous_lyapunov's convention), by
// Bartels–Stewart on the complex Schur form A = U T Uᴴ (Golub & Van Loan §7.6.3): solves
// T Y + Y Tᴴ = Uᴴ Q U column by column from the last. Needs λ_i(A) + conj(λ_j(A)) ≠ 0.
Eigen::MatrixXd solve_continuous_lyapunov(const Eigen::MatrixXd& a, const Eigen::MatrixXd& q);
// X with X = A X Aᵀ + Q (scipy.linalg.solve_discrete_lyapunov), for ρ(A) < 1, by Smith's
// doubling X_{2k} = X_k + A_k X_k A_kᵀ, A_{2k} = A_k² (converges quadratically).
Eigen::MatrixXd solve_discrete_lyapunov(const Eigen::MatrixXd& a, const Eigen::MatrixXd& q);

// φ(x) = ½ (x − x*)ᵀ S⁻¹ (x − x*) of a quadratic basin f ≈ ½(x − x*)ᵀH(x − x*) with noise D.
class QuadraticQuasiPotential {
 public:
  QuadraticQuasiPotential(const Eigen::MatrixXd& hessian, const Eigen::MatrixXd& noise,
                          Eigen::VectorXd minimum = {});
  const Eigen::MatrixXd& covariance_factor() const { return s_; }  // S (stationary covariance / ε)
  double value(const Eigen::VectorXd& x) const;
  // min φ over the sphere ‖x − x*‖ = r: r² / (2 λ_max(S)).
  double barrier_sphere(double radius) const;
  // min φ over the hyperplane ⟨a, x − x*⟩ = c: c² / (2 aᵀ S a).
  double barrier_hyperplane(const Eigen::VectorXd& normal, double offset) const;

 private:
  Eigen::MatrixXd s_;
  Eigen::LDLT<Eigen::MatrixXd> s_factor_;
  Eigen::VectorXd minimum_;
};

// Freidlin–Wentzell: log E[τ] ≈ ΔV/ε to leading order (seed 003).
double freidlin_wentzell_log_exit_time(double barrier, double epsilon);

// Eyring–Kramers (Berglund 2013, eq. 1.4): for dx = −∇f dt + √(ε) σ dW with D = σ²I, the mean
// time to go from a minimum (Hessian H_m) over a saddle (Hessian H_s with one negative
// eigenvalue λ_s) to the next basin is
//     E[τ] ≈ (2π/|λ_s|) √(|det H_s| / det H_m) exp(2 Δf / (εσ²)),
// i.e. exp(ΔV/ε) with the quasi-potential barrier ΔV = 2Δf/σ².
double eyring_kramers_mean_transition_time(const Eigen::MatrixXd& hessian_minimum,
                                           const Eigen::MatrixXd& hessian_saddle, double barrier_f, double epsilon,
                                           double noise_variance = 1.0);

// The minimum energy path between two minima by the simplified string method (E, Ren &
// Vanden-Eijnden, J. Chem. Phys. 2007): images move by −Δt ∇f, then are redistributed at
// equal arc length along the piecewise-linear string; the end images relax into the minima.
// For isotropic noise D = σ²I this path is the minimum-action (most probable) escape path and
// its barrier gives ΔV = 2 Δf / σ² (seed 003 [EXT]).
struct StringMethodOptions {
  int images = 60;
  double step = 1e-3;         // Δt of the gradient move
  int64_t max_iterations = 20000;
  double tolerance = 1e-9;    // stop when the images move less than this (max norm) per iteration
};
struct StringPath {
  std::vector<Eigen::VectorXd> images;
  std::vector<double> energies;  // f at the images
  int saddle_index = 0;          // argmax of the energies
  double barrier = 0.0;          // f(saddle) − f(first image)
  int64_t iterations = 0;
  bool converged = false;
};
StringPath string_method(Objective& f, const Eigen::VectorXd& start, const Eigen::VectorXd& end,
                         const StringMethodOptions& options = {});

// The geometric Freidlin–Wentzell action of a path (Heymann & Vanden-Eijnden 2008), with
// drift b and constant noise D (A = D⁻¹):
//     S(ψ) = Σ_segments ( |Δψ|_A |b(ψ̄)|_A − ⟨Δψ, b(ψ̄)⟩_A ),   |u|_A² = uᵀ A u,
// b evaluated at segment midpoints. It is ≥ 0 and, minimized over paths from the minimum to
// y, equals the quasi-potential φ(y) (with D = σ²I along a minimum energy path: 2Δf/σ²).
double geometric_action(const std::vector<Eigen::VectorXd>& path,
                        const std::function<Eigen::VectorXd(const Eigen::VectorXd&)>& drift,
                        const Eigen::MatrixXd& noise);

}  // namespace descent::dynamics
