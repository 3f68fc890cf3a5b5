#pragma once
// Logistic regression by MM with Böhning's quadratic bound, and by IRLS (Newton) for
// comparison (Murphy §6.5.2, eqs. 6.125–6.136).
//
// ⚠ Murphy prints the updates with the wrong sign (6.135–6.136): B = −¼XᵀX is negative
// definite, so w ← w − B⁻¹g is w + 4(XᵀX)⁻¹Xᵀ(y − μ), an ascent step; likewise IRLS is
// w + (XᵀSX)⁻¹Xᵀ(y − μ). ⚠ (6.133) prints Σ x_nᵀx_n for the binary bound; it is XᵀX.
#include <cstdint>
#include <vector>

#include <Eigen/Core>

namespace descent::bound {

struct LogisticOptions {
  int max_iterations = 100000;
  // Stop when max |Δw| ≤ tolerance · (1 + max |w|).
  double tolerance = 1e-13;
  double monotone_slack = 1e-12;  // of the MM monotonicity check
};

struct LogisticFit {
  // Binary: [D, 1]. Multiclass: [D, C−1], class C−1 the reference (w_{C−1} = 0, eq. 6.128).
  Eigen::MatrixXd weights;
  std::vector<double> log_likelihood;  // ℓ(w_t) per iterate, from w₀ = 0
  int iterations = 0;
  bool converged = false;
};

// y ∈ {0, 1}. X [N, D] (add a column of ones for an intercept). MM: one Cholesky of XᵀX,
// then O(ND) per iteration.
LogisticFit logistic_mm(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const LogisticOptions& options = {});
// IRLS: a weighted least-squares solve (O(ND²)) per iteration.
LogisticFit logistic_irls(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const LogisticOptions& options = {});
// Multiclass, labels in {0..C−1}: W ← W + 2(XᵀX)⁻¹ G (I + 11ᵀ), G = Xᵀ(Y − P) (the
// inverse of Böhning's bound ½[I − 11ᵀ/C] ⊗ XᵀX, eq. 6.132).
LogisticFit multinomial_logistic_mm(const Eigen::MatrixXd& X, const Eigen::VectorXi& labels, int classes,
                                    const LogisticOptions& options = {});

// Log-likelihoods (6.129), for checks.
double logistic_log_likelihood(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Eigen::VectorXd& w);
double multinomial_log_likelihood(const Eigen::MatrixXd& X, const Eigen::VectorXi& labels, const Eigen::MatrixXd& W);

}  // namespace descent::bound
