// Bound-optimization timings. Two modes:
//   bench_bound [Google Benchmark flags]        one EM step of a full-covariance mixture and
//                                               logistic MM vs IRLS per iteration, synthetic data
//   bench_bound --gmm-compare N ITERATIONS REPEATS DIR
//       Fashion-MNIST training images (the first N), PCA to 50 features, k-means++ start
//       with K = 10 full covariances (seed 0); writes DIR/{X,weights,means,covariances}.npy
//       for the peer, runs ITERATIONS EM steps (tolerance 0) REPEATS times and prints one
//       JSON object {log_likelihood, cpu_seconds (min over repeats), ...}.
//       bench/bound_peer.py runs this and scikit-learn's GaussianMixture on the same files.
// For 1-thread figures set OPENBLAS_NUM_THREADS=1 (the EM loop itself is single-threaded;
// its GEMM/SYRK calls use OpenBLAS's threads).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include <nlohmann/json.hpp>

#include "descent/bound/gmm.hpp"
#include "descent/bound/logistic.hpp"
#include "descent/core/cpu_info.hpp"
#include "descent/core/rng.hpp"
#include "descent/data/fashion_mnist.hpp"
#include "descent/data/pca.hpp"
#include "descent/data/readers.hpp"

using namespace descent;
using namespace descent::bound;

namespace {

std::vector<double> row_major(const Eigen::MatrixXd& M) {
  std::vector<double> v;
  v.reserve(M.size());
  for (int64_t i = 0; i < M.rows(); ++i)
    for (int64_t j = 0; j < M.cols(); ++j) v.push_back(M(i, j));
  return v;
}

int gmm_compare(int64_t n, int iterations, int repeats, const std::string& dir) {
  const data::Dataset train = data::load_fashion_mnist("train");
  const Eigen::MatrixXd pixels = data::to_matrix(train.inputs).topRows(std::min<int64_t>(n, train.inputs.dim(0)));
  const Eigen::MatrixXd X = data::pca_transform(data::fit_pca(pixels, 50), pixels);
  Rng rng(0);
  const int K = 10;
  const GaussianMixture init = kmeans_plus_plus_init(X, K, CovarianceType::full, 1e-6, rng);
  data::save_npy(dir + "/X.npy", Tensor::from_vector(row_major(X), {X.rows(), X.cols()}, DType::f64));
  data::save_npy(dir + "/weights.npy",
                 Tensor::from_vector(std::vector<double>(init.weights.data(), init.weights.data() + K), {K}, DType::f64));
  data::save_npy(dir + "/means.npy", Tensor::from_vector(row_major(init.means), {K, X.cols()}, DType::f64));
  std::vector<double> cov;
  for (const auto& c : init.covariances) {
    const auto r = row_major(c);
    cov.insert(cov.end(), r.begin(), r.end());
  }
  data::save_npy(dir + "/covariances.npy", Tensor::from_vector(cov, {K, X.cols(), X.cols()}, DType::f64));
  GmmOptions o;
  o.components = K;
  o.em.max_iterations = iterations;
  o.em.tolerance = 0;
  double best = 1e300, ll = 0;
  for (int r = 0; r < repeats; ++r) {
    const std::clock_t t0 = std::clock();
    const GmmFit fit = fit_gmm(X, o, &init);
    best = std::min(best, static_cast<double>(std::clock() - t0) / CLOCKS_PER_SEC);
    ll = fit.trace.log_likelihood.back();
  }
  const char* threads = std::getenv("OPENBLAS_NUM_THREADS");
  nlohmann::json out = {{"n", X.rows()},
                        {"d", X.cols()},
                        {"k", K},
                        {"iterations", iterations},
                        {"log_likelihood", ll},
                        {"cpu_seconds", best},
                        {"openblas_threads", threads ? threads : "unset"},
                        {"cpu", cpu_summary()}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

Eigen::MatrixXd blobs(int64_t n, int64_t d, uint64_t seed) {
  Rng rng(seed);
  Eigen::MatrixXd X(n, d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) X(i, j) = 2.0 * static_cast<double>((i % 10) == (j % 10)) + rng.normal();
  return X;
}

void BM_GmmFullEmStep(benchmark::State& state) {
  const Eigen::MatrixXd X = blobs(state.range(0), 50, 0);
  Rng rng(0);
  const GaussianMixture init = kmeans_plus_plus_init(X, 10, CovarianceType::full, 1e-6, rng);
  GmmOptions o;
  o.components = 10;
  o.em.max_iterations = 1;
  o.em.tolerance = 0;
  for (auto _ : state) benchmark::DoNotOptimize(fit_gmm(X, o, &init));
}
BENCHMARK(BM_GmmFullEmStep)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_LogisticPerIteration(benchmark::State& state) {
  // Per-iteration cost: MM reuses one Cholesky of XᵀX; IRLS refactors XᵀSX each step.
  Rng rng(1);
  const int64_t n = 20000, d = state.range(0);
  Eigen::MatrixXd X(n, d);
  Eigen::VectorXd y(n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) X(i, j) = rng.normal();
    y[i] = rng.bernoulli(1 / (1 + std::exp(-0.1 * X.row(i).sum())));
  }
  LogisticOptions o;
  o.max_iterations = 5;
  o.tolerance = 0;
  const bool mm = state.range(1) == 0;
  for (auto _ : state) benchmark::DoNotOptimize(mm ? logistic_mm(X, y, o) : logistic_irls(X, y, o));
  state.SetLabel(mm ? "MM, 5 iterations" : "IRLS, 5 iterations");
}
BENCHMARK(BM_LogisticPerIteration)->Args({50, 0})->Args({50, 1})->Args({200, 0})->Args({200, 1})
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if (argc == 6 && std::strcmp(argv[1], "--gmm-compare") == 0)
    return gmm_compare(std::stoll(argv[2]), std::stoi(argv[3]), std::stoi(argv[4]), argv[5]);
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("cpu", cpu_summary());
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
