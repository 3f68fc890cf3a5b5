#pragma once
// Exact per-sample moments of the estimators' terms on closed-form cases, so that tests
// and experiments compare measured variances with the truth rather than with each other.
#include <array>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "descent/estimators/score_function.hpp"

namespace descent::estimators {

// A polynomial Σ c_k ε^k in ε ~ N(0, 1), with its exact moments (E ε^{2j} = (2j−1)!!).
struct GaussianPolynomial {
  std::vector<double> coefficients;  // c_0, c_1, …
  double expectation() const;
  double variance() const;
  double fourth_central_moment() const;  // E[(p − E p)^4], the spread of a sample variance
};
GaussianPolynomial operator*(const GaussianPolynomial& a, const GaussianPolynomial& b);
GaussianPolynomial operator+(const GaussianPolynomial& a, const GaussianPolynomial& b);
GaussianPolynomial operator*(double s, const GaussianPolynomial& a);

// The per-sample terms of the estimators of ∇_θ E[f(z)], f(z) = a z² + b z + c,
// z = μ + √v ε, θ = (μ, v) (Murphy's example 6.3.5.1 is a = 1, b = −3, c = 0), as
// polynomials in ε: {∂/∂μ term, ∂/∂v term}.
enum class QuadraticEstimator {
  score_function,        // f s
  baseline,              // (f − β) s with the constant β
  optimal_control_variate,  // f s − c* s per coordinate, c* = Cov(f s, s)/Var(s) (exact)
  reparameterization,    // (f'(z), f'(z) ε / (2√v))
};
std::array<GaussianPolynomial, 2> quadratic_gaussian_terms(QuadraticEstimator estimator, double a, double b, double c,
                                                           double mu, double v, double beta = 0.0);

// Exact per-coordinate variance of one term of the score-function estimator on a discrete
// q (enumerate = 0), or of the Rao–Blackwellized one with the `enumerate` likeliest values
// summed exactly (rao_blackwell_gradient's terms).
Eigen::VectorXd discrete_term_variance(const DiscreteDistribution& q, const Eigen::VectorXd& theta,
                                       const DiscreteIntegrand& f, int64_t enumerate);

}  // namespace descent::estimators
