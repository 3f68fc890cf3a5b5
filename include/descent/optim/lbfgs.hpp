#pragma once
// Limited-memory BFGS with a strong-Wolfe line search (Nocedal & Wright, Numerical
// Optimization, 2nd ed., Algorithms 7.4 (two-loop recursion), 3.5 and 3.6 (line search
// and zoom)). It minimizes a plain function that returns its value and fills its gradient;
// autodiff Objectives are wrapped onto this interface elsewhere.
#include <functional>
#include <string>

#include <Eigen/Core>

namespace descent::optim {

// Returns f(x) and writes the gradient of f at x into `gradient` (already sized like x).
// A non-finite value is allowed: the line search treats it as "step too long".
using ValueAndGradient = std::function<double(const Eigen::VectorXd& x, Eigen::VectorXd& gradient)>;

struct LbfgsOptions {
  int history = 10;                  // m: curvature pairs kept
  int max_iterations = 1000;
  int max_evaluations = 20000;       // function-and-gradient evaluations, line search included
  double gradient_tolerance = 1e-8;  // stop when max_i |g_i| <= tolerance
  double function_tolerance = 0.0;   // stop when |f_k - f_{k+1}| <= tol * max(1, |f_k|); 0: off
  double wolfe_c1 = 1e-4;            // sufficient decrease
  double wolfe_c2 = 0.9;             // curvature (strong Wolfe: |phi'(a)| <= c2 |phi'(0)|)
  int max_line_search_steps = 40;
};

enum class LbfgsStatus {
  gradient_tolerance,   // converged: small gradient
  function_tolerance,   // converged: f stopped decreasing
  max_iterations,
  max_evaluations,
  line_search_failed,   // no step satisfying the Wolfe conditions was found
  non_finite_start,     // f or its gradient at x0 is NaN or infinite
};

struct LbfgsResult {
  Eigen::VectorXd x;
  double f = 0.0;
  Eigen::VectorXd gradient;
  int iterations = 0;
  int evaluations = 0;
  bool converged = false;
  LbfgsStatus status = LbfgsStatus::max_iterations;
  std::string reason;  // status in words
};

LbfgsResult lbfgs(const ValueAndGradient& f, const Eigen::VectorXd& x0, const LbfgsOptions& options = {});

const char* to_string(LbfgsStatus status);

}  // namespace descent::optim
