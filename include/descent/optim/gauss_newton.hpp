#pragma once
// Gauss–Newton and Levenberg–Marquardt for nonlinear least squares f(θ) = ½‖r(θ)‖²
// (Nocedal & Wright §10.3; Murphy §6.3 on curvature-matrix approximations): the curvature
// JᵀJ (the Hessian without the Σ r_i ∇²r_i term, positive semi-definite) replaces ∇²f, and
// the step solves (JᵀJ + λD) p = −Jᵀr. λ = 0 is Gauss–Newton (with Armijo backtracking along
// p); λ > 0 is Levenberg–Marquardt: a step that lowers f is taken and λ shrinks, one that does
// not is refused and λ grows (Marquardt's rule), moving p from the Gauss–Newton step towards
// a short gradient step. D = I (Levenberg) or diag(JᵀJ) (Marquardt's scaling).
//
// The residuals come with either the dense Jacobian (the system is solved by Cholesky) or
// products v ↦ Jv and u ↦ Jᵀu only (matrix-free; the system is solved by conjugate gradient,
// so J is never formed: the form for models with many parameters).
#include <cstdint>
#include <functional>
#include <vector>

#include <Eigen/Core>

#include "descent/optim/newton_cg.hpp"

namespace descent::optim {

struct ResidualFunction {
  int64_t residuals = 0;   // m
  int64_t parameters = 0;  // P
  // r(θ) into r (sized m).
  std::function<void(const Eigen::VectorXd& theta, Eigen::VectorXd& r)> residual;
  // Either the Jacobian J = ∂r/∂θ into j ([m, P]) ...
  std::function<void(const Eigen::VectorXd& theta, Eigen::MatrixXd& j)> jacobian;
  // ... or both products: jv = J v (sized m) and jtu = Jᵀ u (sized P).
  std::function<void(const Eigen::VectorXd& theta, const Eigen::VectorXd& v, Eigen::VectorXd& jv)> jvp;
  std::function<void(const Eigen::VectorXd& theta, const Eigen::VectorXd& u, Eigen::VectorXd& jtu)> vjp;
};

struct GaussNewtonOptions {
  double damping = 1e-3;            // initial λ ≥ 0; 0: plain Gauss–Newton
  double damping_increase = 10.0;   // λ ← λ·increase after a refused step (> 1)
  double damping_decrease = 0.1;    // λ ← λ·decrease after an accepted step, in (0, 1)
  bool marquardt_scaling = false;   // D = diag(JᵀJ) instead of I
  int max_refusals = 60;            // refused LM steps (or GN backtracks) in a row before giving up
  double cg_tolerance = 1e-10;      // matrix-free: relative residual of the CG solve
  int64_t max_cg_iterations = 0;    // matrix-free: 0 means 2·P
};

// Records: f = ½‖r‖² and ‖Jᵀr‖ at θ_k, step_size = ‖θ_{k+1} − θ_k‖. inner_products counts
// products with JᵀJ (one jvp and one vjp each) in the matrix-free form. A run that can no
// longer lower f stops with stop_reason "no_progress" (converged when ‖Jᵀr‖ is within the
// tolerance).
SecondOrderTrace gauss_newton(const ResidualFunction& problem, const Eigen::VectorXd& theta0,
                              const GaussNewtonOptions& options = {}, const StopCriteria& stop = {},
                              const std::vector<Callback>& callbacks = {});

}  // namespace descent::optim
