#pragma once
// Curvature: extreme eigenpairs of a symmetric LinearOperator (the Hessian, a block of it,
// the Fisher, the gradient-noise covariance) without ever forming the matrix.
//
//   lanczos_eigenpairs  thick-restart Lanczos with full reorthogonalization (Wu & Simon 2000;
//                       Golub & Van Loan §10.1): top-k, bottom-k or largest-magnitude pairs,
//                       stopping when every wanted pair has ‖Av − λv‖ ≤ tol·|λ|.
//   power_iteration     power iteration with deflation, as PyHessian does (Yao et al. 2020),
//                       kept as the reference it is compared with.
//   condition_number    λ_max / λ_min from the two ends.
//
// Every result says, per eigenpair, its residual ‖Av − λv‖, whether it met the tolerance and
// how many products it took; a result that did not converge says so (`converged` false)
// instead of returning a number that looks final.
#include <cstdint>
#include <string>
#include <vector>

#include "descent/probe/linear_operator.hpp"

namespace descent::probe {

enum class SpectrumEnd {
  largest,            // algebraically largest (top-k; "sharpness" for k = 1)
  smallest,           // algebraically smallest (bottom-k; most negative curvature)
  largest_magnitude,  // largest |λ| (what power iteration converges to)
};
const char* to_string(SpectrumEnd end);

struct Eigenpair {
  double value = 0.0;
  Tensor vector;                 // unit-norm, float64, [P]
  double residual_norm = 0.0;    // ‖A v − λ v‖
  double relative_residual = 0;  // residual_norm / |λ| (infinite when λ = 0)
  bool converged = false;        // met the method's stopping rule
  int64_t matvecs_to_converge = -1;  // products used when it last started meeting it; -1: never
};

struct EigenResult {
  std::vector<Eigenpair> pairs;  // ordered from the requested end of the spectrum
  int64_t matvecs = 0;           // products with the operator (HVPs for a Hessian)
  int64_t verification_matvecs = 0;  // extra products spent recomputing residuals, if asked
  int restarts = 0;
  bool converged = false;  // every requested pair converged
  std::string method;
  std::string operator_name;
  // One line per pair: value, residual, relative residual, converged, products.
  std::string summary() const;
};

struct LanczosOptions {
  int num_eigenpairs = 1;  // k
  SpectrumEnd which = SpectrumEnd::largest;
  // A pair has converged when ‖Av − λv‖ ≤ tolerance · max(|λ|, zero_floor · ‖A‖), with ‖A‖
  // estimated by the largest |Ritz value|; the floor keeps eigenvalues ≈ 0 reachable.
  double tolerance = 1e-6;
  double zero_floor = 1e-8;
  // Basis vectors kept before a thick restart; 0 picks max(2k + 30, 60) (capped at P). The
  // basis takes (max_basis_size + 1)·P·8 bytes: this is the memory knob.
  int max_basis_size = 0;
  int64_t max_matvecs = 3000;
  uint64_t seed = 0;
  Tensor start;  // optional start vector ([P]); random normal from `seed` when undefined
  // Recompute every residual as ‖Av − λv‖ with k extra products (counted apart). Without it the
  // residual is Lanczos' β|e_mᵀy|, which full reorthogonalization keeps equal to the true
  // residual up to O(ε‖A‖).
  bool verify_residuals = false;
};
EigenResult lanczos_eigenpairs(LinearOperator& op, const LanczosOptions& options = {});

struct PowerIterationOptions {
  int num_eigenpairs = 1;
  int max_iterations = 100;  // per eigenpair (PyHessian's maxIter)
  // PyHessian's rule: stop when |λ_t − λ_{t−1}| / (|λ_{t−1}| + 1e-6) < tolerance. With
  // stop_on_residual, stop instead when ‖Av − λv‖ ≤ tolerance·|λ|.
  double tolerance = 1e-3;
  bool stop_on_residual = false;
  uint64_t seed = 0;
};
// Power iteration with deflation: pair i iterates v ← A v / ‖A v‖ with v kept orthogonal to
// the pairs already found, so it converges towards the largest-magnitude eigenvalues. The
// returned vector is the one whose product was taken, so its residual is exact and free.
// Deflation inherits the error of earlier pairs: pair i's residual cannot fall much below
// pair 1's, so with stop_on_residual later pairs of smaller |λ| may never converge.
EigenResult power_iteration(LinearOperator& op, const PowerIterationOptions& options = {});

struct ConditionNumber {
  double largest = 0.0;   // λ_max
  double smallest = 0.0;  // λ_min
  // λ_max / λ_min when the operator is positive definite (λ_min > 0); +inf otherwise, where
  // the ratio of extreme eigenvalues is not a condition number.
  double condition_number = 0.0;
  bool positive_definite = false;
  bool converged = false;
  EigenResult top, bottom;
};
// Runs Lanczos at both ends (options.num_eigenpairs and options.which are overridden).
ConditionNumber condition_number(LinearOperator& op, LanczosOptions options = {});

// How two subspaces, each given by orthonormal vectors (e.g. the top eigenvectors of H and of
// the noise covariance Σ), line up: the cosines of their principal angles (singular values of
// AᵀB, descending) and ‖AᵀB‖_F² / min(k_a, k_b) ∈ [0, 1] (1: one contains the other).
struct SubspaceAlignment {
  std::vector<double> cosines;
  double mean_squared_cosine = 0.0;
};
SubspaceAlignment subspace_alignment(const std::vector<Tensor>& a, const std::vector<Tensor>& b);
std::vector<Tensor> eigenvectors(const EigenResult& result);

}  // namespace descent::probe
