#include "descent/estimators/reparameterization.hpp"

#include <cmath>

#include <Eigen/Cholesky>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/error.hpp"

namespace descent::estimators {

namespace {

void check_samples(int64_t samples, const char* who) {
  DESCENT_CHECK(samples >= 2, InputError, "{}: samples must be at least 2, got {}", who, samples);
}

Eigen::VectorXd to_eigen(const Tensor& t) {
  const std::vector<double> v = t.to_vector();
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

}  // namespace

Eigen::VectorXd sample_gaussian(const Eigen::VectorXd& m, const Eigen::MatrixXd& L, Rng& rng) {
  Eigen::VectorXd eps(m.size());
  for (auto& e : eps) e = rng.normal();
  return m + L.triangularView<Eigen::Lower>() * eps;
}

GradientEstimate gaussian_reparameterization_gradient(const Eigen::VectorXd& mean, const Eigen::VectorXd& variance,
                                                      const IntegrandGradient& grad_f, int64_t samples, Rng& rng) {
  check_samples(samples, "gaussian_reparameterization_gradient");
  const int64_t d = mean.size();
  DESCENT_CHECK(variance.size() == d && (variance.array() > 0).all(), InputError,
                "gaussian_reparameterization_gradient: need {} positive variances", d);
  const Eigen::VectorXd sd = variance.cwiseSqrt();
  Eigen::MatrixXd terms(samples, 2 * d);
  Eigen::VectorXd eps(d);
  for (int64_t s = 0; s < samples; ++s) {
    for (auto& e : eps) e = rng.normal();
    const Eigen::VectorXd g = grad_f(mean + sd.cwiseProduct(eps));
    terms.row(s).head(d) = g.transpose();
    // ∂z/∂v = ε / (2√v) (eq. 6.65's parameterization).
    terms.row(s).tail(d) = g.cwiseProduct(eps).cwiseQuotient(2.0 * sd).transpose();
  }
  return summarize(terms);
}

GradientEstimate location_scale_gradient(const Eigen::VectorXd& location, const Eigen::VectorXd& scale,
                                         const std::function<double(Rng&)>& base, const IntegrandGradient& grad_f,
                                         int64_t samples, Rng& rng) {
  check_samples(samples, "location_scale_gradient");
  const int64_t d = location.size();
  DESCENT_CHECK(scale.size() == d, ShapeError, "location_scale_gradient: {} scales for {} locations", scale.size(), d);
  Eigen::MatrixXd terms(samples, 2 * d);
  Eigen::VectorXd eps(d);
  for (int64_t s = 0; s < samples; ++s) {
    for (auto& e : eps) e = base(rng);
    const Eigen::VectorXd g = grad_f(location + scale.cwiseProduct(eps));
    terms.row(s).head(d) = g.transpose();
    terms.row(s).tail(d) = g.cwiseProduct(eps).transpose();
  }
  return summarize(terms);
}

GradientEstimate reparameterization_gradient(const Tensor& theta, const ReparameterizedSampler& sampler,
                                             const VarIntegrand& f, const NoiseSampler& noise, int64_t samples,
                                             Rng& rng) {
  check_samples(samples, "reparameterization_gradient");
  Eigen::MatrixXd terms(samples, theta.numel());
  for (int64_t s = 0; s < samples; ++s) {
    Var th(theta.clone(), true);
    const Var out = f(sampler(th, Var(noise(rng))));
    DESCENT_CHECK(out.numel() == 1, ShapeError, "reparameterization_gradient: f must return a scalar, got shape {}",
                  out.shape());
    terms.row(s) = to_eigen(grad(out, {th})[0].value()).transpose();
  }
  return summarize(terms);
}

GaussianGradient bonnet_price_gradient(const Eigen::VectorXd& m, const Eigen::MatrixXd& V,
                                       const IntegrandGradient& grad_f, const IntegrandHessian& hess_f,
                                       int64_t samples, Rng& rng) {
  check_samples(samples, "bonnet_price_gradient");
  const int64_t d = m.size();
  const Eigen::LLT<Eigen::MatrixXd> llt(V);
  DESCENT_CHECK(V.rows() == d && V.cols() == d && llt.info() == Eigen::Success, InputError,
                "bonnet_price_gradient: V must be a {}x{} symmetric positive definite matrix", d, d);
  const Eigen::MatrixXd L = llt.matrixL();
  Eigen::MatrixXd first(samples, d), second(samples, d * d);
  for (int64_t s = 0; s < samples; ++s) {
    const Eigen::VectorXd z = sample_gaussian(m, L, rng);
    first.row(s) = grad_f(z).transpose();  // Bonnet (6.106)
    const Eigen::MatrixXd H = 0.5 * hess_f(z);  // Price (6.107), symmetric-matrix gradient
    for (int64_t i = 0; i < d; ++i) second.row(s).segment(i * d, d) = H.row(i);
  }
  return {summarize(first), summarize(second)};
}

GradientEstimate elbo_gradient(const ElboModel& model, const Tensor& theta, ElboGradient kind, int64_t samples,
                               Rng& rng) {
  check_samples(samples, "elbo_gradient");
  Eigen::MatrixXd terms(samples, theta.numel());
  for (int64_t s = 0; s < samples; ++s) {
    Var th(theta.clone(), true);
    const Var z = model.sample(th, Var(model.noise(rng)));
    // Sticking the landing (6.77): θ' = stop_gradient(θ) in log q, so only the path
    // through z carries gradient; the zero-mean score term ∇_θ log q is gone.
    const Var th_q = kind == ElboGradient::sticking_the_landing ? stop_gradient(th) : th;
    const Var elbo = sum(model.log_joint(z) - model.log_q(z, th_q));
    terms.row(s) = to_eigen(grad(elbo, {th})[0].value()).transpose();
  }
  return summarize(terms);
}

}  // namespace descent::estimators
