// Ground costs and the input checks that every transport solver shares, so that each bad
// input is refused once, with one message, whichever solver meets it first.
#include "descent/transport/cost.hpp"

#include <cmath>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"

namespace descent::transport {

Tensor checked_points(const Tensor& x, const char* name) {
  DESCENT_CHECK(x.defined(), InputError, "{}: no points given", name);
  DESCENT_CHECK(x.rank() == 1 || x.rank() == 2, InputError,
                "{}: points must be [n, d] (or [n] in 1-D), got shape {}", name, x.shape());
  DESCENT_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64, InputError,
                "{}: points must be float32 or float64, got {}", name, dtype_name(x.dtype()));
  Tensor points = (x.rank() == 1 ? x.reshape({x.numel(), 1}) : x);
  if (points.dtype() != DType::f64) points = points.astype(DType::f64);
  DESCENT_CHECK(points.dim(0) > 0, InputError, "{}: the point set is empty; give at least one point", name);
  DESCENT_CHECK(points.dim(1) > 0, InputError, "{}: points have dimension 0", name);
  const double* p = points.data<double>();
  for (int64_t k = 0; k < points.numel(); ++k)
    DESCENT_CHECK(std::isfinite(p[k]), InputError, "{}: coordinate {} of point {} is {}; points must be finite",
                  name, k % points.dim(1), k / points.dim(1), p[k]);
  return points;
}

Tensor checked_weights(const Tensor& w, int64_t n, const char* name) {
  DESCENT_CHECK(n > 0, InputError, "{}: the point set is empty; give at least one point", name);
  if (!w.defined()) return Tensor::full({n}, 1.0 / double(n), DType::f64);
  DESCENT_CHECK(w.numel() == n, InputError, "{}: {} weights given for {} points", name, w.numel(), n);
  Tensor weights = w.reshape({n}).astype(DType::f64);
  const double* p = weights.data<double>();
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    DESCENT_CHECK(std::isfinite(p[i]), InputError, "{}: weight {} is {}; weights must be finite", name, i, p[i]);
    DESCENT_CHECK(p[i] >= 0.0, InputError, "{}: weight {} is negative ({}); weights must be >= 0", name, i, p[i]);
    total += p[i];
  }
  DESCENT_CHECK(total > 0.0, InputError, "{}: all {} weights are zero; the total mass must be positive", name, n);
  return weights;
}

Tensor balanced_second_marginal(const Tensor& a, const Tensor& b, double rel_tol) {
  const double sa = sum_all(a), sb = sum_all(b);
  const double gap = std::abs(sa - sb) / std::max(sa, sb);
  DESCENT_CHECK(gap <= rel_tol, InputError,
                "marginals have different totals: sum(a) = {:.17g}, sum(b) = {:.17g} (they differ by {:.3g}, "
                "relatively {:.3g} > tolerance {:.3g}); normalize both to the same mass",
                sa, sb, sa - sb, gap, rel_tol);
  if (sa == sb) return b;
  return mul(b, sa / sb);
}

void check_cost(const Tensor& C, int64_t n, int64_t m) {
  DESCENT_CHECK(C.defined(), InputError, "cost matrix: not given");
  DESCENT_CHECK(C.rank() == 2 && C.dim(0) == n && C.dim(1) == m, InputError,
                "cost matrix: expected shape [{}, {}] (one row per source point, one column per target point), got {}",
                n, m, C.shape());
  DESCENT_CHECK(C.dtype() == DType::f64, InputError, "cost matrix: expected float64, got {}", dtype_name(C.dtype()));
  const double* c = C.data<double>();
  for (int64_t k = 0; k < n * m; ++k)
    DESCENT_CHECK(std::isfinite(c[k]), InputError, "cost matrix: entry [{}, {}] is {}; costs must be finite", k / m,
                  k % m, c[k]);
}

Tensor cost_matrix(const Tensor& x_in, const Tensor& y_in, double p) {
  DESCENT_CHECK(std::isfinite(p) && p > 0.0, InputError, "cost exponent p = {} must be positive", p);
  const Tensor x = checked_points(x_in, "x"), y = checked_points(y_in, "y");
  const int64_t n = x.dim(0), m = y.dim(0), d = x.dim(1);
  DESCENT_CHECK(y.dim(1) == d, InputError, "x has dimension {} but y has dimension {}; both clouds must live in the same space",
                d, y.dim(1));
  Tensor C = Tensor::empty({n, m}, DType::f64);
  const double *xp = x.data<double>(), *yp = y.data<double>();
  double* c = C.data<double>();
  for (int64_t i = 0; i < n; ++i) {
    const double* xi = xp + i * d;
    double* ci = c + i * m;
    for (int64_t j = 0; j < m; ++j) {
      const double* yj = yp + j * d;
      double s = 0.0;
      for (int64_t k = 0; k < d; ++k) s += (xi[k] - yj[k]) * (xi[k] - yj[k]);
      ci[j] = s;
    }
    if (p == 2.0) continue;
    if (p == 1.0) {
      for (int64_t j = 0; j < m; ++j) ci[j] = std::sqrt(ci[j]);
    } else {
      for (int64_t j = 0; j < m; ++j) ci[j] = std::pow(ci[j], 0.5 * p);
    }
  }
  return C;
}

}  // namespace descent::transport
