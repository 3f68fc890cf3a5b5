#include "descent/estimators/gumbel.hpp"

#include <cmath>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/error.hpp"

namespace descent::estimators {

double gumbel(Rng& rng) {
  double u = rng.uniform();
  while (u <= 0.0) u = rng.uniform();
  return -std::log(-std::log(u));
}

Tensor gumbel_tensor(const Shape& shape, DType dtype, Rng& rng) {
  Tensor t = Tensor::empty(shape, dtype);
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, gumbel(rng));
  return t;
}

int64_t gumbel_max_sample(const Eigen::VectorXd& log_alpha, Rng& rng) {
  DESCENT_CHECK(log_alpha.size() > 0, InputError, "gumbel_max_sample: empty log α");
  int64_t best = 0;
  double best_value = -INFINITY;
  for (int64_t k = 0; k < log_alpha.size(); ++k) {
    const double v = log_alpha[k] + gumbel(rng);
    if (v > best_value) best_value = v, best = k;
  }
  return best;
}

Eigen::VectorXd gumbel_softmax_sample(const Eigen::VectorXd& log_alpha, double tau, Rng& rng) {
  DESCENT_CHECK(tau > 0, InputError, "gumbel_softmax_sample: temperature τ must be positive, got {}", tau);
  Eigen::VectorXd x(log_alpha.size());
  for (int64_t k = 0; k < x.size(); ++k) x[k] = (log_alpha[k] + gumbel(rng)) / tau;
  x = (x.array() - x.maxCoeff()).exp();  // shifted: τ → 0 does not overflow
  return x / x.sum();
}

Var gumbel_softmax(const Var& logits, double tau, const Tensor& gumbel_noise) {
  DESCENT_CHECK(tau > 0, InputError, "gumbel_softmax: temperature τ must be positive, got {}", tau);
  return softmax((logits + Var(gumbel_noise)) * (1.0 / tau), logits.rank() - 1);
}

Var straight_through_one_hot(const Var& soft) {
  const Tensor& v = soft.value();
  const int64_t K = v.dim(v.rank() - 1);
  Tensor hard = Tensor::zeros(v.shape(), v.dtype());
  for (int64_t row = 0; row < v.numel() / K; ++row) {
    int64_t best = 0;
    for (int64_t k = 1; k < K; ++k)
      if (v.at(row * K + k) > v.at(row * K + best)) best = k;
    hard.set(row * K + best, 1.0);
  }
  return soft + Var(hard) - stop_gradient(soft);
}

Var straight_through_step(const Var& x) {
  const Tensor step = greater(x.value(), 0.0).astype(x.dtype());
  return x + stop_gradient(Var(step) - x);
}

Var straight_through_hardtanh(const Var& x) {
  const Tensor step = greater(x.value(), 0.0).astype(x.dtype());
  const Var h = clamp(x, -1.0, 1.0);  // gradient 1 on [−1, 1], 0 outside
  return h + stop_gradient(Var(step) - h);
}

GradientEstimate gumbel_softmax_gradient(const Eigen::VectorXd& logits, const std::function<Var(const Var& x)>& f,
                                         const GumbelSoftmaxOptions& options, Rng& rng) {
  DESCENT_CHECK(options.samples >= 2, InputError, "gumbel_softmax_gradient: samples must be at least 2, got {}",
                options.samples);
  const int64_t K = logits.size();
  std::vector<double> l(logits.data(), logits.data() + K);
  const Tensor theta = Tensor::from_vector(l, {K});
  Eigen::MatrixXd terms(options.samples, K);
  for (int64_t s = 0; s < options.samples; ++s) {
    Var th(theta.clone(), true);
    Var x = gumbel_softmax(th, options.tau, gumbel_tensor({K}, DType::f64, rng));
    if (options.straight_through) x = straight_through_one_hot(x);
    const Var out = f(x);
    DESCENT_CHECK(out.numel() == 1, ShapeError, "gumbel_softmax_gradient: f must return a scalar, got shape {}",
                  out.shape());
    const std::vector<double> g = grad(out, {th})[0].value().to_vector();
    for (int64_t k = 0; k < K; ++k) terms(s, k) = g[k];
  }
  return summarize(terms);
}

}  // namespace descent::estimators
