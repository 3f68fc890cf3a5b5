#include "descent/data/pca.hpp"

#include <Eigen/Eigenvalues>

#include "descent/core/error.hpp"

namespace descent::data {

Pca fit_pca(const Eigen::MatrixXd& X, int k) {
  const int64_t N = X.rows(), D = X.cols();
  DESCENT_CHECK(N >= 2 && k >= 1 && k <= D, InputError, "fit_pca: need N ≥ 2 and 1 ≤ k ≤ D, got N = {}, D = {}, k = {}",
                N, D, k);
  DESCENT_CHECK(X.allFinite(), InputError, "fit_pca: the data hold NaN or infinite values");
  Pca p;
  p.mean = X.colwise().mean();
  const Eigen::MatrixXd centered = X.rowwise() - p.mean.transpose();
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(D, D);
  cov.selfadjointView<Eigen::Lower>().rankUpdate(centered.transpose(), 1.0 / static_cast<double>(N - 1));
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov.selfadjointView<Eigen::Lower>());
  DESCENT_CHECK(eig.info() == Eigen::Success, Error, "fit_pca: the eigensolver did not converge");
  p.components.resize(D, k);
  p.explained_variance.resize(k);
  for (int i = 0; i < k; ++i) {  // eigenvalues come in increasing order
    Eigen::VectorXd v = eig.eigenvectors().col(D - 1 - i);
    Eigen::Index arg;
    v.cwiseAbs().maxCoeff(&arg);
    if (v[arg] < 0) v = -v;
    p.components.col(i) = v;
    p.explained_variance[i] = eig.eigenvalues()[D - 1 - i];
  }
  return p;
}

Eigen::MatrixXd pca_transform(const Pca& pca, const Eigen::MatrixXd& X) {
  DESCENT_CHECK(X.cols() == pca.mean.size(), ShapeError, "pca_transform: the data have {} columns, the PCA {}", X.cols(),
                pca.mean.size());
  return (X.rowwise() - pca.mean.transpose()) * pca.components;
}

Eigen::MatrixXd to_matrix(const Tensor& t) {
  DESCENT_CHECK(t.rank() == 2, ShapeError, "to_matrix: need a rank-2 tensor, got shape {}", t.shape());
  Eigen::MatrixXd m(t.dim(0), t.dim(1));
  const std::vector<double> v = t.to_vector();
  for (int64_t i = 0; i < t.dim(0); ++i)
    for (int64_t j = 0; j < t.dim(1); ++j) m(i, j) = v[i * t.dim(1) + j];
  return m;
}

}  // namespace descent::data
