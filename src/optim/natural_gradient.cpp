#include "descent/optim/natural_gradient.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <Eigen/Dense>

#include "checks.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "run_loop.hpp"

namespace descent::optim {

namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

Tensor empirical_fisher_solve(const Tensor& per_example_gradients, const Tensor& g, double damping) {
  DESCENT_CHECK(per_example_gradients.rank() == 2 && per_example_gradients.dim(0) >= 1, ShapeError,
                "empirical_fisher_solve: per-example gradients must be [n >= 1, P], got {}",
                per_example_gradients.shape());
  const int64_t n = per_example_gradients.dim(0), p = per_example_gradients.dim(1);
  DESCENT_CHECK(g.numel() == p, ShapeError, "empirical_fisher_solve: g has {} elements, the gradients have P = {}",
                g.numel(), p);
  detail::check_positive("empirical_fisher_solve", "damping", damping);
  const Tensor gd = per_example_gradients.astype(DType::f64);  // tensors are contiguous
  const Tensor vd = g.astype(DType::f64);
  const Eigen::Map<const RowMatrix> G(gd.data<double>(), n, p);
  const Eigen::Map<const Eigen::VectorXd> v(vd.data<double>(), p);
  Tensor out = Tensor::empty({p}, DType::f64);
  Eigen::Map<Eigen::VectorXd> x(out.data<double>(), p);
  const double nd = static_cast<double>(n);
  if (n < p) {
    // Woodbury: (δI + GᵀG/n)⁻¹ = (1/δ)(I − Gᵀ(nδ I + GGᵀ)⁻¹G).
    Eigen::MatrixXd gram = G * G.transpose();
    gram.diagonal().array() += nd * damping;
    const Eigen::VectorXd gv = G * v;
    x = (v - G.transpose() * gram.llt().solve(gv)) / damping;
  } else {
    Eigen::MatrixXd fisher = G.transpose() * G / nd;
    fisher.diagonal().array() += damping;
    x = fisher.llt().solve(v);
  }
  return out;
}

Trace natural_gradient_descent(Objective& objective, const Tensor& theta0, const NaturalGradientOptions& o,
                               const StopCriteria& stop, const std::vector<Callback>& callbacks) {
  detail::check_positive("natural_gradient_descent", "damping", o.damping);
  const int64_t n = objective.num_examples();
  DESCENT_CHECK(n > 0, InputError,
                "natural_gradient_descent: the objective is not a finite sum (num_examples() = 0); the empirical "
                "Fisher needs per-example gradients");
  DESCENT_CHECK(o.batch_size >= 0, InputError, "natural_gradient_descent: batch_size must be >= 0, got {}",
                o.batch_size);
  detail::check_start("natural_gradient_descent", theta0.numel(), objective.dimension());
  using Clock = std::chrono::steady_clock;
  const bool full = o.batch_size == 0 || o.batch_size >= n;
  const int64_t b = full ? n : o.batch_size;
  Trace trace;
  trace.theta = theta0.clone().flatten();
  const int64_t p = trace.theta.numel();
  Tensor grad = Tensor::empty({p}, trace.theta.dtype());
  Tensor rows = Tensor::empty({b, p}, trace.theta.dtype());
  Rng rng(o.seed);
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  int64_t cursor = full ? 0 : n;  // n: draw a fresh permutation before the first batch
  trace.stop_reason = "max_steps";
  const auto start = Clock::now();
  for (int64_t k = 0; k < stop.max_steps; ++k) {
    const auto t0 = Clock::now();
    if (!full && cursor + b > n) {  // a new epoch; batches are all of size b
      order = rng.permutation(n);
      cursor = 0;
    }
    const std::span<const int64_t> batch(order.data() + cursor, static_cast<size_t>(b));
    if (!full) cursor += b;
    const double value = full ? objective.value_and_gradient(trace.theta, grad)
                              : objective.batch_value_and_gradient(trace.theta, batch, grad);
    const double gnorm = norm(grad);
    if (detail::stop_before_step(trace, value, gnorm, stop, full)) break;
    objective.per_example_gradients(trace.theta, batch, rows);
    const Tensor direction = empirical_fisher_solve(rows, grad, o.damping);
    const double eta = o.learning_rate(k);
    axpy(trace.theta, -eta, direction.astype(trace.theta.dtype()));
    const StepRecord rec{k, value, gnorm, eta * norm(direction), std::chrono::duration<double>(Clock::now() - t0).count()};
    trace.steps.push_back(rec);
    if (detail::stop_after_step(trace, rec, callbacks, start, stop.max_seconds)) break;
  }
  trace.value = objective.value_and_gradient(trace.theta, grad);
  trace.gradient_norm = norm(grad);
  if (trace.stop_reason == "max_steps" && full &&
      (trace.gradient_norm <= stop.gradient_tolerance || trace.value <= stop.value_target)) {
    trace.converged = true;
    trace.stop_reason = trace.gradient_norm <= stop.gradient_tolerance ? "gradient_tolerance" : "value_target";
  }
  return trace;
}

}  // namespace descent::optim
