#include "descent/estimators/closed_forms.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "descent/core/error.hpp"

namespace descent::estimators {

namespace {

// E ε^k for ε ~ N(0, 1): 0 for odd k, (k−1)!! for even k.
double normal_moment(size_t k) {
  if (k % 2) return 0.0;
  double m = 1.0;
  for (size_t j = k; j > 1; j -= 2) m *= static_cast<double>(j - 1);
  return m;
}

GaussianPolynomial constant(double c) { return {{c}}; }
GaussianPolynomial linear(double c0, double c1) { return {{c0, c1}}; }

}  // namespace

double GaussianPolynomial::expectation() const {
  double e = 0;
  for (size_t k = 0; k < coefficients.size(); ++k) e += coefficients[k] * normal_moment(k);
  return e;
}

GaussianPolynomial operator*(const GaussianPolynomial& a, const GaussianPolynomial& b) {
  GaussianPolynomial p;
  if (a.coefficients.empty() || b.coefficients.empty()) return p;
  p.coefficients.assign(a.coefficients.size() + b.coefficients.size() - 1, 0.0);
  for (size_t i = 0; i < a.coefficients.size(); ++i)
    for (size_t j = 0; j < b.coefficients.size(); ++j) p.coefficients[i + j] += a.coefficients[i] * b.coefficients[j];
  return p;
}

GaussianPolynomial operator+(const GaussianPolynomial& a, const GaussianPolynomial& b) {
  GaussianPolynomial p;
  p.coefficients.assign(std::max(a.coefficients.size(), b.coefficients.size()), 0.0);
  for (size_t i = 0; i < a.coefficients.size(); ++i) p.coefficients[i] += a.coefficients[i];
  for (size_t i = 0; i < b.coefficients.size(); ++i) p.coefficients[i] += b.coefficients[i];
  return p;
}

GaussianPolynomial operator*(double s, const GaussianPolynomial& a) { return constant(s) * a; }

double GaussianPolynomial::variance() const {
  const GaussianPolynomial centered = *this + constant(-expectation());
  return (centered * centered).expectation();
}

double GaussianPolynomial::fourth_central_moment() const {
  const GaussianPolynomial centered = *this + constant(-expectation());
  const GaussianPolynomial sq = centered * centered;
  return (sq * sq).expectation();
}

std::array<GaussianPolynomial, 2> quadratic_gaussian_terms(QuadraticEstimator estimator, double a, double b, double c,
                                                           double mu, double v, double beta) {
  DESCENT_CHECK(v > 0, InputError, "quadratic_gaussian_terms: variance must be positive, got {}", v);
  const double sd = std::sqrt(v);
  const GaussianPolynomial z = linear(mu, sd);
  const GaussianPolynomial f = a * (z * z) + b * z + constant(c);
  const GaussianPolynomial eps = linear(0, 1);
  // Scores of N(μ, v) at z = μ + √v ε: ε/√v and (ε² − 1)/(2v).
  const std::array<GaussianPolynomial, 2> score = {(1.0 / sd) * eps, (1.0 / (2 * v)) * (eps * eps + constant(-1))};
  switch (estimator) {
    case QuadraticEstimator::score_function:
      return {f * score[0], f * score[1]};
    case QuadraticEstimator::baseline: {
      const GaussianPolynomial fb = f + constant(-beta);
      return {fb * score[0], fb * score[1]};
    }
    case QuadraticEstimator::optimal_control_variate: {
      std::array<GaussianPolynomial, 2> out;
      for (int j = 0; j < 2; ++j) {
        const GaussianPolynomial g = f * score[j];
        // Cov(g, s) = E[g s] since E s = 0.
        const double cstar = (g * score[j]).expectation() / score[j].variance();
        out[j] = g + (-cstar) * score[j];
      }
      return out;
    }
    case QuadraticEstimator::reparameterization: {
      const GaussianPolynomial df = (2 * a) * z + constant(b);
      return {df, (1.0 / (2 * sd)) * (df * eps)};
    }
  }
  fail<InputError>("quadratic_gaussian_terms: unknown estimator");
}

Eigen::VectorXd discrete_term_variance(const DiscreteDistribution& q, const Eigen::VectorXd& theta,
                                       const DiscreteIntegrand& f, int64_t enumerate) {
  const Eigen::VectorXd p = q.probabilities(theta);
  std::vector<int64_t> order(q.support);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return p[x] > p[y]; });
  Eigen::VectorXd rest = p;
  for (int64_t i = 0; i < enumerate; ++i) rest[order[i]] = 0;
  const double mass = rest.sum();
  if (mass <= 0) return Eigen::VectorXd::Zero(theta.size());
  // Terms t(k) = const + mass f(k) s(k), k ~ rest / mass: Var = mass² Var(f s).
  Eigen::VectorXd m1 = Eigen::VectorXd::Zero(theta.size()), m2 = m1;
  for (int64_t k = 0; k < q.support; ++k) {
    if (rest[k] <= 0) continue;
    const Eigen::VectorXd t = mass * f(k) * q.score(theta, k);
    m1 += rest[k] / mass * t;
    m2 += rest[k] / mass * t.cwiseProduct(t);
  }
  return m2 - m1.cwiseProduct(m1);
}

}  // namespace descent::estimators
