// MM and EM (Murphy §6.5): logistic MM vs IRLS, the EM loop's checks, Gaussian mixtures
// (and hard, Monte-Carlo and online EM), a Gaussian with missing data against the closed-form
// MLE of a monotone pattern, Student-t regression; bad data gives errors, never NaN.
#include <cmath>

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <gtest/gtest.h>

#include "descent/bound/em.hpp"
#include "descent/bound/gmm.hpp"
#include "descent/bound/logistic.hpp"
#include "descent/bound/mvn_missing.hpp"
#include "descent/bound/student_t.hpp"
#include "descent/core/rng.hpp"

namespace descent::bound {
namespace {

struct LogisticData {
  Eigen::MatrixXd X;
  Eigen::VectorXd y;
  Eigen::VectorXi labels;
};

// N points in D−1 Gaussian features plus an intercept column; labels from a softmax model.
LogisticData logistic_data(int64_t N, int64_t D, int classes, uint64_t seed) {
  Rng rng(seed);
  LogisticData d;
  d.X.resize(N, D);
  for (int64_t n = 0; n < N; ++n) {
    d.X(n, 0) = 1.0;
    for (int64_t j = 1; j < D; ++j) d.X(n, j) = rng.normal();
  }
  Eigen::MatrixXd W(D, classes);
  for (auto& w : W.reshaped()) w = rng.normal();
  d.labels.resize(N);
  d.y.resize(N);
  for (int64_t n = 0; n < N; ++n) {
    Eigen::VectorXd e = (W.transpose() * d.X.row(n).transpose()).array().exp();
    e /= e.sum();
    double u = rng.uniform(), c = 0;
    int k = classes - 1;
    for (int j = 0; j < classes; ++j)
      if (u < (c += e[j])) {
        k = j;
        break;
      }
    d.labels[n] = k;
    d.y[n] = k == 1 ? 1.0 : 0.0;
  }
  return d;
}

bool nondecreasing(const std::vector<double>& v, double slack = 1e-12) {
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] < v[i - 1] - slack * std::abs(v[i - 1])) return false;
  return true;
}

TEST(LogisticMM, SameMleAsIrlsMonotoneAndStationary) {
  for (uint64_t seed = 0; seed < 3; ++seed) {
    const LogisticData d = logistic_data(300, 4, 2, seed);
    const LogisticFit mm = logistic_mm(d.X, d.y);
    const LogisticFit irls = logistic_irls(d.X, d.y);
    ASSERT_TRUE(mm.converged && irls.converged);
    EXPECT_LT((mm.weights - irls.weights).cwiseAbs().maxCoeff(), 1e-9);
    EXPECT_TRUE(nondecreasing(mm.log_likelihood));
    EXPECT_GT(mm.iterations, irls.iterations);  // MM: more, cheaper iterations
    // Stationary: Xᵀ(y − μ) = 0.
    const Eigen::VectorXd p = (1.0 + (-(d.X * mm.weights).array()).exp()).inverse();
    EXPECT_LT((d.X.transpose() * (d.y - p)).cwiseAbs().maxCoeff(), 1e-8);
  }
}

TEST(LogisticMM, TheSeedsPrintedSignDescends) {
  // Murphy (6.135) as printed, w − 4(XᵀX)⁻¹Xᵀ(y − μ), lowers the log-likelihood from w = 0.
  const LogisticData d = logistic_data(200, 3, 2, 7);
  const Eigen::VectorXd w0 = Eigen::VectorXd::Zero(3);
  const Eigen::VectorXd g = d.X.transpose() * (d.y - Eigen::VectorXd::Constant(200, 0.5));
  const Eigen::VectorXd printed = w0 - 4 * (d.X.transpose() * d.X).ldlt().solve(g);
  const Eigen::VectorXd corrected = w0 + 4 * (d.X.transpose() * d.X).ldlt().solve(g);
  const double l0 = logistic_log_likelihood(d.X, d.y, w0);
  EXPECT_LT(logistic_log_likelihood(d.X, d.y, printed), l0);
  EXPECT_GT(logistic_log_likelihood(d.X, d.y, corrected), l0);
}

TEST(LogisticMM, MulticlassStationaryAndBinaryCaseAgrees) {
  for (uint64_t seed = 0; seed < 3; ++seed) {
    const LogisticData d = logistic_data(400, 3, 4, 10 + seed);
    const LogisticFit mm = multinomial_logistic_mm(d.X, d.labels, 4);
    ASSERT_TRUE(mm.converged);
    EXPECT_TRUE(nondecreasing(mm.log_likelihood));
    // Gradient (6.130) at the fit: Xᵀ(Y − P) = 0.
    const Eigen::MatrixXd eta = d.X * mm.weights;
    Eigen::MatrixXd G = Eigen::MatrixXd::Zero(3, 3);
    for (int64_t n = 0; n < 400; ++n) {
      Eigen::VectorXd e(4);
      e << eta.row(n).transpose(), 0.0;
      e = (e.array() - e.maxCoeff()).exp();
      e /= e.sum();
      for (int c = 0; c < 3; ++c) G.col(c) += d.X.row(n).transpose() * ((d.labels[n] == c ? 1.0 : 0.0) - e[c]);
    }
    EXPECT_LT(G.cwiseAbs().maxCoeff(), 1e-8);
  }
  // Two classes: class 1 is the reference, so W₀ = −w of the binary fit (y = 1 for class 1).
  const LogisticData d = logistic_data(200, 3, 2, 3);
  const LogisticFit multi = multinomial_logistic_mm(d.X, d.labels, 2);
  const LogisticFit bin = logistic_mm(d.X, d.y);
  EXPECT_LT((multi.weights.col(0) + bin.weights).cwiseAbs().maxCoeff(), 1e-9);
}

TEST(LogisticMM, BadDataIsAClearError) {
  LogisticData d = logistic_data(50, 3, 2, 1);
  d.X(4, 1) = std::nan("");
  EXPECT_THROW(logistic_mm(d.X, d.y), InputError);
  d = logistic_data(50, 3, 2, 1);
  d.X.col(2) = d.X.col(0);  // a constant column next to the intercept
  EXPECT_THROW(logistic_mm(d.X, d.y), InputError);
}

TEST(EmLoop, ADecreaseIsAReportedErrorAndToleranceStops) {
  double theta = 0;
  // A "model" whose ℓ goes 0, 1, 0.5: the third value is a decrease.
  std::vector<double> values{0.0, 1.0, 0.5};
  size_t i = 0;
  EXPECT_THROW(run_em([&] { return values[std::min(i, values.size() - 1)]; }, [&] { return double(++i) * 0; }, {}, "toy"),
               MonotonicityError);
  // The same drop within an M-step's stated shortfall is allowed.
  i = 0;
  EmOptions few;
  few.max_iterations = 2;
  EXPECT_NO_THROW(run_em([&] { return values[std::min(i, values.size() - 1)]; }, [&] { ++i; return 0.6; }, few, "toy"));
  // ℓ_t = −2^{−t}: relative change 1 per step, then stops at max_iterations; and with a
  // contraction θ ← θ/2 toward 1 it stops once the relative change is below the tolerance.
  EmOptions o;
  o.tolerance = 1e-6;
  theta = 0;
  const EmTrace t = run_em([&] { return -1.0 - std::pow(1 - theta, 2); }, [&] { theta = 0.5 * (theta + 1); return 0.0; }, o, "toy");
  EXPECT_TRUE(t.converged);
  EXPECT_LT(t.iterations, 30);
  EXPECT_TRUE(nondecreasing(t.log_likelihood));
  EXPECT_THROW(run_em([] { return std::nan(""); }, [] { return 0.0; }, {}, "toy"), NonFiniteError);
}

// Three well-separated 2-D clusters.
Eigen::MatrixXd mixture_data(int64_t N, uint64_t seed, Eigen::MatrixXd* true_means = nullptr) {
  Rng rng(seed);
  Eigen::MatrixXd M(3, 2);
  M << -4, 0, 4, 0, 0, 5;
  Eigen::MatrixXd X(N, 2);
  for (int64_t n = 0; n < N; ++n) {
    const int64_t k = n % 3;
    X(n, 0) = M(k, 0) + rng.normal() * (1.0 + 0.3 * k);
    X(n, 1) = M(k, 1) + rng.normal() * 0.7 + 0.3 * (X(n, 0) - M(k, 0));
  }
  if (true_means) *true_means = M;
  return X;
}

double nearest_mean_error(const Eigen::MatrixXd& fitted, const Eigen::MatrixXd& truth) {
  double worst = 0;
  for (int64_t k = 0; k < truth.rows(); ++k) {
    double best = INFINITY;
    for (int64_t j = 0; j < fitted.rows(); ++j) best = std::min(best, (fitted.row(j) - truth.row(k)).norm());
    worst = std::max(worst, best);
  }
  return worst;
}

TEST(GaussianMixtureEm, RecoversClustersForEveryCovarianceTypeMonotonically) {
  Eigen::MatrixXd truth;
  for (uint64_t seed = 0; seed < 3; ++seed) {
    const Eigen::MatrixXd X = mixture_data(1500, seed, &truth);
    for (CovarianceType type : {CovarianceType::full, CovarianceType::diagonal, CovarianceType::spherical}) {
      GmmOptions o;
      o.components = 3;
      o.type = type;
      o.seed = seed;
      const GmmFit fit = fit_gmm(X, o);
      EXPECT_TRUE(fit.trace.converged);
      EXPECT_TRUE(nondecreasing(fit.trace.log_likelihood));
      EXPECT_LT(nearest_mean_error(fit.model.means, truth), 0.3) << "type " << static_cast<int>(type);
      EXPECT_NEAR(fit.model.weights.sum(), 1.0, 1e-12);
      EXPECT_NEAR(fit.trace.log_likelihood.back(), gmm_log_likelihood(X, fit.model),
                  1e-8 * std::abs(fit.trace.log_likelihood.back()));
      if (type == CovarianceType::spherical) {
        for (const auto& c : fit.model.covariances) EXPECT_DOUBLE_EQ(c(0, 0), c(1, 1));
      }
    }
  }
}

TEST(GaussianMixtureEm, OneComponentIsTheSampleMle) {
  const Eigen::MatrixXd X = mixture_data(300, 4);
  GmmOptions o;
  o.components = 1;
  o.reg_covar = 0;
  const GmmFit fit = fit_gmm(X, o);
  const Eigen::VectorXd mu = X.colwise().mean();
  const Eigen::MatrixXd C = (X.rowwise() - mu.transpose()).transpose() * (X.rowwise() - mu.transpose()) / 300.0;
  EXPECT_LT((fit.model.means.row(0).transpose() - mu).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LT((fit.model.covariances[0] - C).cwiseAbs().maxCoeff(), 1e-12);
  // Its log-likelihood in closed form: −N/2 (D log 2π + log|C| + D).
  const double exact = -150.0 * (2 * std::log(2 * M_PI) + std::log(C.determinant()) + 2);
  EXPECT_NEAR(fit.trace.log_likelihood.back(), exact, 1e-9 * std::abs(exact));
}

TEST(GaussianMixtureEm, HardMonteCarloAndOnlineVariants) {
  Eigen::MatrixXd truth;
  for (uint64_t seed = 0; seed < 3; ++seed) {
    const Eigen::MatrixXd X = mixture_data(1500, 20 + seed, &truth);
    GmmOptions o;
    o.components = 3;
    o.seed = seed;
    const GmmFit exact = fit_gmm(X, o);
    o.e_step = EStep::hard;
    const GmmFit hard = fit_gmm(X, o);  // monotone in its own objective (checked by run_em)
    EXPECT_TRUE(hard.trace.converged);
    EXPECT_LT(nearest_mean_error(hard.model.means, truth), 0.5);
    // Hard EM's objective bounds the log-likelihood from below.
    EXPECT_LE(hard.trace.log_likelihood.back(), gmm_log_likelihood(X, hard.model));
    o.e_step = EStep::monte_carlo;
    o.mc_samples = 50;
    o.em.max_iterations = 60;
    const GmmFit mc = fit_gmm(X, o);
    const double l_exact = exact.trace.log_likelihood.back();
    EXPECT_NEAR(gmm_log_likelihood(X, mc.model), l_exact, 2e-3 * std::abs(l_exact));
    OnlineEmOptions on;
    on.components = 3;
    on.seed = seed;
    on.epochs = 5;
    on.batch_size = 50;
    const OnlineEmFit online = fit_gmm_online(X, on);
    EXPECT_NEAR(online.log_likelihood.back(), l_exact, 5e-3 * std::abs(l_exact));
    EXPECT_LT(nearest_mean_error(online.model.means, truth), 0.3);
  }
}

TEST(GaussianMixtureEm, BadDataGivesAnErrorOrTheStatedRegularization) {
  Eigen::MatrixXd X = mixture_data(100, 1);
  GmmOptions o;
  o.components = 3;
  Eigen::MatrixXd bad = X;
  bad(7, 1) = std::nan("");
  EXPECT_THROW(fit_gmm(bad, o), InputError);
  o.components = 101;  // k > n
  EXPECT_THROW(fit_gmm(X, o), InputError);
  o.components = 0;
  EXPECT_THROW(fit_gmm(X, o), InputError);
  // A constant column: finite with reg_covar (its variance becomes reg_covar), an error without.
  Eigen::MatrixXd constant(100, 3);
  constant << X, Eigen::VectorXd::Constant(100, 2.5);
  o.components = 3;
  for (CovarianceType type : {CovarianceType::full, CovarianceType::diagonal}) {
    o.type = type;
    const GmmFit fit = fit_gmm(constant, o);
    EXPECT_TRUE(std::isfinite(fit.trace.log_likelihood.back()));
    for (const auto& c : fit.model.covariances) EXPECT_NEAR(c(2, 2), o.reg_covar, 1e-12);
    GmmOptions unregularized = o;
    unregularized.reg_covar = 0;
    EXPECT_THROW(fit_gmm(constant, unregularized), InputError);
  }
}

// y missing in some rows of a bivariate sample: the MLE has a closed form (Anderson 1957).
TEST(MvnMissing, MatchesTheClosedFormMleOfAMonotonePattern) {
  for (uint64_t seed = 0; seed < 3; ++seed) {
    Rng rng(seed);
    const int64_t N = 400;
    Eigen::MatrixXd X(N, 2);
    for (int64_t n = 0; n < N; ++n) {
      X(n, 0) = 1 + rng.normal();
      X(n, 1) = -1 + 0.8 * X(n, 0) + 0.5 * rng.normal();
      if (rng.uniform() < 0.4) X(n, 1) = std::nan("");
    }
    MvnMissingOptions o;
    o.em.tolerance = 1e-14;
    const MvnMissingFit fit = fit_mvn_missing(X, o);
    EXPECT_TRUE(nondecreasing(fit.trace.log_likelihood));
    double mx = X.col(0).mean(), sxx = (X.col(0).array() - mx).square().mean();
    double cx = 0, cy = 0, c = 0;
    for (int64_t n = 0; n < N; ++n)
      if (!std::isnan(X(n, 1))) cx += X(n, 0), cy += X(n, 1), ++c;
    cx /= c, cy /= c;
    double sxy = 0, sxxc = 0, syyc = 0;
    for (int64_t n = 0; n < N; ++n)
      if (!std::isnan(X(n, 1))) {
        sxy += (X(n, 0) - cx) * (X(n, 1) - cy) / c;
        sxxc += (X(n, 0) - cx) * (X(n, 0) - cx) / c;
        syyc += (X(n, 1) - cy) * (X(n, 1) - cy) / c;
      }
    const double beta = sxy / sxxc, resid = syyc - beta * sxy;
    const double my = cy + beta * (mx - cx);
    EXPECT_NEAR(fit.mean[0], mx, 1e-8);
    EXPECT_NEAR(fit.mean[1], my, 1e-8);
    EXPECT_NEAR(fit.covariance(0, 0), sxx, 1e-8);
    EXPECT_NEAR(fit.covariance(0, 1), beta * sxx, 1e-8);
    EXPECT_NEAR(fit.covariance(1, 1), resid + beta * beta * sxx, 1e-8);
    // Imputation fills exactly the NaN entries with μ_y + β(x − μ_x).
    const Eigen::MatrixXd filled = impute_mvn(X, fit.mean, fit.covariance);
    for (int64_t n = 0; n < N; ++n) {
      if (std::isnan(X(n, 1)))
        EXPECT_NEAR(filled(n, 1), my + beta * (X(n, 0) - mx), 1e-7);
      else
        EXPECT_EQ(filled(n, 1), X(n, 1));
    }
  }
}

TEST(MvnMissing, BadDataIsAClearError) {
  Eigen::MatrixXd X(5, 2);
  X << 1, 2, 3, 4, 5, 7, 2, 1, 4, 4;
  Eigen::MatrixXd constant = X;
  constant.col(1).setConstant(3.0);
  EXPECT_THROW(fit_mvn_missing(constant), InputError);
  MvnMissingOptions reg;
  reg.reg_covar = 1e-3;
  EXPECT_TRUE(std::isfinite(fit_mvn_missing(constant, reg).trace.log_likelihood.back()));
  Eigen::MatrixXd sparse = X;
  sparse.col(0).setConstant(std::nan(""));
  sparse(0, 0) = 1.0;
  EXPECT_THROW(fit_mvn_missing(sparse), InputError);
}

TEST(StudentT, DownWeightsOutliersAndIsStationary) {
  for (uint64_t seed = 0; seed < 3; ++seed) {
    Rng rng(seed);
    const int64_t N = 200;
    Eigen::MatrixXd X(N, 2);
    Eigen::VectorXd y(N);
    for (int64_t n = 0; n < N; ++n) {
      X(n, 0) = 1;
      X(n, 1) = rng.uniform(-2, 2);
      y[n] = 0.5 + 2.0 * X(n, 1) + 0.3 * rng.normal();
      if (n % 10 == 0) X(n, 1) = 1.8 + 0.1 * rng.normal(), y[n] = -6.0 + rng.normal();  // bad leverage points
    }
    StudentTOptions o;
    o.estimate_nu = true;
    o.em.tolerance = 1e-15;
    const StudentTFit fit = fit_student_t_regression(X, y, o);
    EXPECT_TRUE(fit.trace.converged);
    EXPECT_TRUE(nondecreasing(fit.trace.log_likelihood));
    const Eigen::Vector2d ols = (X.transpose() * X).ldlt().solve(X.transpose() * y);
    EXPECT_LT(std::abs(fit.weights[1] - 2.0), 0.1);
    EXPECT_GT(std::abs(ols[1] - 2.0), 1.0);  // least squares is pulled far off
    EXPECT_LT(std::abs(fit.weights[0] - 0.5), 0.2);
    for (int64_t n = 0; n < N; n += 10) EXPECT_LT(fit.lambda[n], 0.1) << "outlier " << n;
    // Stationary in w for the observed log-likelihood (finite differences).
    for (int j = 0; j < 2; ++j) {
      Eigen::Vector2d e = Eigen::Vector2d::Zero();
      e[j] = 1e-6;
      const double g = (student_t_log_likelihood(X, y, fit.weights + e, fit.sigma2, fit.nu) -
                        student_t_log_likelihood(X, y, fit.weights - e, fit.sigma2, fit.nu)) / 2e-6;
      EXPECT_LT(std::abs(g), 1e-5);
    }
  }
}

}  // namespace
}  // namespace descent::bound
