#pragma once
// L-BFGS exactly as torch.optim.LBFGS computes it (torch/optim/lbfgs.py, after minFunc), so
// that a PyTorch user's L-BFGS run can be reproduced step for step (tests/optim/
// test_torch_agreement.cpp checks 200 steps against torch to 1e-9 relative). It differs from
// lbfgs.hpp (Nocedal & Wright) on purpose, in torch's ways:
//   - no line search by default: a fixed step t = lr, except the very first iteration,
//     t = min(1, 1/‖g‖₁)·lr;
//   - a curvature pair is kept when yᵀs > 1e-10 (absolute), and H₀ = (yᵀs / yᵀy) I is only
//     refreshed then;
//   - the optional strong-Wolfe search is torch's port of minFunc's (cubic interpolation
//     with extrapolation bounds [t + 0.01(t − t_prev), 10t], 25 evaluations at most);
//   - state persists across `step` calls, each of which runs up to max_iter iterations and
//     the stopping tests of torch (tolerance_grad on max|g|, tolerance_change on f and on
//     max|t d|).
// For plain full-batch minimization prefer optim::lbfgs (more robust line search).
#include <functional>
#include <vector>

#include <Eigen/Core>

#include "descent/optim/lbfgs.hpp"

namespace descent::optim {

struct TorchLbfgsOptions {
  double lr = 1.0;
  int max_iter = 20;               // iterations per step call
  int max_eval = -1;               // evaluations per step call; −1: max_iter·5/4 (torch's default)
  double tolerance_grad = 1e-7;
  double tolerance_change = 1e-9;
  int history_size = 100;
  bool strong_wolfe = false;       // line_search_fn="strong_wolfe"
};

// torch.optim.LBFGS over one flat parameter vector. Hyper-parameters are checked when it is
// built (lr > 0, max_iter ≥ 1, history_size ≥ 1, tolerances ≥ 0).
class TorchLbfgs {
 public:
  explicit TorchLbfgs(const TorchLbfgsOptions& options = {});

  // One `optimizer.step(closure)`: `f` plays the closure (value, gradient at x). Updates x in
  // place and returns the loss at x on entry, as torch does.
  double step(const ValueAndGradient& f, Eigen::VectorXd& x);

  int iterations() const { return n_iter_; }       // state['n_iter'] (over all step calls)
  int evaluations() const { return func_evals_; }  // state['func_evals']
  const TorchLbfgsOptions& options() const { return opt_; }

 private:
  TorchLbfgsOptions opt_;
  int n_iter_ = 0, func_evals_ = 0;
  Eigen::VectorXd d_, prev_flat_grad_;
  double t_ = 0.0, h_diag_ = 1.0, prev_loss_ = 0.0;
  std::vector<Eigen::VectorXd> old_dirs_, old_stps_;  // y and s, oldest first
  std::vector<double> ro_;
};

}  // namespace descent::optim
