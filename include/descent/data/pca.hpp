#pragma once
// Principal component analysis for feature reduction (e.g. Fashion-MNIST to 50 features for
// mixture models): the top eigenvectors of the sample covariance.
#include <Eigen/Core>

#include "descent/core/tensor.hpp"

namespace descent::data {

struct Pca {
  Eigen::VectorXd mean;                // [D]
  Eigen::MatrixXd components;          // [D, k], orthonormal columns, by decreasing variance
  Eigen::VectorXd explained_variance;  // [k], the covariance's top eigenvalues (divisor N − 1)
};

// X [N, D]; 1 ≤ k ≤ D. Each component's sign is fixed so that its largest-magnitude entry is
// positive, so results are reproducible across eigensolvers.
Pca fit_pca(const Eigen::MatrixXd& X, int k);
// (X − mean) · components: [N, k].
Eigen::MatrixXd pca_transform(const Pca& pca, const Eigen::MatrixXd& X);

// A rank-2 float tensor as a double matrix (a copy).
Eigen::MatrixXd to_matrix(const Tensor& t);

}  // namespace descent::data
