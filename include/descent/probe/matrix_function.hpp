#pragma once
// Matrix functions applied to a vector by Lanczos: y = f(A) b for a symmetric operator A known
// only through products (Golub & Van Loan §10.2; Higham, "Functions of Matrices" §13.2):
//     K_m = span{b, Ab, …, A^{m−1}b} = range(V_m),  T_m = V_mᵀ A V_m,
//     f(A) b ≈ ‖b‖ V_m f(T_m) e_1,
// exact when K_m is invariant and accurate when f is well approximated by a polynomial of
// degree m − 1 on A's spectrum. The dynamics module uses f = √· to draw Σ^{1/2} z for a
// gradient-noise covariance Σ without forming the P×P matrix.
#include <cstdint>
#include <functional>
#include <string>

#include "descent/probe/linear_operator.hpp"

namespace descent::probe {

struct MatrixFunctionOptions {
  int max_steps = 60;  // m ≤ max_steps products (capped at P); memory (m + 1)·P·8 bytes
  // Stop when two successive approximations differ by ≤ tolerance·‖y‖ (checked every step).
  double tolerance = 1e-8;
  uint64_t seed = 0;  // only for the basis' internals; the result does not depend on it
};

struct MatrixFunctionResult {
  int steps = 0;           // products taken
  bool converged = false;  // met the tolerance (or the Krylov space became invariant)
  double last_change = 0;  // ‖y_m − y_{m−1}‖ / ‖y_m‖ at the end
};

// out = f(A) b. `f` is applied to the Ritz values of T_m (they lie in A's numerical range);
// b and out are 1-D float64 tensors of A.dimension() elements.
MatrixFunctionResult lanczos_matrix_function(LinearOperator& op, const std::function<double(double)>& f,
                                             const Tensor& b, Tensor& out, const MatrixFunctionOptions& options = {});

// out = A^{1/2} b for a positive semidefinite A (Ritz values below 0, round-off on a
// semidefinite operator, are clamped to 0).
MatrixFunctionResult lanczos_sqrt(LinearOperator& op, const Tensor& b, Tensor& out,
                                  const MatrixFunctionOptions& options = {});

}  // namespace descent::probe
