#include "descent/optim/langevin.hpp"

#include <chrono>
#include <cmath>
#include <limits>

#include "checks.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "run_loop.hpp"

namespace descent::optim {

PerturbedTrace perturbed_gradient_descent(Objective& objective, const Tensor& theta0, const PerturbedGdOptions& o,
                                          const StopCriteria& stop) {
  const char* who = "perturbed_gradient_descent";
  detail::check_positive(who, "learning_rate", o.learning_rate);
  detail::check_nonnegative(who, "gradient_threshold", o.gradient_threshold);
  detail::check_positive(who, "radius", o.radius);
  DESCENT_CHECK(o.quiet_steps >= 0, InputError, "{}: quiet_steps must be >= 0, got {}", who, o.quiet_steps);
  detail::check_start(who, theta0.numel(), objective.dimension());
  using Clock = std::chrono::steady_clock;
  PerturbedTrace out;
  Trace& trace = out.trace;
  trace.theta = theta0.clone().flatten();
  const int64_t p = trace.theta.numel();
  Tensor g = Tensor::empty({p}, trace.theta.dtype()), xi = g.clone();
  Rng rng(o.seed);
  int64_t last = std::numeric_limits<int64_t>::min() / 2;
  trace.stop_reason = "max_steps";
  for (int64_t t = 0; t < stop.max_steps; ++t) {
    const auto t0 = Clock::now();
    const double f = objective.value_and_gradient(trace.theta, g);
    const double gnorm = norm(g);
    // Perturbed GD runs past small gradients (that is where it perturbs): no gradient test.
    if (detail::stop_before_step(trace, f, gnorm, stop, false)) break;
    double moved;
    if (gnorm <= o.gradient_threshold && t - last > o.quiet_steps) {
      // Uniform on the ball B(0, r): a uniform direction (normalized Gaussian) and radius r·U^{1/P}.
      rng.fill_normal(xi);
      const double radius = o.radius * std::pow(rng.uniform(), 1.0 / static_cast<double>(p));
      scale_inplace(xi, radius / norm(xi));
      axpy(trace.theta, 1.0, xi);
      out.perturbation_steps.push_back(t);
      last = t;
      moved = radius;
    } else {
      axpy(trace.theta, -o.learning_rate, g);
      moved = o.learning_rate * gnorm;
    }
    trace.steps.push_back({t, f, gnorm, moved, std::chrono::duration<double>(Clock::now() - t0).count()});
  }
  trace.value = objective.value_and_gradient(trace.theta, g);
  trace.gradient_norm = norm(g);
  return out;
}

Tensor sgld(Objective& objective, const Tensor& theta0, const SgldOptions& o) {
  detail::check_positive("sgld", "learning_rate", o.learning_rate);
  detail::check_positive("sgld", "inverse_temperature", o.inverse_temperature);
  DESCENT_CHECK(o.steps >= 0 && o.burn_in >= 0 && o.thin >= 1 && o.batch_size >= 0, InputError,
                "sgld: need steps >= 0, burn_in >= 0, thin >= 1, batch_size >= 0 (got {}, {}, {}, {})", o.steps,
                o.burn_in, o.thin, o.batch_size);
  detail::check_start("sgld", theta0.numel(), objective.dimension());
  const int64_t n = objective.num_examples();
  DESCENT_CHECK(o.batch_size == 0 || n > 0, InputError, "sgld: mini-batches need a finite-sum objective");
  Tensor theta = theta0.clone().flatten();
  const int64_t p = theta.numel();
  Tensor g = Tensor::empty({p}, theta.dtype()), noise = g.clone();
  const int64_t kept = o.steps > o.burn_in ? (o.steps - o.burn_in + o.thin - 1) / o.thin : 0;
  Tensor samples = Tensor::empty({kept, p}, theta.dtype());
  Rng rng(o.seed), batches(o.seed, 1);
  std::vector<int64_t> order;
  int64_t cursor = n;
  const double noise_scale = std::sqrt(2.0 * o.learning_rate / o.inverse_temperature);
  int64_t row = 0;
  for (int64_t t = 0; t < o.steps; ++t) {
    if (o.batch_size == 0) {
      objective.value_and_gradient(theta, g);
    } else {
      if (cursor >= n) { order = batches.permutation(n); cursor = 0; }
      const int64_t m = std::min(o.batch_size, n - cursor);
      objective.batch_value_and_gradient(theta, {order.data() + cursor, static_cast<size_t>(m)}, g);
      cursor += m;
    }
    // θ ← θ − η ∇f̂(θ) + √(2η/β) ξ
    rng.fill_normal(noise);
    axpy(theta, -o.learning_rate, g);
    axpy(theta, noise_scale, noise);
    if (t >= o.burn_in && (t - o.burn_in) % o.thin == 0) samples.row(row++).copy_from(theta);
  }
  return samples;
}

}  // namespace descent::optim
