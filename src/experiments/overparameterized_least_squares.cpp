// Arora et al. Prop 8.1.1: on over-parametrized least squares (n < d), gradient descent from
// w0 converges to the interpolant nearest to w0, w* = w0 + Xᵀ(XXᵀ)⁻¹(y − X w0): the iterates
// never leave w0 + rowspace(X), and that affine set meets the interpolants in one point.
#include <Eigen/Dense>

#include "descent/core/rng.hpp"
#include "descent/data/synthetic.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/optim/minimize.hpp"
#include "descent/optim/optimizers.hpp"
#include "descent/optim/problems.hpp"

namespace descent::experiments {
namespace {

Eigen::Map<const Eigen::VectorXd> as_vector(const Tensor& t) { return {t.data<double>(), t.numel()}; }

}  // namespace

DESCENT_EXPERIMENT(overparameterized_least_squares, "001 (Arora et al., Theory of Deep Learning)", "Prop 8.1.1",
                   "gradient descent on over-parametrized least squares converges to the interpolant nearest to its "
                   "initialization, w0 + Xᵀ(XXᵀ)⁻¹(y − Xw0)") {
  const int64_t n = ctx.pick(20, 50), d = ctx.pick(100, 400);
  const int inits = ctx.pick(4, 8);
  auto problem = data::overparameterized_linear_regression(n, d, 0.0, ctx.seed, DType::f64);
  const Tensor& x = problem.data.inputs;
  const Tensor& y = problem.data.targets;
  optim::problems::LeastSquares objective(x, y);
  const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> X(x.data<double>(), n, d);
  const Eigen::VectorXd Y = as_vector(y);
  // f = ‖Xw − y‖²/(2n) has smoothness L = λ_max(XᵀX)/n; η = 1/L converges monotonically.
  const Eigen::MatrixXd gram = X * X.transpose();  // XXᵀ, n×n, invertible for Gaussian X with n < d
  const double L = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(gram).eigenvalues().maxCoeff() / static_cast<double>(n);
  const auto gd = optim::sgd(1.0 / L);
  const Eigen::LDLT<Eigen::MatrixXd> gram_solver(gram);

  Table& trace = ctx.trace("overparameterized_least_squares",
                           {"init", "scale", "step", "distance_to_nearest_interpolant", "loss"});
  Table& runs = ctx.table("runs", {"init_scale", "steps", "final_loss", "relative_distance_to_nearest_interpolant",
                                   "nearest_interpolant_distance_from_min_norm"});
  double worst = 0.0, min_spread = 1e300;
  Rng rng(ctx.seed + 17);
  for (int k = 0; k < inits; ++k) {
    // Initializations at several scales, w0 = 0 (the minimum-norm interpolant) first.
    const double scale = k == 0 ? 0.0 : 0.5 * k;
    Tensor w0 = rng.normal_tensor({d}, DType::f64, 0.0, scale / std::sqrt(static_cast<double>(d)));
    const Eigen::VectorXd W0 = as_vector(w0);
    const Eigen::VectorXd nearest = W0 + X.transpose() * gram_solver.solve(Y - X * W0);
    int64_t step = 0;
    auto record = [&](const optim::StepRecord& r, const Tensor& theta) {
      if (step % 10 == 0) trace.add_row({k, scale, step, (as_vector(theta) - nearest).norm(), r.value});
      ++step;
      return false;
    };
    optim::StopCriteria stop;
    stop.max_steps = ctx.pick(20000, 100000);
    stop.gradient_tolerance = 1e-13;
    const optim::Trace run = optim::minimize(objective, w0, gd, stop, {record});
    const Eigen::VectorXd W = as_vector(run.theta);
    const double distance = (W - nearest).norm() / std::max(1.0, nearest.norm());
    const double from_min_norm = (nearest - X.transpose() * gram_solver.solve(Y)).norm();
    worst = std::max(worst, distance);
    if (k > 0) min_spread = std::min(min_spread, from_min_norm);
    runs.add_row({scale, run.steps.size(), run.value, distance, from_min_norm});
  }
  trace.plot({.title = "GD converges to the interpolant nearest w0 (Arora Prop 8.1.1)", .x_label = "step",
              .y_label = "||w_t - (w0 + X^T(XX^T)^{-1}(y - Xw0))||",
              .series = {{"step", "distance_to_nearest_interpolant", "all inits", true}}, .log_y = true});
  ctx.measure("n", n);
  ctx.measure("d", d);
  ctx.check.at_most("worst_relative_distance_to_nearest_interpolant", worst, 1e-6);
  // The claim has content only if the limits differ between initializations.
  ctx.check.above("smallest_separation_between_limits", min_spread, 1e-3);
  ctx.note("GD with η = 1/L on ‖Xw − y‖²/(2n), X Gaussian, noise-free targets; distances in the CSV are per step.");
}

}  // namespace descent::experiments
