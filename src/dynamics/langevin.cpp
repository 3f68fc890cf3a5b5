#include "descent/dynamics/langevin.hpp"

#include <cmath>

#include "descent/core/rng.hpp"
#include "descent/dynamics/diffusion.hpp"
#include "descent/dynamics/quasi_potential.hpp"

namespace descent::dynamics {
namespace {

void check_sampling(int64_t steps, int64_t burn_in, int64_t thin, const char* what) {
  DESCENT_CHECK(steps >= 1 && burn_in >= 0 && burn_in < steps && thin >= 1, InputError,
                "{}: needs steps ≥ 1, 0 ≤ burn_in < steps and thin ≥ 1 (got {}, {}, {})", what, steps, burn_in, thin);
}

// ∇f at a float64 point, whatever the objective's dtype.
class GradientAt {
 public:
  explicit GradientAt(Objective& f) : f_(&f), g_(Tensor::empty({f.dimension()}, f.dtype())) {
    if (f.dtype() != DType::f64) x_ = Tensor::empty({f.dimension()}, f.dtype());
  }
  Eigen::VectorXd operator()(const Tensor& x) {
    if (x_.defined()) {
      x_.copy_from(x.astype(x_.dtype()));
      f_->value_and_gradient(x_, g_);
      return as_vector(g_.astype(DType::f64));
    }
    f_->value_and_gradient(x, g_);
    return as_vector(g_);
  }

 private:
  Objective* f_;
  Tensor g_, x_;
};

void fill_normal(Rng& rng, Eigen::VectorXd& v) {
  for (Eigen::Index i = 0; i < v.size(); ++i) v(i) = rng.normal();
}

double activate(double z, ParticleActivation a) { return a == ParticleActivation::tanh ? std::tanh(z) : std::max(z, 0.0); }
double activate_derivative(double z, ParticleActivation a) {
  if (a == ParticleActivation::tanh) {
    const double t = std::tanh(z);
    return 1.0 - t * t;
  }
  return z > 0 ? 1.0 : 0.0;
}
double output_scale(Scaling s, int64_t m) { return s == Scaling::mean_field ? 1.0 / double(m) : 1.0 / std::sqrt(double(m)); }

}  // namespace

Tensor underdamped_langevin(Objective& objective, const Tensor& x0, const UnderdampedOptions& o) {
  check_sampling(o.steps, o.burn_in, o.thin, "underdamped Langevin");
  DESCENT_CHECK(o.step > 0 && o.friction > 0 && o.inverse_temperature > 0, InputError,
                "underdamped Langevin: step, friction and β must be positive");
  const int64_t p = objective.dimension();
  DESCENT_CHECK(x0.numel() == p, ShapeError, "underdamped Langevin: x0 has {} entries, the objective {}", x0.numel(), p);
  GradientAt grad(objective);
  Rng rng(o.seed);
  Tensor x = x0.astype(DType::f64).flatten().clone();
  Eigen::VectorXd v = Eigen::VectorXd::Zero(p), xi(p);
  Eigen::VectorXd force = -grad(x);
  // BAOAB: B half kick, A half drift, O exact Ornstein–Uhlenbeck on v, A, B.
  const double h = o.step, c = std::exp(-o.friction * h), s = std::sqrt((1.0 - c * c) / o.inverse_temperature);
  const int64_t kept = (o.steps - o.burn_in + o.thin - 1) / o.thin;
  Tensor samples = Tensor::empty({kept, p}, DType::f64);
  int64_t row = 0;
  for (int64_t k = 0; k < o.steps; ++k) {
    v += 0.5 * h * force;
    as_vector(x) += 0.5 * h * v;
    fill_normal(rng, xi);
    v = c * v + s * xi;
    as_vector(x) += 0.5 * h * v;
    force = -grad(x);
    v += 0.5 * h * force;
    DESCENT_CHECK(as_vector(x).allFinite() && v.allFinite(), NonFiniteError,
                  "underdamped Langevin: the state became non-finite at step {} (step size too large?)", k + 1);
    if (k >= o.burn_in && (k - o.burn_in) % o.thin == 0) samples.row(row++).copy_from(x);
  }
  return samples;
}

TwoLayerParticles random_particles(int64_t m, int64_t input_dimension, uint64_t seed) {
  DESCENT_CHECK(m >= 1 && input_dimension >= 1, InputError, "particles: need M ≥ 1 and d ≥ 1");
  Rng rng(seed);
  TwoLayerParticles p;
  p.a.resize(m);
  p.w.resize(m, input_dimension);
  const double sw = 1.0 / std::sqrt(double(input_dimension));
  for (int64_t j = 0; j < m; ++j) {
    p.a(j) = rng.normal();
    for (int64_t k = 0; k < input_dimension; ++k) p.w(j, k) = sw * rng.normal();
  }
  return p;
}

Eigen::VectorXd two_layer_output(const TwoLayerParticles& p, const Eigen::MatrixXd& x, Scaling scaling,
                                 ParticleActivation activation) {
  DESCENT_CHECK(x.cols() == p.w.cols(), ShapeError, "two-layer net: inputs have {} features, particles {}", x.cols(),
                p.w.cols());
  const Eigen::MatrixXd z = x * p.w.transpose();  // [n, M]
  const Eigen::MatrixXd act = z.unaryExpr([&](double v) { return activate(v, activation); });
  return output_scale(scaling, p.count()) * (act * p.a);
}

Eigen::MatrixXd particle_velocity_field(const TwoLayerParticles& p, const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                        Scaling scaling, ParticleActivation activation) {
  const int64_t n = x.rows(), m = p.count(), d = x.cols();
  DESCENT_CHECK(y.size() == n && n >= 1, ShapeError, "particles: {} targets for {} inputs", y.size(), n);
  const Eigen::MatrixXd z = x * p.w.transpose();
  const Eigen::MatrixXd act = z.unaryExpr([&](double v) { return activate(v, activation); });
  const Eigen::MatrixXd dact = z.unaryExpr([&](double v) { return activate_derivative(v, activation); });
  const double s = output_scale(scaling, m);
  const Eigen::VectorXd r = (s * (act * p.a) - y) / double(n);  // ℓ'(y_i, f(x_i))/n
  // ∂L/∂a_j = s Σ_i r_i σ(z_ij); ∂L/∂w_j = s a_j Σ_i r_i σ'(z_ij) x_i. Mean field: × M, so
  // that the velocity of a particle does not vanish as M grows (Suzuki §2.5's v_t).
  const double particle_scale = scaling == Scaling::mean_field ? s * double(m) : s;
  Eigen::MatrixXd out(m, 1 + d);
  out.col(0) = particle_scale * (act.transpose() * r);
  const Eigen::MatrixXd weighted = dact.array().colwise() * r.array();  // [n, M]
  out.rightCols(d) = particle_scale * (p.a.asDiagonal() * (weighted.transpose() * x));
  return out;
}

ParticleGdResult particle_gradient_descent(TwoLayerParticles particles, const Eigen::MatrixXd& x,
                                           const Eigen::VectorXd& y, const ParticleGdOptions& o) {
  DESCENT_CHECK(o.learning_rate > 0 && o.steps >= 0 && o.record_every >= 1 && o.weight_decay >= 0 &&
                    o.inverse_temperature > 0,
                InputError, "particle GD: needs learning_rate > 0, steps ≥ 0, record_every ≥ 1, λ ≥ 0, β > 0");
  ParticleGdResult r;
  Rng rng(o.seed);
  const bool noisy = std::isfinite(o.inverse_temperature);
  const double noise_sd = noisy ? std::sqrt(2.0 * o.learning_rate / o.inverse_temperature) : 0.0;
  auto loss = [&] { return 0.5 * (two_layer_output(particles, x, o.scaling, o.activation) - y).squaredNorm() / double(x.rows()); };
  const int64_t d = x.cols();
  for (int64_t k = 0; k <= o.steps; ++k) {
    if (k % o.record_every == 0 || k == o.steps) {
      r.losses.push_back(loss());
      r.loss_steps.push_back(k);
      if (!std::isfinite(r.losses.back())) {
        r.finite = false;
        break;
      }
    }
    if (k == o.steps) break;
    const Eigen::MatrixXd g = particle_velocity_field(particles, x, y, o.scaling, o.activation);
    particles.a -= o.learning_rate * (g.col(0) + o.weight_decay * particles.a);
    particles.w -= o.learning_rate * (g.rightCols(d) + o.weight_decay * particles.w);
    if (noisy) {
      for (int64_t j = 0; j < particles.count(); ++j) {
        particles.a(j) += noise_sd * rng.normal();
        for (int64_t c = 0; c < d; ++c) particles.w(j, c) += noise_sd * rng.normal();
      }
    }
  }
  r.particles = std::move(particles);
  return r;
}

Tensor infinite_dimensional_langevin(Objective& objective, const Tensor& x0, const InfiniteLangevinOptions& o) {
  check_sampling(o.steps, o.burn_in, o.thin, "infinite-dimensional Langevin");
  const int64_t j = objective.dimension();
  DESCENT_CHECK(int64_t(o.prior_eigenvalues.size()) == j && x0.numel() == j, ShapeError,
                "infinite-dimensional Langevin: {} prior eigenvalues and x0 of {} for an objective of {} modes",
                o.prior_eigenvalues.size(), x0.numel(), j);
  DESCENT_CHECK(o.step > 0 && o.inverse_temperature > 0 && o.regularization >= 0, InputError,
                "infinite-dimensional Langevin: needs η > 0, β > 0, λ ≥ 0");
  Eigen::VectorXd shrink(j);  // S_η = (I + ηλA)⁻¹, diagonal
  for (int64_t i = 0; i < j; ++i) {
    DESCENT_CHECK(o.prior_eigenvalues[i] > 0, InputError, "infinite-dimensional Langevin: μ_{} = {} ≤ 0", i + 1,
                  o.prior_eigenvalues[i]);
    shrink(i) = 1.0 / (1.0 + o.step * o.regularization / o.prior_eigenvalues[i]);
  }
  GradientAt grad(objective);
  Rng rng(o.seed);
  Tensor x = x0.astype(DType::f64).flatten().clone();
  Eigen::VectorXd xi(j);
  const double sd = std::sqrt(2.0 * o.step / o.inverse_temperature);
  const int64_t kept = (o.steps - o.burn_in + o.thin - 1) / o.thin;
  Tensor samples = Tensor::empty({kept, j}, DType::f64);
  int64_t row = 0;
  for (int64_t k = 0; k < o.steps; ++k) {
    const Eigen::VectorXd g = grad(x);
    fill_normal(rng, xi);
    as_vector(x) = shrink.cwiseProduct(as_vector(x) - o.step * g + sd * xi);
    DESCENT_CHECK(as_vector(x).allFinite(), NonFiniteError,
                  "infinite-dimensional Langevin: the state became non-finite at step {}", k + 1);
    if (k >= o.burn_in && (k - o.burn_in) % o.thin == 0) samples.row(row++).copy_from(x);
  }
  return samples;
}

namespace {

struct LinearScheme {
  Eigen::MatrixXd m, noise;
  Eigen::VectorXd c;
};
LinearScheme linear_scheme(const Eigen::MatrixXd& q, const Eigen::VectorXd& b, const InfiniteLangevinOptions& o) {
  const Eigen::Index j = q.rows();
  DESCENT_CHECK(q.cols() == j && b.size() == j && Eigen::Index(o.prior_eigenvalues.size()) == j, ShapeError,
                "semi-implicit Langevin: Q, b and μ must agree in size");
  Eigen::VectorXd shrink(j);
  for (Eigen::Index i = 0; i < j; ++i) shrink(i) = 1.0 / (1.0 + o.step * o.regularization / o.prior_eigenvalues[i]);
  LinearScheme s;
  s.m = shrink.asDiagonal() * (Eigen::MatrixXd::Identity(j, j) - o.step * q);
  s.c = o.step * shrink.cwiseProduct(b);
  s.noise = (2.0 * o.step / o.inverse_temperature) * shrink.cwiseProduct(shrink).asDiagonal().toDenseMatrix();
  return s;
}

}  // namespace

std::vector<GaussianLaw> semi_implicit_langevin_laws(const Eigen::MatrixXd& q, const Eigen::VectorXd& b,
                                                     const InfiniteLangevinOptions& o, const GaussianLaw& law0,
                                                     int64_t steps) {
  const LinearScheme s = linear_scheme(q, b, o);
  std::vector<GaussianLaw> laws{law0};
  laws.reserve(size_t(steps) + 1);
  for (int64_t k = 0; k < steps; ++k) {
    const GaussianLaw& prev = laws.back();
    laws.push_back({s.m * prev.mean + s.c, s.m * prev.covariance * s.m.transpose() + s.noise});
  }
  return laws;
}

GaussianLaw semi_implicit_langevin_invariant_law(const Eigen::MatrixXd& q, const Eigen::VectorXd& b,
                                                 const InfiniteLangevinOptions& o) {
  const LinearScheme s = linear_scheme(q, b, o);
  const Eigen::Index j = q.rows();
  return {(Eigen::MatrixXd::Identity(j, j) - s.m).lu().solve(s.c), solve_discrete_lyapunov(s.m, s.noise)};
}

GaussianLaw gaussian_process_posterior(const Eigen::MatrixXd& q, const Eigen::VectorXd& b,
                                       const InfiniteLangevinOptions& o) {
  const Eigen::Index j = q.rows();
  DESCENT_CHECK(q.cols() == j && b.size() == j && Eigen::Index(o.prior_eigenvalues.size()) == j, ShapeError,
                "GP posterior: Q, b and μ must agree in size");
  Eigen::MatrixXd precision = q;
  for (Eigen::Index i = 0; i < j; ++i) precision(i, i) += o.regularization / o.prior_eigenvalues[i];
  const Eigen::LLT<Eigen::MatrixXd> llt(precision);
  DESCENT_CHECK(llt.info() == Eigen::Success, InputError, "GP posterior: Q + λA is not positive definite");
  return {llt.solve(b), llt.solve(Eigen::MatrixXd::Identity(j, j)) / o.inverse_temperature};
}

double semi_implicit_spectral_gap(double lipschitz, const InfiniteLangevinOptions& o) {
  DESCENT_CHECK(!o.prior_eigenvalues.empty(), InputError, "spectral gap: no prior eigenvalues");
  const double top = o.prior_eigenvalues.front();
  const double a = o.regularization / top;
  DESCENT_CHECK(a > lipschitz, InputError, "spectral gap (i) needs strict dissipativity λ/μ_1 = {} > M = {}", a, lipschitz);
  return (a - lipschitz) / (1.0 + o.step * a);
}

}  // namespace descent::dynamics
