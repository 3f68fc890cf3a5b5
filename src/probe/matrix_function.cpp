#include "descent/probe/matrix_function.hpp"

#include <algorithm>
#include <cmath>

#include <Eigen/Dense>

#include "descent/core/ops.hpp"
#include "krylov.hpp"

namespace descent::probe {

MatrixFunctionResult lanczos_matrix_function(LinearOperator& op, const std::function<double(double)>& f,
                                             const Tensor& b, Tensor& out, const MatrixFunctionOptions& options) {
  DESCENT_CHECK(op.symmetric(), InputError, "lanczos_matrix_function: '{}' is not symmetric", op.name());
  DESCENT_CHECK(b.rank() == 1 && b.numel() == op.dimension() && b.dtype() == DType::f64 && out.dtype() == DType::f64 &&
                    out.numel() == op.dimension(),
                ShapeError, "lanczos_matrix_function: b and out must be float64 vectors of {} elements",
                op.dimension());
  DESCENT_CHECK(options.max_steps >= 1 && options.tolerance >= 0, InputError,
                "lanczos_matrix_function: needs max_steps ≥ 1 and tolerance ≥ 0 (got {}, {})", options.max_steps,
                options.tolerance);
  MatrixFunctionResult result;
  const double b_norm = norm(b);
  DESCENT_CHECK(std::isfinite(b_norm), InputError, "lanczos_matrix_function: b is not finite");
  if (b_norm == 0.0) {
    out.fill(0.0);
    result.converged = true;
    return result;
  }
  const int steps = int(std::min<int64_t>(options.max_steps, op.dimension()));
  detail::Products products(op);
  detail::LanczosBasis basis(products, steps);
  Rng rng(options.seed);
  basis.start(b);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig;
  Eigen::VectorXd coefficients, previous;
  // Coefficients c_m = ‖b‖ f(T_m) e_1 in the orthonormal basis, so ‖y_m − y_{m−1}‖ = ‖c_m − [c_{m−1}; 0]‖.
  auto coefficients_of = [&](int m) {
    eig.compute(basis.projected().topLeftCorner(m, m));
    Eigen::VectorXd fe = eig.eigenvectors().row(0).transpose();
    for (Eigen::Index j = 0; j < fe.size(); ++j) fe(j) *= f(eig.eigenvalues()(j));
    return Eigen::VectorXd(b_norm * (eig.eigenvectors() * fe));
  };
  while (basis.size() < steps) {
    basis.extend(rng);
    const bool invariant = basis.last_was_breakdown();
    coefficients = coefficients_of(basis.size());
    result.steps = basis.size();
    if (previous.size() > 0) {
      Eigen::VectorXd diff = coefficients;
      diff.head(previous.size()) -= previous;
      const double c = coefficients.norm();
      result.last_change = c > 0 ? diff.norm() / c : diff.norm();
      if (result.last_change <= options.tolerance) result.converged = true;
    }
    if (invariant) result.converged = true;
    if (result.converged) break;
    previous = coefficients;
  }
  DESCENT_CHECK(coefficients.allFinite(), NonFiniteError,
                "lanczos_matrix_function: f(T) is not finite (f undefined on the Ritz values of '{}'?)", op.name());
  basis.combine(coefficients, out);
  return result;
}

MatrixFunctionResult lanczos_sqrt(LinearOperator& op, const Tensor& b, Tensor& out, const MatrixFunctionOptions& options) {
  return lanczos_matrix_function(op, [](double x) { return std::sqrt(std::max(x, 0.0)); }, b, out, options);
}

}  // namespace descent::probe
