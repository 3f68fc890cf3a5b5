// Agreement with the peers: statsmodels' Logit/MNLogit for the logistic MM and IRLS fits
// (coefficients to 1e-8) and scikit-learn's GaussianMixture from the same start (final
// log-likelihood to 1e-6 relative), on Fashion-MNIST PCA-50 features and synthetic data.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/peer.hpp"
#include "descent/bound/gmm.hpp"
#include "descent/bound/logistic.hpp"
#include "descent/core/rng.hpp"
#include "descent/data/fashion_mnist.hpp"
#include "descent/data/pca.hpp"
#include "descent/data/readers.hpp"

namespace descent::bound {
namespace {

namespace fs = std::filesystem;

fs::path temp_folder(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("descent_bound_" + name + "_" + std::to_string(::getpid()));
  fs::create_directories(p);
  return p;
}

std::vector<double> row_major(const Eigen::MatrixXd& M) {
  std::vector<double> v;
  v.reserve(M.size());
  for (int64_t i = 0; i < M.rows(); ++i)
    for (int64_t j = 0; j < M.cols(); ++j) v.push_back(M(i, j));
  return v;
}

void save_matrix(const fs::path& path, const Eigen::MatrixXd& M) {
  data::save_npy(path.string(), Tensor::from_vector(row_major(M), {M.rows(), M.cols()}, DType::f64));
}

// Writes X and a mixture as the peer script reads them.
void save_problem(const fs::path& folder, const Eigen::MatrixXd& X, const GaussianMixture& m) {
  save_matrix(folder / "X.npy", X);
  const int64_t K = m.weights.size(), D = X.cols();
  data::save_npy((folder / "weights.npy").string(),
                 Tensor::from_vector(std::vector<double>(m.weights.data(), m.weights.data() + K), {K}, DType::f64));
  save_matrix(folder / "means.npy", m.means);
  std::vector<double> cov;
  for (const auto& c : m.covariances) {
    const std::vector<double> r = row_major(c);
    cov.insert(cov.end(), r.begin(), r.end());
  }
  data::save_npy((folder / "covariances.npy").string(), Tensor::from_vector(cov, {K, D, D}, DType::f64));
}

TEST(StatsmodelsPeer, LogisticMmAndIrlsCoefficientsTo1e8) {
  Rng rng(3);
  const int64_t N = 500, D = 4, C = 3;
  Eigen::MatrixXd X(N, D);
  Eigen::VectorXd y(N);
  Eigen::VectorXi labels(N);
  for (int64_t n = 0; n < N; ++n) {
    X(n, 0) = 1;
    for (int64_t j = 1; j < D; ++j) X(n, j) = rng.normal();
    y[n] = rng.uniform() < 1 / (1 + std::exp(-(0.3 + X(n, 1) - 0.7 * X(n, 2) + 0.2 * X(n, 3)))) ? 1 : 0;
    const double s0 = 0, s1 = 0.5 * X(n, 1) - X(n, 3), s2 = -0.4 + 0.8 * X(n, 2);
    const double z = std::exp(s0) + std::exp(s1) + std::exp(s2), u = rng.uniform() * z;
    labels[n] = u < std::exp(s0) ? 0 : (u < std::exp(s0) + std::exp(s1) ? 1 : 2);
  }
  const fs::path folder = temp_folder("logit");
  nlohmann::json req;
  req["binary"] = {{"X", row_major(X)}, {"y", std::vector<double>(y.data(), y.data() + N)}, {"n", N}, {"d", D}};
  req["multiclass"] = {{"X", row_major(X)}, {"labels", std::vector<int>(labels.data(), labels.data() + N)},
                       {"n", N}, {"d", D}};
  std::ofstream(folder / "req.json") << req.dump();
  DESCENT_RUN_PEER_SCRIPT(out, "statsmodels", "tests/bound/statsmodels_logit_peer.py " + (folder / "req.json").string());
  fs::remove_all(folder);
  const nlohmann::json res = nlohmann::json::parse(out);
  const std::vector<double> logit = res["logit"];
  const LogisticFit mm = logistic_mm(X, y), irls = logistic_irls(X, y);
  double worst = 0;
  for (int64_t j = 0; j < D; ++j)
    worst = std::max({worst, std::abs(mm.weights(j, 0) - logit[j]), std::abs(irls.weights(j, 0) - logit[j])});
  std::cout << "binary logistic: max |ours − statsmodels| over MM and IRLS coefficients " << worst << "\n";
  for (int64_t j = 0; j < D; ++j) {
    EXPECT_NEAR(mm.weights(j, 0), logit[j], 1e-8) << "MM coefficient " << j;
    EXPECT_NEAR(irls.weights(j, 0), logit[j], 1e-8) << "IRLS coefficient " << j;
  }
  // MNLogit: columns for classes 1, 2 against class 0; ours against class C−1 = 2, so
  // β_c = W_c − W_0 with W_2 = 0.
  const std::vector<double> mn = res["mnlogit"];  // [D, C−1] row-major
  const LogisticFit multi = multinomial_logistic_mm(X, labels, C);
  for (int64_t j = 0; j < D; ++j) {
    EXPECT_NEAR(multi.weights(j, 1) - multi.weights(j, 0), mn[j * 2 + 0], 1e-8) << "class 1, coefficient " << j;
    EXPECT_NEAR(0.0 - multi.weights(j, 0), mn[j * 2 + 1], 1e-8) << "class 2, coefficient " << j;
  }
}

// Runs `iterations` EM steps here and in scikit-learn from the same start.
void expect_same_as_sklearn(const Eigen::MatrixXd& X, int K, CovarianceType type, int iterations, uint64_t seed) {
  Rng rng(seed);
  const double reg = 1e-6;
  const GaussianMixture init = kmeans_plus_plus_init(X, K, type, reg, rng);
  GmmOptions o;
  o.components = K;
  o.type = type;
  o.reg_covar = reg;
  o.em.max_iterations = iterations;
  o.em.tolerance = 0;
  const GmmFit fit = fit_gmm(X, o, &init);
  ASSERT_EQ(fit.trace.iterations, iterations);
  const fs::path folder = temp_folder("gmm");
  save_problem(folder, X, init);
  const char* name = type == CovarianceType::full ? "full" : type == CovarianceType::diagonal ? "diag" : "spherical";
  DESCENT_RUN_PEER_SCRIPT(out, "sklearn",
                          "tests/bound/sklearn_gmm_peer.py " + folder.string() + " " + name + " " +
                              std::to_string(iterations) + " " + std::to_string(reg));
  fs::remove_all(folder);
  const nlohmann::json res = nlohmann::json::parse(out);
  const double theirs = res["log_likelihood"], ours = fit.trace.log_likelihood.back();
  std::cout << name << " mixture, " << X.rows() << "x" << X.cols() << ", K = " << K << ", " << iterations
            << " EM steps: log-likelihood ours " << ours << ", scikit-learn " << theirs << ", relative difference "
            << std::abs(ours - theirs) / std::abs(theirs) << "\n";
  EXPECT_LE(std::abs(ours - theirs), 1e-6 * std::abs(theirs)) << name << ": ours " << ours << ", scikit-learn " << theirs;
  const std::vector<double> means = res["means"];
  double worst = 0;
  for (int64_t i = 0; i < fit.model.means.size(); ++i)
    worst = std::max(worst, std::abs(fit.model.means(i / X.cols(), i % X.cols()) - means[i]));
  EXPECT_LT(worst, 1e-4 * (1 + fit.model.means.cwiseAbs().maxCoeff())) << name;
}

TEST(SklearnPeer, GaussianMixtureOnFashionMnistPca50) {
  data::Dataset test;
  try {
    test = data::load_fashion_mnist("test");
  } catch (const InputError& e) {
    GTEST_SKIP() << "Fashion-MNIST is not installed (Debian's dataset-fashion-mnist): " << e.what();
  }
  const Eigen::MatrixXd pixels = data::to_matrix(test.inputs).topRows(3000);
  const Eigen::MatrixXd X = data::pca_transform(data::fit_pca(pixels, 50), pixels);
  expect_same_as_sklearn(X, 10, CovarianceType::full, 25, 0);
}

TEST(SklearnPeer, GaussianMixtureDiagonalAndSpherical) {
  Rng rng(5);
  Eigen::MatrixXd X(1200, 4);
  for (int64_t n = 0; n < X.rows(); ++n)
    for (int64_t j = 0; j < 4; ++j) X(n, j) = 3.0 * (n % 4 == j) + (0.5 + 0.3 * j) * rng.normal();
  expect_same_as_sklearn(X, 4, CovarianceType::diagonal, 40, 1);
  expect_same_as_sklearn(X, 4, CovarianceType::spherical, 40, 2);
  expect_same_as_sklearn(X, 4, CovarianceType::full, 40, 3);
}

}  // namespace
}  // namespace descent::bound
