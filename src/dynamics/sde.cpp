#include "descent/dynamics/sde.hpp"

#include <cmath>

#include <fmt/format.h>

#include "descent/core/ops.hpp"

namespace descent::dynamics {
namespace {

// g(x) z = √η Σ(x)^{1/2} z.
void apply_g(Diffusion& d, double sqrt_eta, const Tensor& x, const Tensor& z, Tensor& out) {
  d.apply_sqrt(x, z, out);
  as_vector(out) *= sqrt_eta;
}

// D_u[x ↦ g(x) z] by a central difference with a step scaled to x and u.
void directional_derivative(Diffusion& d, double sqrt_eta, const Tensor& x, const Tensor& u, const Tensor& z,
                            Tensor& scratch_x, Tensor& plus, Tensor& minus, Tensor& out) {
  const double un = as_vector(u).norm();
  if (un == 0.0) {
    out.fill(0.0);
    return;
  }
  const double h = 1e-5 * (1.0 + as_vector(x).norm()) / un;
  as_vector(scratch_x) = as_vector(x) + h * as_vector(u);
  apply_g(d, sqrt_eta, scratch_x, z, plus);
  as_vector(scratch_x) = as_vector(x) - h * as_vector(u);
  apply_g(d, sqrt_eta, scratch_x, z, minus);
  as_vector(out) = (as_vector(plus) - as_vector(minus)) / (2.0 * h);
}

}  // namespace

const char* to_string(Scheme s) { return s == Scheme::milstein ? "milstein" : "euler_maruyama"; }

Scheme scheme_from_string(const std::string& name) {
  if (name == "euler_maruyama" || name == "em") return Scheme::euler_maruyama;
  if (name == "milstein") return Scheme::milstein;
  fail<InputError>("unknown SDE scheme '{}' (euler_maruyama, milstein)", name);
}

Region ball_region(const Tensor& center, double radius) {
  DESCENT_CHECK(radius > 0, InputError, "ball region: radius must be positive, got {}", radius);
  Tensor c = center.astype(DType::f64).flatten();
  return {[c, radius](const Tensor& x) { return (as_vector(x) - as_vector(c)).norm() < radius; },
          fmt::format("ball of radius {:.6g}", radius)};
}

Region box_region(std::vector<double> lower, std::vector<double> upper) {
  DESCENT_CHECK(lower.size() == upper.size() && !lower.empty(), InputError,
                "box region: lower and upper need the same non-zero length");
  for (size_t i = 0; i < lower.size(); ++i)
    DESCENT_CHECK(lower[i] < upper[i], InputError, "box region: lower[{}] = {} ≥ upper = {}", i, lower[i], upper[i]);
  return {[lower, upper](const Tensor& x) {
            const double* v = x.data<double>();
            for (size_t i = 0; i < lower.size(); ++i)
              if (!(v[i] > lower[i] && v[i] < upper[i])) return false;
            return true;
          },
          "box"};
}

Region halfspace_region(std::vector<double> normal, double offset) {
  DESCENT_CHECK(!normal.empty(), InputError, "half-space region: empty normal");
  return {[normal, offset](const Tensor& x) {
            const double* v = x.data<double>();
            double s = 0;
            for (size_t i = 0; i < normal.size(); ++i) s += normal[i] * v[i];
            return s < offset;
          },
          fmt::format("half-space ⟨a, x⟩ < {:.6g}", offset)};
}

SdeResult simulate_sde(Objective& objective, Diffusion& diffusion, const Tensor& x0, BrownianIncrements& noise,
                       const SdeOptions& options) {
  const int64_t p = objective.dimension();
  DESCENT_CHECK(diffusion.dimension() == p && noise.dimension() == p && x0.numel() == p, ShapeError,
                "simulate_sde: dimensions differ (objective {}, diffusion {}, noise {}, x0 {})", p,
                diffusion.dimension(), noise.dimension(), x0.numel());
  DESCENT_CHECK(options.noise_scale >= 0 && std::isfinite(options.noise_scale) && options.steps >= 0 &&
                    options.record_every >= 0,
                InputError, "simulate_sde: needs noise_scale ≥ 0, steps ≥ 0, record_every ≥ 0");
  const double dt = noise.dt();
  const double sqrt_eta = std::sqrt(options.noise_scale);
  const bool milstein = options.scheme == Scheme::milstein && diffusion.state_dependent();
  const bool f32 = objective.dtype() == DType::f32;

  SdeResult r;
  Tensor x = x0.astype(DType::f64).flatten().clone();
  Tensor grad = Tensor::empty({p}, objective.dtype());
  Tensor x_obj = f32 ? Tensor::empty({p}, DType::f32) : x;
  Tensor dw = Tensor::empty({p}, DType::f64), gdw = Tensor::empty({p}, DType::f64);
  Tensor s1, s2, s3, s4, ej, gej, corr;
  if (milstein) {
    for (Tensor* t : {&s1, &s2, &s3, &s4, &ej, &gej, &corr}) *t = Tensor::empty({p}, DType::f64);
  }
  std::vector<double> rows;  // flat [records, P]: no allocation per record
  auto record = [&](int64_t k) {
    rows.insert(rows.end(), x.data<double>(), x.data<double>() + p);
    r.times.push_back(double(k) * dt);
  };
  const Region* region = options.exit_region;
  if (options.record_every > 0) record(0);
  if (region && !region->inside(x)) {
    r.exited = true;
    r.exit_time = 0.0;
  }
  for (int64_t k = 0; k < options.steps && !(r.exited && options.stop_at_exit); ++k) {
    if (f32) x_obj.copy_from(x.astype(DType::f32));
    objective.value_and_gradient(x_obj, grad);
    noise.next(dw);
    apply_g(diffusion, sqrt_eta, x, dw, gdw);
    Eigen::Map<Eigen::VectorXd> xv = as_vector(x);
    if (milstein) {
      // ½ [D_{gΔW}(g ΔW) − Δt Σ_j D_{g e_j}(g e_j)]: commutative noise (header).
      directional_derivative(diffusion, sqrt_eta, x, gdw, dw, s1, s2, s3, corr);
      Eigen::VectorXd total = as_vector(corr);
      ej.fill(0.0);
      for (int64_t j = 0; j < p; ++j) {
        ej.data<double>()[j] = 1.0;
        apply_g(diffusion, sqrt_eta, x, ej, gej);
        directional_derivative(diffusion, sqrt_eta, x, gej, ej, s1, s2, s3, s4);
        total -= dt * as_vector(s4);
        ej.data<double>()[j] = 0.0;
      }
      xv += 0.5 * total;
    }
    if (f32) {
      const float* g = grad.data<float>();
      for (int64_t i = 0; i < p; ++i) xv[i] -= dt * double(g[i]);
    } else {
      xv -= dt * as_vector(grad);
    }
    xv += as_vector(gdw);
    r.steps_taken = k + 1;
    if (!xv.allFinite()) {
      r.finite = false;
      break;
    }
    if (options.record_every > 0 && (k + 1) % options.record_every == 0) record(k + 1);
    if (region && !r.exited && !region->inside(x)) {
      r.exited = true;
      r.exit_time = double(k + 1) * dt;
    }
  }
  if (options.record_every > 0 && (rows.empty() || r.times.back() != double(r.steps_taken) * dt)) record(r.steps_taken);
  r.final_state = x;
  if (!rows.empty()) {
    r.path = Tensor::from_vector(rows, {int64_t(rows.size()) / p, p});
  }
  return r;
}

double ExitTimes::mean_uncensored() const {
  double s = 0;
  int64_t n = 0;
  for (double t : times)
    if (std::isfinite(t)) {
      s += t;
      ++n;
    }
  return n ? s / double(n) : std::numeric_limits<double>::quiet_NaN();
}

ExitTimes exit_times(Objective& objective, Diffusion& diffusion, const Tensor& x0, const Region& region, double dt,
                     const SdeOptions& options, int64_t runs, uint64_t seed) {
  DESCENT_CHECK(runs >= 1, InputError, "exit_times: runs must be ≥ 1, got {}", runs);
  SdeOptions o = options;
  o.exit_region = &region;
  o.stop_at_exit = true;
  o.record_every = 0;
  ExitTimes out;
  for (int64_t run = 0; run < runs; ++run) {
    BrownianIncrements noise(objective.dimension(), dt, seed, uint64_t(run));
    const SdeResult r = simulate_sde(objective, diffusion, x0, noise, o);
    if (!r.finite) ++out.non_finite;
    if (!r.exited) ++out.censored;
    out.times.push_back(r.exited ? r.exit_time : std::numeric_limits<double>::infinity());
  }
  return out;
}

}  // namespace descent::dynamics
