#include "descent/optim/geometry.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <limits>

#include "checks.hpp"
#include "descent/core/dtype.hpp"
#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "run_loop.hpp"

namespace descent::optim {
namespace {

double lp_norm(std::span<const double> w, double p) {
  if (std::isinf(p)) {
    double m = 0.0;
    for (double x : w) m = std::max(m, std::abs(x));
    return m;
  }
  double s = 0.0;
  for (double x : w) s += std::pow(std::abs(x), p);
  return std::pow(s, 1.0 / p);
}

// ∇(½‖·‖_p²)(w)_i = sign(w_i)|w_i|^{p−1} ‖w‖_p^{2−p} (0 at w = 0), for 1 < p < ∞.
void half_squared_lp_gradient(std::span<const double> w, double p, std::span<double> out) {
  const double norm = lp_norm(w, p);
  for (size_t i = 0; i < w.size(); ++i)
    out[i] = norm == 0.0 ? 0.0 : std::copysign(std::pow(std::abs(w[i]), p - 1.0), w[i]) * std::pow(norm, 2.0 - p);
}

std::vector<double> to_vector(const Tensor& t) {
  std::vector<double> v(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.at(i);
  return v;
}
void from_vector(const std::vector<double>& v, Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, v[i]);
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class ScaleByLpSteepestDirection final : public Transform {
 public:
  explicit ScaleByLpSteepestDirection(double p) : p_(p) {
    DESCENT_CHECK(p >= 1.0, InputError, "scale_by_lp_steepest_direction: p must be >= 1 (or infinity), got {}", p);
  }
  std::string name() const override { return fmt::format("scale_by_lp_steepest_direction({})", p_); }
  State init(const Tensor&) const override { return {}; }
  void update(Tensor& u, State& s, const Tensor&) const override {
    dispatch_floating(u.dtype(), "scale_by_lp_steepest_direction", [&](auto zero) {
      using T = decltype(zero);
      T* x = u.data<T>();
      const int64_t n = u.numel();
      if (p_ == 1.0) {  // q = ∞: keep the largest |u_i|
        int64_t best = 0;
        for (int64_t i = 1; i < n; ++i)
          if (std::abs(x[i]) > std::abs(x[best])) best = i;
        for (int64_t i = 0; i < n; ++i)
          if (i != best) x[i] = T(0);
        return;
      }
      if (std::isinf(p_)) {  // q = 1: ‖u‖_1 sign(u)
        double l1 = 0.0;
        for (int64_t i = 0; i < n; ++i) l1 += std::abs(double(x[i]));
        for (int64_t i = 0; i < n; ++i) x[i] = x[i] > T(0) ? T(l1) : (x[i] < T(0) ? T(-l1) : T(0));
        return;
      }
      const double q = p_ / (p_ - 1.0);
      double s = 0.0;
      for (int64_t i = 0; i < n; ++i) s += std::pow(std::abs(double(x[i])), q);
      if (s == 0.0) return;
      const double factor = std::pow(std::pow(s, 1.0 / q), 2.0 - q);
      for (int64_t i = 0; i < n; ++i)
        x[i] = T(std::copysign(std::pow(std::abs(double(x[i])), q - 1.0), double(x[i])) * factor);
    });
    ++s.step;
  }

 private:
  double p_;
};

class SelectCoordinate final : public Transform {
 public:
  SelectCoordinate(CoordinateRule rule, uint64_t seed) : rule_(rule), seed_(seed) {}
  std::string name() const override {
    return fmt::format("select_coordinate({})", rule_ == CoordinateRule::cyclic   ? "cyclic"
                                                : rule_ == CoordinateRule::random ? "random"
                                                                                  : "greedy");
  }
  State init(const Tensor&) const override { return {}; }
  void update(Tensor& u, State& s, const Tensor&) const override {
    const int64_t n = u.numel();
    dispatch_floating(u.dtype(), "select_coordinate", [&](auto zero) {
      using T = decltype(zero);
      T* x = u.data<T>();
      int64_t keep = 0;
      if (rule_ == CoordinateRule::cyclic) {
        keep = s.step % n;
      } else if (rule_ == CoordinateRule::random) {
        keep = int64_t(splitmix64(seed_ ^ splitmix64(uint64_t(s.step))) % uint64_t(n));
      } else {
        for (int64_t i = 1; i < n; ++i)
          if (std::abs(x[i]) > std::abs(x[keep])) keep = i;
      }
      for (int64_t i = 0; i < n; ++i)
        if (i != keep) x[i] = T(0);
    });
    ++s.step;
  }

 private:
  CoordinateRule rule_;
  uint64_t seed_;
};

}  // namespace

Potential negative_entropy() {
  Potential psi;
  psi.name = "negative_entropy";
  psi.value = [](std::span<const double> w) {
    double s = 0.0;
    for (double x : w) s += (x > 0.0 ? x * std::log(x) : 0.0) - x;
    return s;
  };
  psi.gradient = [](std::span<const double> w, std::span<double> out) {
    for (size_t i = 0; i < w.size(); ++i) out[i] = std::log(w[i]);
  };
  psi.inverse_gradient = [](std::span<const double> z, std::span<double> out) {
    for (size_t i = 0; i < z.size(); ++i) out[i] = std::exp(z[i]);
  };
  psi.conjugate_value = [](std::span<const double> z) {
    double s = 0.0;
    for (double x : z) s += std::exp(x);
    return s;
  };
  return psi;
}

Potential half_squared_lp_norm(double p) {
  DESCENT_CHECK(std::isfinite(p) && p > 1.0, InputError, "half_squared_lp_norm: p must lie in (1, ∞), got {}", p);
  const double q = p / (p - 1.0);
  Potential psi;
  psi.name = fmt::format("half_squared_l{}_norm", p);
  psi.value = [p](std::span<const double> w) { return 0.5 * std::pow(lp_norm(w, p), 2.0); };
  psi.gradient = [p](std::span<const double> w, std::span<double> out) { half_squared_lp_gradient(w, p, out); };
  psi.inverse_gradient = [q](std::span<const double> z, std::span<double> out) { half_squared_lp_gradient(z, q, out); };
  psi.conjugate_value = [q](std::span<const double> z) { return 0.5 * std::pow(lp_norm(z, q), 2.0); };
  return psi;
}

double bregman_divergence(const Potential& psi, std::span<const double> w, std::span<const double> w0) {
  DESCENT_CHECK(w.size() == w0.size(), ShapeError, "bregman_divergence: sizes {} and {} differ", w.size(), w0.size());
  std::vector<double> g(w0.size());
  psi.gradient(w0, g);
  double inner = 0.0;
  for (size_t i = 0; i < w.size(); ++i) inner += g[i] * (w[i] - w0[i]);
  return psi.value(w) - psi.value(w0) - inner;
}

Trace mirror_descent(Objective& objective, const Tensor& theta0, const Potential& psi, Schedule learning_rate,
                     const StopCriteria& stop, const std::vector<Callback>& callbacks) {
  detail::check_start("mirror_descent", theta0.numel(), objective.dimension());
  using Clock = std::chrono::steady_clock;
  Trace trace;
  trace.theta = theta0.clone().flatten();
  const int64_t p = trace.theta.numel();
  Tensor g = Tensor::empty({p}, trace.theta.dtype());
  std::vector<double> w = to_vector(trace.theta), z(p), w_next(p);
  for (double x : w)
    DESCENT_CHECK(std::isfinite(x), InputError, "mirror_descent: theta0 has a non-finite entry");
  trace.stop_reason = "max_steps";
  const auto start = Clock::now();
  double f = objective.value_and_gradient(trace.theta, g);
  for (int64_t k = 0; k < stop.max_steps; ++k) {
    const auto t0 = Clock::now();
    const double gnorm = norm(g);
    if (detail::stop_before_step(trace, f, gnorm, stop)) break;
    // Arora §8.1.1: ∇ψ(w_{t+1}) = ∇ψ(w_t) − η ∇L(w_t).
    psi.gradient(w, z);
    const double eta = learning_rate(k);
    for (int64_t i = 0; i < p; ++i) z[i] -= eta * g.at(i);
    psi.inverse_gradient(z, w_next);
    double moved = 0.0;
    for (int64_t i = 0; i < p; ++i) moved += (w_next[i] - w[i]) * (w_next[i] - w[i]);
    w.swap(w_next);
    from_vector(w, trace.theta);
    const StepRecord rec{k, f, gnorm, std::sqrt(moved), std::chrono::duration<double>(Clock::now() - t0).count()};
    f = objective.value_and_gradient(trace.theta, g);
    trace.steps.push_back(rec);
    if (detail::stop_after_step(trace, rec, callbacks, start, stop.max_seconds)) break;
  }
  trace.value = f;
  trace.gradient_norm = norm(g);
  return trace;
}

std::vector<double> bregman_projection(const Potential& psi, std::span<const double> X, int64_t n,
                                       std::span<const double> y, std::span<const double> w0, double tolerance) {
  const int64_t d = int64_t(w0.size());
  DESCENT_CHECK(n >= 1 && int64_t(X.size()) == n * d && int64_t(y.size()) == n, ShapeError,
                "bregman_projection: X has {} entries, expected n·d = {}·{}, y has {}", X.size(), n, d, y.size());
  Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> Xm(X.data(), n, d);
  Eigen::Map<const Eigen::VectorXd> yv(y.data(), n);
  std::vector<double> z0(d), z(d), w(d);
  psi.gradient(w0, z0);
  // Dual D(λ) = ψ*(z0 + Xᵀλ) − λᵀy: ∇D = X ∇ψ*(z0 + Xᵀλ) − y (the constraint residual).
  auto primal = [&](const Eigen::VectorXd& lambda) {
    Eigen::VectorXd zz = Eigen::Map<const Eigen::VectorXd>(z0.data(), d) + Xm.transpose() * lambda;
    for (int64_t i = 0; i < d; ++i) z[i] = zz[i];
    psi.inverse_gradient(z, w);
    return Eigen::VectorXd(Eigen::Map<const Eigen::VectorXd>(w.data(), d));
  };
  auto dual = [&](const Eigen::VectorXd& lambda) {
    Eigen::VectorXd zz = Eigen::Map<const Eigen::VectorXd>(z0.data(), d) + Xm.transpose() * lambda;
    std::vector<double> zs(zz.data(), zz.data() + d);
    return psi.conjugate_value(zs) - lambda.dot(yv);
  };
  Eigen::VectorXd lambda = Eigen::VectorXd::Zero(n);
  double residual = std::numeric_limits<double>::infinity();
  for (int it = 0; it < 200; ++it) {
    const Eigen::VectorXd grad = Xm * primal(lambda) - yv;
    residual = grad.norm();
    if (residual <= tolerance * std::max(1.0, yv.norm())) break;
    // Dual Hessian X ∇²ψ*(z) Xᵀ by central differences of ∇ψ* along the rows of X.
    Eigen::MatrixXd hess(n, n);
    const double h = 1e-6 * std::max(1.0, lambda.norm());
    for (int64_t k = 0; k < n; ++k) {
      Eigen::VectorXd e = Eigen::VectorXd::Zero(n);
      e[k] = h;
      hess.col(k) = Xm * (primal(lambda + e) - primal(lambda - e)) / (2 * h);
    }
    hess = 0.5 * (hess + hess.transpose()) + 1e-14 * Eigen::MatrixXd::Identity(n, n);
    Eigen::VectorXd step = hess.ldlt().solve(-grad);
    if (!step.allFinite() || step.dot(grad) >= 0) step = -grad;
    const double d0 = dual(lambda);
    double a = 1.0;
    for (int b = 0; b < 60 && !(dual(lambda + a * step) <= d0 + 1e-4 * a * step.dot(grad)); ++b) a *= 0.5;
    lambda += a * step;
  }
  const Eigen::VectorXd wv = primal(lambda);
  residual = (Xm * wv - yv).norm();
  DESCENT_CHECK(residual <= tolerance * std::max(1.0, yv.norm()), Error,
                "bregman_projection ({}): constraint residual {} above tolerance {} after Newton on the dual "
                "(is X of full row rank and y reachable in ψ's domain?)",
                psi.name, residual, tolerance);
  return std::vector<double>(wv.data(), wv.data() + d);
}

void lp_steepest_direction(std::span<const double> g, double p, std::span<double> out) {
  DESCENT_CHECK(p >= 1.0, InputError, "lp_steepest_direction: p must be >= 1 (or infinity), got {}", p);
  if (p == 1.0) {
    size_t best = 0;
    for (size_t i = 1; i < g.size(); ++i)
      if (std::abs(g[i]) > std::abs(g[best])) best = i;
    for (size_t i = 0; i < g.size(); ++i) out[i] = i == best ? g[i] : 0.0;
  } else if (std::isinf(p)) {
    const double l1 = lp_norm(g, 1.0);
    for (size_t i = 0; i < g.size(); ++i) out[i] = g[i] > 0 ? l1 : (g[i] < 0 ? -l1 : 0.0);
  } else {
    half_squared_lp_gradient(g, p / (p - 1.0), out);
  }
}

GradientTransformation scale_by_lp_steepest_direction(double p) {
  return GradientTransformation(std::make_shared<const ScaleByLpSteepestDirection>(p));
}
GradientTransformation lp_steepest_descent(Schedule learning_rate, double p) {
  return chain(scale_by_lp_steepest_direction(p), scale_by_learning_rate(std::move(learning_rate)));
}
GradientTransformation select_coordinate(CoordinateRule rule, uint64_t seed) {
  return GradientTransformation(std::make_shared<const SelectCoordinate>(rule, seed));
}
GradientTransformation coordinate_descent(Schedule learning_rate, CoordinateRule rule, uint64_t seed) {
  return chain(select_coordinate(rule, seed), scale_by_learning_rate(std::move(learning_rate)));
}

}  // namespace descent::optim
