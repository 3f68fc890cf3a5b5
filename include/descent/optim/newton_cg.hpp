#pragma once
// Line-search Newton-CG (truncated Newton; Nocedal & Wright, Algorithm 7.1; Murphy §6.3):
// at θ_k, conjugate gradient on ∇²f(θ_k) p = −∇f(θ_k) using only Hessian-vector products,
// stopped at relative residual η_k = min(forcing_max, √‖∇f‖) (N&W eq. 7.3: superlinear
// convergence) or at the first direction of negative curvature (then the CG iterate so far,
// or −∇f on the first direction); then Armijo backtracking from the full Newton step α = 1.
//   auto t = newton_cg(objective, theta0, {}, {.max_steps = 100, .gradient_tolerance = 1e-10});
#include <cstdint>
#include <vector>

#include "descent/optim/minimize.hpp"

namespace descent::optim {

// A minimize-style trace plus the work a second-order method did.
struct SecondOrderTrace : Trace {
  int64_t evaluations = 0;           // value-and-gradient evaluations (line search included)
  int64_t inner_products = 0;        // products with the curvature matrix (HVPs, JVP/VJP pairs…)
};

struct NewtonCgOptions {
  double forcing_max = 0.5;        // η_k = min(forcing_max, √‖g_k‖); tiny values: exact Newton steps
  int64_t max_cg_iterations = 0;   // per outer step; 0: 20·P (scipy's default)
  double c1 = 1e-4;                // Armijo sufficient-decrease constant ∈ (0, 1)
  double shrink = 0.5;             // backtracking factor ∈ (0, 1)
  int max_backtracks = 60;         // exceeding it stops the run ("line_search_failed")
};

// Records: value and ‖g‖ at θ_k, step_size = ‖θ_{k+1} − θ_k‖. Uses the objective's
// hessian_vector_product (exact where the objective has one, else a difference of gradients).
SecondOrderTrace newton_cg(Objective& objective, const Tensor& theta0, const NewtonCgOptions& options = {},
                           const StopCriteria& stop = {}, const std::vector<Callback>& callbacks = {});

}  // namespace descent::optim
