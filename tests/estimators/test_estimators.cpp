// Every estimator on closed-form cases: unbiased within 4 standard errors at several seeds,
// and per-sample variances against the exact ones (Murphy §6.3–6.4.5).
#include <cmath>

#include <Eigen/Cholesky>
#include <gtest/gtest.h>

#include "descent/autodiff/autodiff.hpp"
#include "descent/estimators/closed_forms.hpp"
#include "descent/estimators/gumbel.hpp"
#include "descent/estimators/natural_gradient.hpp"
#include "descent/estimators/reparameterization.hpp"
#include "descent/estimators/score_function.hpp"

namespace descent::estimators {
namespace {

constexpr double kMu = 0.7, kV = 1.3;  // z ~ N(μ, v)
// Murphy example 6.3.5.1: f(z) = z² − 3z, ∇_(μ,v) E f = (2μ − 3, 1).
double f_example(const Eigen::VectorXd& z) { return z[0] * z[0] - 3 * z[0]; }
Eigen::VectorXd grad_example(const Eigen::VectorXd& z) { return Eigen::VectorXd::Constant(1, 2 * z[0] - 3); }
Eigen::Vector2d exact_example() { return {2 * kMu - 3, 1.0}; }
Eigen::VectorXd theta_example() { return Eigen::Vector2d(kMu, kV); }

void expect_unbiased(const GradientEstimate& e, const Eigen::VectorXd& exact, const std::string& what) {
  ASSERT_EQ(e.gradient.size(), exact.size()) << what;
  const Eigen::VectorXd se = e.standard_error();
  for (int64_t j = 0; j < exact.size(); ++j)
    EXPECT_LE(std::abs(e.gradient[j] - exact[j]), 4 * se[j] + 1e-12)
        << what << " coordinate " << j << ": " << e.gradient[j] << " vs exact " << exact[j] << " (se " << se[j] << ")";
}

// A measured per-sample variance against the exact one, within 4 standard errors of a
// sample variance, √((μ₄ − σ⁴)/S).
void expect_variance(double measured, const GaussianPolynomial& term, int64_t S, const std::string& what) {
  const double var = term.variance();
  const double se = std::sqrt((term.fourth_central_moment() - var * var) / static_cast<double>(S));
  EXPECT_LE(std::abs(measured - var), 4 * se) << what << ": measured " << measured << " vs exact " << var;
}

TEST(ScoreFunction, UnbiasedWithAndWithoutBaselineAtSeveralSeeds) {
  const Distribution q = diagonal_gaussian(1);
  for (uint64_t seed = 0; seed < 5; ++seed) {
    Rng rng(seed);
    for (Baseline b : {Baseline::none, Baseline::constant, Baseline::leave_one_out}) {
      ScoreFunctionOptions o;
      o.samples = 20000;
      o.baseline = b;
      o.baseline_value = -1.0;
      expect_unbiased(score_function_gradient(q, theta_example(), f_example, o, rng), exact_example(),
                      "score function, baseline " + std::to_string(static_cast<int>(b)));
    }
  }
}

TEST(ScoreFunction, VariancesMatchClosedForms) {
  const Distribution q = diagonal_gaussian(1);
  Rng rng(11);
  const int64_t S = 200000;
  ScoreFunctionOptions o;
  o.samples = S;
  const GradientEstimate plain = score_function_gradient(q, theta_example(), f_example, o, rng);
  const auto t_plain = quadratic_gaussian_terms(QuadraticEstimator::score_function, 1, -3, 0, kMu, kV);
  o.baseline = Baseline::constant;
  o.baseline_value = kMu * kMu + kV - 3 * kMu;  // β = E f
  const GradientEstimate based = score_function_gradient(q, theta_example(), f_example, o, rng);
  const auto t_based = quadratic_gaussian_terms(QuadraticEstimator::baseline, 1, -3, 0, kMu, kV, o.baseline_value);
  for (int j = 0; j < 2; ++j) {
    expect_variance(plain.variance[j], t_plain[j], S, "score function");
    expect_variance(based.variance[j], t_based[j], S, "score function with baseline E f");
    EXPECT_NEAR(t_plain[j].expectation(), exact_example()[j], 1e-12);  // the closed form itself
  }
  const auto t_opt = quadratic_gaussian_terms(QuadraticEstimator::optimal_control_variate, 1, -3, 0, kMu, kV);
  for (int j = 0; j < 2; ++j) EXPECT_LT(t_opt[j].variance(), t_plain[j].variance());
}

TEST(ControlVariates, OptimalCoefficientSameAndHeldOutSamples) {
  const Distribution q = diagonal_gaussian(1);
  const auto t_cv = quadratic_gaussian_terms(QuadraticEstimator::optimal_control_variate, 1, -3, 0, kMu, kV);
  for (uint64_t seed = 0; seed < 5; ++seed) {
    Rng rng(100 + seed);
    for (CoefficientFit fit : {CoefficientFit::same_samples, CoefficientFit::held_out}) {
      ControlVariateOptions o;
      o.samples = 20000;
      o.fit = fit;
      o.held_out_samples = 2000;
      const ControlVariateEstimate e = control_variate_gradient(q, theta_example(), f_example, {}, o, rng);
      const std::string what = fit == CoefficientFit::same_samples ? "same samples" : "held out";
      expect_unbiased(e.estimate, exact_example(), "control variate, " + what);
      for (int j = 0; j < 2; ++j) {
        // With h ≡ 1 the control variate is the per-coordinate baseline ĉ_j: the exact
        // variance at the coefficient used, and ĉ near c* (whose variance is the optimum).
        const auto at_c = quadratic_gaussian_terms(QuadraticEstimator::baseline, 1, -3, 0, kMu, kV, e.coefficient[j]);
        expect_variance(e.estimate.variance[j], at_c[j], o.samples, "control variate, " + what);
        const double band = fit == CoefficientFit::same_samples ? 1.02 : 1.1;  // ĉ from 20000 or 2000 draws
        EXPECT_LT(at_c[j].variance(), band * t_cv[j].variance()) << what << " " << j;
      }
    }
  }
}

TEST(ControlVariates, UserControlVariateWithKnownMean) {
  // h(z) = z, E h = μ: ∇_(μ,v) E h = (1, 0).
  const Distribution q = diagonal_gaussian(1);
  ControlVariate cv;
  cv.h = [](const Eigen::VectorXd& z) { return z[0]; };
  cv.grad_expectation = [](const Eigen::VectorXd&) { return Eigen::Vector2d(1.0, 0.0).eval(); };
  for (uint64_t seed = 0; seed < 5; ++seed) {
    Rng rng(200 + seed);
    ControlVariateOptions o;
    o.samples = 20000;
    o.fit = CoefficientFit::held_out;
    const ControlVariateEstimate e = control_variate_gradient(q, theta_example(), f_example, cv, o, rng);
    expect_unbiased(e.estimate, exact_example(), "control variate h(z) = z");
  }
}

DiscreteIntegrand discrete_f() {
  return [](int64_t k) { return std::sin(1.0 + k) + 0.3 * k; };
}

TEST(RaoBlackwell, UnbiasedWithTheRestoredFactorAndLowerVariance) {
  const DiscreteDistribution q = categorical_discrete(6);
  const Eigen::VectorXd theta = (Eigen::VectorXd(6) << 2.0, 1.0, 0.5, 0.0, -0.5, -1.0).finished();
  const Eigen::VectorXd exact = exact_discrete_gradient(q, theta, discrete_f());
  // The exact gradient against finite differences of Σ p_k f(k).
  for (int j = 0; j < 6; ++j) {
    auto value = [&](double h) {
      Eigen::VectorXd t = theta;
      t[j] += h;
      const Eigen::VectorXd p = q.probabilities(t);
      double s = 0;
      for (int k = 0; k < 6; ++k) s += p[k] * discrete_f()(k);
      return s;
    };
    EXPECT_NEAR(exact[j], (value(1e-6) - value(-1e-6)) / 2e-6, 1e-8);
  }
  for (uint64_t seed = 0; seed < 5; ++seed) {
    Rng rng(300 + seed);
    for (int64_t m : {0, 1, 3}) {
      RaoBlackwellOptions o;
      o.samples = 20000;
      o.enumerate = m;
      const RaoBlackwellEstimate e = rao_blackwell_gradient(q, theta, discrete_f(), o, rng);
      expect_unbiased(e.estimate, exact, "Rao-Blackwell, |S1| = " + std::to_string(m));
      const Eigen::VectorXd var = discrete_term_variance(q, theta, discrete_f(), m);
      for (int j = 0; j < 6; ++j) EXPECT_NEAR(e.estimate.variance[j], var[j], 0.05 * var[j] + 1e-12);
    }
  }
  // Without the factor q(S₂) (the seed's eq. 6.61 as printed) the estimate is biased.
  const Eigen::VectorXd v0 = discrete_term_variance(q, theta, discrete_f(), 0);
  const Eigen::VectorXd v3 = discrete_term_variance(q, theta, discrete_f(), 3);
  EXPECT_LT(v3.sum(), 0.5 * v0.sum());
  Rng rng(9);
  RaoBlackwellOptions o;
  o.samples = 20000;
  o.enumerate = 0;
  const RaoBlackwellEstimate plain = rao_blackwell_gradient(q, theta, discrete_f(), o, rng);
  const Distribution qc = categorical(6);
  ScoreFunctionOptions so;
  so.samples = 20000;
  const GradientEstimate sf = score_function_gradient(
      qc, theta, [](const Eigen::VectorXd& z) { return discrete_f()(static_cast<int64_t>(z[0])); }, so, rng);
  expect_unbiased(sf, exact, "categorical score function");
  EXPECT_NEAR(plain.mass_enumerated, 0.0, 1e-15);
}

TEST(RaoBlackwell, MissingFactorWouldBeBiased) {
  // The seed's (6.61) without q(S₂): Σ_{S₁} + E_{q|S₂}[f s]. Its expectation differs from
  // the gradient by (1 − q(S₂)) E_{q|S₂}[f s], which we compute exactly.
  const DiscreteDistribution q = categorical_discrete(4);
  const Eigen::VectorXd theta = (Eigen::VectorXd(4) << 1.5, 0.2, -0.3, -1.0).finished();
  const Eigen::VectorXd p = q.probabilities(theta);
  const double mass_rest = 1 - p[0];
  Eigen::VectorXd conditional = Eigen::VectorXd::Zero(4);
  for (int k = 1; k < 4; ++k) conditional += p[k] / mass_rest * discrete_f()(k) * q.score(theta, k);
  const Eigen::VectorXd seed_form = discrete_f()(0) * p[0] * q.score(theta, 0) + conditional;
  const Eigen::VectorXd exact = exact_discrete_gradient(q, theta, discrete_f());
  EXPECT_GT((seed_form - exact).norm(), 1e-2);
  EXPECT_LT((discrete_f()(0) * p[0] * q.score(theta, 0) + mass_rest * conditional - exact).norm(), 1e-12);
}

TEST(Reparameterization, GaussianLocationScaleAndAutodiffAgreeWithExact) {
  const auto t_rep = quadratic_gaussian_terms(QuadraticEstimator::reparameterization, 1, -3, 0, kMu, kV);
  for (uint64_t seed = 0; seed < 5; ++seed) {
    Rng rng(400 + seed);
    const int64_t S = 20000;
    const GradientEstimate g =
        gaussian_reparameterization_gradient(Eigen::VectorXd::Constant(1, kMu), Eigen::VectorXd::Constant(1, kV),
                                             grad_example, S, rng);
    expect_unbiased(g, exact_example(), "Gaussian reparameterization");
    for (int j = 0; j < 2; ++j) expect_variance(g.variance[j], t_rep[j], S, "reparameterization variance");

    // Laplace(0, 1) base: E f = μ² + 2s² − 3μ, ∇_(μ,s) = (2μ − 3, 4s).
    const double s = 0.8;
    auto laplace = [](Rng& r) {
      const double u = r.uniform() - 0.5;
      return -std::copysign(1.0, u) * std::log(1 - 2 * std::abs(u));
    };
    const GradientEstimate ls = location_scale_gradient(Eigen::VectorXd::Constant(1, kMu),
                                                        Eigen::VectorXd::Constant(1, s), laplace, grad_example, S, rng);
    expect_unbiased(ls, Eigen::Vector2d(2 * kMu - 3, 4 * s), "Laplace location-scale");

    // Autodiff through a user sampler z = θ₀ + √θ₁ ε.
    const Tensor theta = Tensor::from_vector(std::vector<double>{kMu, kV}, {2});
    const GradientEstimate ad = reparameterization_gradient(
        theta,
        [](const Var& th, const Var& eps) { return slice(th, 0, 0, 1) + sqrt(slice(th, 0, 1, 2)) * eps; },
        [](const Var& z) { return sum(z * z - 3.0 * z); },
        [](Rng& r) { return Tensor::from_vector(std::vector<double>{r.normal()}, {1}); }, S, rng);
    expect_unbiased(ad, exact_example(), "autodiff reparameterization");
    for (int j = 0; j < 2; ++j) expect_variance(ad.variance[j], t_rep[j], S, "autodiff reparameterization variance");
  }
}

TEST(BonnetPrice, MultivariateQuadraticExact) {
  // f(z) = zᵀAz + bᵀz: ∇_m E f = 2Am + b, ∇_V E f = A (symmetric-matrix gradient).
  Eigen::Matrix2d A;
  A << 1.0, 0.4, 0.4, -0.5;
  const Eigen::Vector2d b(0.3, -1.0), m(0.5, -0.2);
  Eigen::Matrix2d V;
  V << 1.0, 0.3, 0.3, 0.6;
  auto gf = [&](const Eigen::VectorXd& z) { return (2 * A * z + b).eval(); };
  // A non-constant Hessian too: add 0.1 z₀³ (∇ = 0.3 z₀² e₀, ∂² = 0.6 z₀).
  auto gf3 = [&](const Eigen::VectorXd& z) {
    Eigen::VectorXd g = 2 * A * z + b;
    g[0] += 0.3 * z[0] * z[0];
    return g;
  };
  auto hf3 = [&](const Eigen::VectorXd& z) {
    Eigen::MatrixXd H = 2 * A;
    H(0, 0) += 0.6 * z[0];
    return H;
  };
  for (uint64_t seed = 0; seed < 5; ++seed) {
    Rng rng(500 + seed);
    const GaussianGradient g = bonnet_price_gradient(m, V, gf, [&](const Eigen::VectorXd&) { return (2 * A).eval(); },
                                                     5000, rng);
    expect_unbiased(g.mean, 2 * A * m + b, "Bonnet");
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(g.covariance.gradient[i], A(i / 2, i % 2), 1e-14);  // Price, exact
    // E[0.1 z₀³] = 0.1(m₀³ + 3 m₀ V₀₀): ∂/∂m₀ += 0.3(m₀² + V₀₀), ∂/∂V₀₀ += 0.3 m₀.
    const GaussianGradient g3 = bonnet_price_gradient(m, V, gf3, hf3, 20000, rng);
    Eigen::Vector2d exact_m = 2 * A * m + b;
    exact_m[0] += 0.3 * (m[0] * m[0] + V(0, 0));
    expect_unbiased(g3.mean, exact_m, "Bonnet, cubic");
    Eigen::VectorXd exact_V(4);
    exact_V << A(0, 0) + 0.3 * m[0], A(0, 1), A(1, 0), A(1, 1);
    expect_unbiased(g3.covariance, exact_V, "Price, cubic");
  }
}

TEST(StickingTheLanding, ZeroAtTheExactPosteriorWhereTheTotalGradientIsNot) {
  // p(z, x) ∝ N(z; 1.5, 0.4²) (the posterior), q_θ = N(θ₀, exp(θ₁)²).
  const double pm = 1.5, ps = 0.4;
  ElboModel model;
  model.log_joint = [=](const Var& z) { return -0.5 * square((z - pm) * (1.0 / ps)); };
  model.log_q = [](const Var& z, const Var& th) {
    const Var mu = slice(th, 0, 0, 1), log_s = slice(th, 0, 1, 2);
    return -0.5 * square((z - mu) / exp(log_s)) - log_s;
  };
  model.sample = [](const Var& th, const Var& eps) { return slice(th, 0, 0, 1) + exp(slice(th, 0, 1, 2)) * eps; };
  model.noise = [](Rng& r) { return Tensor::from_vector(std::vector<double>{r.normal()}, {1}); };
  const Tensor at_posterior = Tensor::from_vector(std::vector<double>{pm, std::log(ps)}, {2});
  for (uint64_t seed = 0; seed < 3; ++seed) {
    Rng rng(600 + seed);
    const GradientEstimate stl = elbo_gradient(model, at_posterior, ElboGradient::sticking_the_landing, 500, rng);
    const GradientEstimate total = elbo_gradient(model, at_posterior, ElboGradient::total, 500, rng);
    EXPECT_LT(stl.variance.maxCoeff(), 1e-20);
    EXPECT_LT(stl.gradient.cwiseAbs().maxCoeff(), 1e-12);
    EXPECT_GT(total.variance.minCoeff(), 0.1);  // the score term's variance
    expect_unbiased(total, Eigen::Vector2d::Zero(), "total ELBO gradient at the posterior");
  }
  // Away from the posterior both are unbiased for the ELBO's gradient:
  // ELBO(μ, s) = −((μ − pm)² + s²)/(2 ps²) + log s + const.
  const double mu = 0.5, s = 0.9;
  const Tensor away = Tensor::from_vector(std::vector<double>{mu, std::log(s)}, {2});
  const Eigen::Vector2d exact(-(mu - pm) / (ps * ps), -s * s / (ps * ps) + 1.0);
  for (uint64_t seed = 0; seed < 3; ++seed) {
    Rng rng(700 + seed);
    expect_unbiased(elbo_gradient(model, away, ElboGradient::sticking_the_landing, 5000, rng), exact, "STL away");
    expect_unbiased(elbo_gradient(model, away, ElboGradient::total, 5000, rng), exact, "total away");
  }
}

TEST(Gumbel, MaxFrequenciesMatchTheCategorical) {
  const Eigen::Vector4d alpha(1.0, 2.0, 3.0, 4.0);
  const Eigen::VectorXd log_alpha = alpha.array().log();
  for (uint64_t seed = 0; seed < 5; ++seed) {
    Rng rng(800 + seed);
    const int64_t S = 40000;
    Eigen::Vector4d counts = Eigen::Vector4d::Zero();
    for (int64_t s = 0; s < S; ++s) counts[gumbel_max_sample(log_alpha, rng)] += 1;
    for (int k = 0; k < 4; ++k) {
      const double pk = alpha[k] / alpha.sum();
      EXPECT_LE(std::abs(counts[k] / S - pk), 4 * std::sqrt(pk * (1 - pk) / S)) << "category " << k;
    }
  }
}

TEST(Gumbel, SoftmaxApproachesOneHotAsTemperatureFalls) {
  const Eigen::VectorXd log_alpha = Eigen::Vector3d(0.1, 0.5, -0.2);
  double previous = 1.0;
  for (double tau : {2.0, 1.0, 0.5, 0.1, 0.01, 0.001}) {
    Rng rng(5), rng_max(5);
    double distance = 0;
    for (int s = 0; s < 2000; ++s) {
      const Eigen::VectorXd x = gumbel_softmax_sample(log_alpha, tau, rng);
      const int64_t k = gumbel_max_sample(log_alpha, rng_max);  // the same ε
      EXPECT_NEAR(x.sum(), 1.0, 1e-12);
      int64_t argmax = 0;
      x.maxCoeff(&argmax);
      EXPECT_EQ(argmax, k);  // the relaxed sample's mode is the Gumbel-max draw
      distance += (1.0 - x[k]) / 2000;
    }
    EXPECT_LT(distance, previous) << "τ = " << tau;
    previous = distance;
  }
  EXPECT_LT(previous, 2e-3);  // mean 1 − x_k shrinks ∝ τ
}

TEST(Gumbel, RelaxedGradientIsUnbiasedForTheRelaxedObjective) {
  // Pathwise per-sample gradients match finite differences of the relaxed sample (common noise).
  const Eigen::Vector3d logits(0.3, -0.2, 0.8);
  const Eigen::Vector3d c(1.0, -2.0, 0.5);
  const Tensor ct = Tensor::from_vector(std::vector<double>{c[0], c[1], c[2]}, {3});
  auto f = [&](const Var& x) { return sum(square(x * Var(ct))); };
  Rng rng(42), rng_check(42);
  GumbelSoftmaxOptions o;
  o.samples = 2;
  o.tau = 0.7;
  const GradientEstimate g = gumbel_softmax_gradient(logits, f, o, rng);
  Eigen::Vector3d fd = Eigen::Vector3d::Zero();
  for (int s = 0; s < 2; ++s) {
    Eigen::Vector3d eps;
    for (auto& e : eps) e = gumbel(rng_check);
    for (int j = 0; j < 3; ++j) {
      auto value = [&](double h) {
        Eigen::Vector3d l = logits;
        l[j] += h;
        Eigen::Vector3d x = ((l + eps) / o.tau).array().exp();
        x /= x.sum();
        return (x.cwiseProduct(c)).squaredNorm();
      };
      fd[j] += (value(1e-6) - value(-1e-6)) / 2e-6 / 2;
    }
  }
  EXPECT_LT((g.gradient - fd).cwiseAbs().maxCoeff(), 1e-7);
  // Straight-through: forward at the one-hot, so the per-sample value is f(one-hot).
  o.straight_through = true;
  o.samples = 1000;
  const GradientEstimate st = gumbel_softmax_gradient(logits, f, o, rng);
  EXPECT_TRUE(st.gradient.allFinite());
}

TEST(StraightThrough, ForwardStepBackwardIdentityOrHardTanh) {
  const Tensor x = Tensor::from_vector(std::vector<double>{-2.0, -0.5, 0.3, 1.5}, {4});
  Var v(x, true);
  const Var y = straight_through_step(v);
  EXPECT_EQ(y.value().to_vector(), (std::vector<double>{0, 0, 1, 1}));
  EXPECT_EQ(grad(sum(y), {v})[0].value().to_vector(), (std::vector<double>{1, 1, 1, 1}));
  Var w(x, true);
  const Var h = straight_through_hardtanh(w);
  EXPECT_EQ(h.value().to_vector(), (std::vector<double>{0, 0, 1, 1}));
  EXPECT_EQ(grad(sum(h), {w})[0].value().to_vector(), (std::vector<double>{0, 1, 1, 0}));
  Var s(Tensor::from_vector(std::vector<double>{0.2, 0.5, 0.3}, {3}), true);
  const Var oh = straight_through_one_hot(s);
  EXPECT_EQ(oh.value().to_vector(), (std::vector<double>{0, 1, 0}));
  const Tensor c = Tensor::from_vector(std::vector<double>{1.0, 2.0, 3.0}, {3});
  EXPECT_EQ(grad(sum(oh * Var(c)), {s})[0].value().to_vector(), c.to_vector());
}

TEST(NaturalGradient, GaussianMeanParametersEqualFisherInverseTimesGradient) {
  // Scalar q = N(m, v), f = z² − 3z: L(λ) = m² + v − 3m with m = −λ₁/(2λ₂), v = −1/(2λ₂);
  // F(λ) = ∇²A(λ), A = −λ₁²/(4λ₂) − ½ log(−2λ₂). Compare F⁻¹∇_λ L (finite differences)
  // with the Monte-Carlo (6.109)/(6.111) estimate.
  const double m = kMu, v = kV;
  const Eigen::Vector2d lambda(m / v, -0.5 / v);
  auto L = [](const Eigen::Vector2d& l) {
    const double mm = -l[0] / (2 * l[1]), vv = -1 / (2 * l[1]);
    return mm * mm + vv - 3 * mm;
  };
  auto A = [](const Eigen::Vector2d& l) { return -l[0] * l[0] / (4 * l[1]) - 0.5 * std::log(-2 * l[1]); };
  const double h = 1e-4;
  Eigen::Vector2d gl;
  Eigen::Matrix2d F;
  for (int i = 0; i < 2; ++i) {
    Eigen::Vector2d e = Eigen::Vector2d::Zero();
    e[i] = h;
    gl[i] = (L(lambda + e) - L(lambda - e)) / (2 * h);
    for (int j = 0; j < 2; ++j) {
      Eigen::Vector2d d = Eigen::Vector2d::Zero();
      d[j] = h;
      F(i, j) = (A(lambda + e + d) - A(lambda + e - d) - A(lambda - e + d) + A(lambda - e - d)) / (4 * h * h);
    }
  }
  const Eigen::Vector2d natural = F.ldlt().solve(gl);
  // (6.104)–(6.105): ∂L/∂μ₁ = ∂L/∂m − 2m ∂L/∂v, ∂L/∂μ₂ = ∂L/∂v.
  EXPECT_NEAR(natural[0], (2 * m - 3) - 2 * m * 1.0, 1e-5);
  EXPECT_NEAR(natural[1], 1.0, 1e-5);
  for (uint64_t seed = 0; seed < 5; ++seed) {
    Rng rng(900 + seed);
    const GaussianNaturalGradient g = gaussian_natural_gradient(
        Eigen::VectorXd::Constant(1, m), Eigen::MatrixXd::Constant(1, 1, v), grad_example,
        [](const Eigen::VectorXd&) { return Eigen::MatrixXd::Constant(1, 1, 2.0); }, 5000, rng);
    expect_unbiased(g.first, Eigen::VectorXd::Constant(1, natural[0]), "natural gradient μ₁");
    EXPECT_NEAR(g.second.gradient[0], natural[1], 1e-5);  // exact up to the finite differences: ∇²f is constant
  }
}

TEST(NaturalGradient, CategoricalMeanParametersEqualFisherInverseTimesGradient) {
  // Minimal categorical: p_k = e^{λ_k} / (1 + Σ e^{λ_j}), k < K−1, p_{K−1} = 1/(1 + Σ).
  const Eigen::Vector3d lambda(0.4, -0.3, 1.1);
  const Eigen::Vector4d fvals(1.0, -0.5, 2.0, 0.3);
  auto probs = [](const Eigen::Vector3d& l) {
    Eigen::Vector4d p;
    p << l.array().exp(), 1.0;
    return (p / p.sum()).eval();
  };
  const Eigen::Vector4d p = probs(lambda);
  // ∇_λ L_k = p_k (f_k − E f); F = diag(p) − p pᵀ over the first K−1.
  Eigen::Vector3d gl;
  for (int k = 0; k < 3; ++k) gl[k] = p[k] * (fvals[k] - p.dot(fvals));
  const Eigen::Matrix3d F = Eigen::Matrix3d(p.head(3).asDiagonal()) - p.head(3) * p.head(3).transpose();
  const Eigen::Vector3d natural = F.ldlt().solve(gl);
  EXPECT_LT((categorical_natural_gradient(fvals) - natural).cwiseAbs().maxCoeff(), 1e-10);
  EXPECT_EQ(entropy_natural_gradient(lambda), -lambda);
}

TEST(Estimators, BadInputIsAClearError) {
  Rng rng(0);
  ScoreFunctionOptions o;
  o.samples = 1;
  EXPECT_THROW(score_function_gradient(diagonal_gaussian(1), theta_example(), f_example, o, rng), InputError);
  EXPECT_THROW(gaussian_reparameterization_gradient(Eigen::VectorXd::Zero(1), Eigen::VectorXd::Constant(1, -1.0),
                                                    grad_example, 10, rng),
               InputError);
  EXPECT_THROW(gumbel_softmax_sample(Eigen::VectorXd::Zero(3), 0.0, rng), InputError);
  // A NaN integrand is reported, never averaged into a number.
  o.samples = 10;
  EXPECT_THROW(score_function_gradient(diagonal_gaussian(1), theta_example(),
                                       [](const Eigen::VectorXd&) { return std::nan(""); }, o, rng),
               NonFiniteError);
}

}  // namespace
}  // namespace descent::estimators
