// Closed forms (Murphy §6.8.3.4). ⚠ The seed calls OT for c = |x - y| the
// "Kolmogorov–Smirnov statistic"; that is the sup-distance between CDFs, whereas the area
// between them (what eq. 6.209 gives for p = 1) is W_1.
#include "descent/transport/closed_form.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/transport/cost.hpp"

namespace descent::transport {
namespace {

using Matrix = Eigen::MatrixXd;
using Vector = Eigen::VectorXd;

Tensor values_1d(const Tensor& x, const char* name) {
  const Tensor pts = checked_points(x, name);
  DESCENT_CHECK(pts.dim(1) == 1, InputError, "{}: expected one-dimensional points, got shape {}", name, x.shape());
  return pts.reshape({pts.dim(0)});
}

std::vector<int64_t> sorted_order(const double* v, int64_t n) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [v](int64_t i, int64_t j) { return v[i] < v[j]; });
  return order;
}

Vector vector_of(const Tensor& t, const char* name) {
  DESCENT_CHECK(t.defined() && t.rank() == 1, InputError, "{}: expected a vector [d], got {}", name,
                t.defined() ? t.shape().str() : "none");
  const Tensor v = t.astype(DType::f64);
  Vector out = Eigen::Map<const Vector>(v.data<double>(), v.numel());
  DESCENT_CHECK(out.allFinite(), InputError, "{}: entries must be finite", name);
  return out;
}

Matrix covariance_of(const Tensor& t, const char* name) {
  DESCENT_CHECK(t.defined() && t.rank() == 2 && t.dim(0) == t.dim(1) && t.dim(0) > 0, InputError,
                "{}: expected a square covariance [d, d], got {}", name, t.defined() ? t.shape().str() : "none");
  const Tensor c = t.astype(DType::f64);
  Matrix S = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      c.data<double>(), c.dim(0), c.dim(1));
  DESCENT_CHECK(S.allFinite(), InputError, "{}: entries must be finite", name);
  const double scale = std::max(S.cwiseAbs().maxCoeff(), 1e-300);
  DESCENT_CHECK((S - S.transpose()).cwiseAbs().maxCoeff() <= 1e-10 * scale, InputError,
                "{}: a covariance must be symmetric", name);
  return 0.5 * (S + S.transpose());
}

// Symmetric square root (power ½) or inverse square root (power -½) by eigendecomposition.
// Eigenvalues below rounding level are clamped to zero (covariances are PSD).
Matrix symmetric_power(const Matrix& S, double power, const char* name) {
  Eigen::SelfAdjointEigenSolver<Matrix> eig(S);
  Vector lambda = eig.eigenvalues();
  const double floor = 1e-12 * std::max(lambda.cwiseAbs().maxCoeff(), 1e-300);
  DESCENT_CHECK(lambda.minCoeff() >= -floor, InputError,
                "{}: not positive semidefinite (eigenvalue {:.3g}); a covariance must be PSD", name, lambda.minCoeff());
  for (auto& l : lambda) {
    if (power < 0) {
      DESCENT_CHECK(l > floor, InputError,
                    "{}: singular (eigenvalue {:.3g}); the Monge map needs a positive definite source covariance", name,
                    l);
      l = std::pow(l, power);
    } else {
      l = l <= floor ? 0.0 : std::pow(l, power);
    }
  }
  return eig.eigenvectors() * lambda.asDiagonal() * eig.eigenvectors().transpose();
}

Tensor tensor_of(const Matrix& M) {
  Tensor t = Tensor::empty({M.rows(), M.cols()}, DType::f64);
  Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(t.data<double>(), M.rows(),
                                                                                     M.cols()) = M;
  return t;
}

}  // namespace

Transport1D transport_1d(const Tensor& x_in, const Tensor& y_in, const Tensor& a_in, const Tensor& b_in, double p) {
  DESCENT_CHECK(std::isfinite(p) && p > 0, InputError, "transport_1d: p = {} must be positive", p);
  const Tensor x = values_1d(x_in, "x"), y = values_1d(y_in, "y");
  const int64_t n = x.numel(), m = y.numel();
  const Tensor a = checked_weights(a_in, n, "a (source weights)");
  const Tensor b = balanced_second_marginal(a, checked_weights(b_in, m, "b (target weights)"));
  const double *xv = x.data<double>(), *yv = y.data<double>(), *av = a.data<double>(), *bv = b.data<double>();
  const std::vector<int64_t> ox = sorted_order(xv, n), oy = sorted_order(yv, m);
  // North-west corner rule on the sorted supports: the quantile coupling of eq. 6.209.
  Transport1D out;
  int64_t i = 0, j = 0;
  double left_a = av[ox[0]], left_b = bv[oy[0]];
  while (i < n && j < m) {
    const double moved = std::min(left_a, left_b);
    if (moved > 0) {
      out.source.push_back(ox[i]);
      out.target.push_back(oy[j]);
      out.mass.push_back(moved);
      out.cost += moved * std::pow(std::abs(xv[ox[i]] - yv[oy[j]]), p);
    }
    left_a -= moved;
    left_b -= moved;
    // Advance the side that ran out; at the very end both do (up to rounding).
    if (left_a <= left_b) {
      if (++i < n) left_a = av[ox[i]];
    } else {
      if (++j < m) left_b = bv[oy[j]];
    }
  }
  out.distance = std::pow(out.cost, 1.0 / p);
  return out;
}

Tensor monge_map_1d(const Tensor& source_samples, const Tensor& target_samples, const Tensor& points) {
  Tensor xs = values_1d(source_samples, "source_samples").clone(), ys = values_1d(target_samples, "target_samples").clone();
  const Tensor t = values_1d(points, "points");
  const int64_t n = xs.numel(), m = ys.numel(), k = t.numel();
  double *x = xs.data<double>(), *y = ys.data<double>();
  std::sort(x, x + n);
  std::sort(y, y + m);
  Tensor out = Tensor::empty(points.shape(), DType::f64);
  double* o = out.data<double>();
  const double* tv = t.data<double>();
  for (int64_t q = 0; q < k; ++q) {
    const double below = double(std::lower_bound(x, x + n, tv[q]) - x);
    const double equal = double(std::upper_bound(x, x + n, tv[q]) - x) - below;
    const double F = (below + 0.5 * equal) / double(n);  // in (0, 1) at a sample
    // Q_ν(u) = inf{y : F_ν(y) >= u}: the ⌈u m⌉-th smallest target sample.
    const int64_t rank = std::clamp<int64_t>(int64_t(std::ceil(F * double(m) - 1e-12)), 1, m);
    o[q] = y[rank - 1];
  }
  return out;
}

double gaussian_w2_squared(const Tensor& m1_in, const Tensor& S1_in, const Tensor& m2_in, const Tensor& S2_in) {
  const Vector m1 = vector_of(m1_in, "m1"), m2 = vector_of(m2_in, "m2");
  const Matrix S1 = covariance_of(S1_in, "S1"), S2 = covariance_of(S2_in, "S2");
  DESCENT_CHECK(m1.size() == m2.size() && S1.rows() == m1.size() && S2.rows() == m1.size(), InputError,
                "gaussian_w2_squared: dimensions differ (m1 {}, S1 {}, m2 {}, S2 {})", m1.size(), S1.rows(), m2.size(),
                S2.rows());
  const Matrix root1 = symmetric_power(S1, 0.5, "S1");
  symmetric_power(S2, 0.5, "S2");  // checks that S2 is PSD
  const Matrix cross = symmetric_power(root1 * S2 * root1, 0.5, "S1^½ S2 S1^½");
  const double bures = S1.trace() + S2.trace() - 2.0 * cross.trace();
  return (m1 - m2).squaredNorm() + std::max(bures, 0.0);
}

Tensor gaussian_monge_matrix(const Tensor& S1_in, const Tensor& S2_in) {
  const Matrix S1 = covariance_of(S1_in, "S1"), S2 = covariance_of(S2_in, "S2");
  DESCENT_CHECK(S1.rows() == S2.rows(), InputError, "gaussian_monge_matrix: S1 is {}x{} but S2 is {}x{}", S1.rows(),
                S1.cols(), S2.rows(), S2.cols());
  symmetric_power(S2, 0.5, "S2");
  const Matrix root1 = symmetric_power(S1, 0.5, "S1"), inv_root1 = symmetric_power(S1, -0.5, "S1");
  const Matrix A = inv_root1 * symmetric_power(root1 * S2 * root1, 0.5, "S1^½ S2 S1^½") * inv_root1;
  return tensor_of(0.5 * (A + A.transpose()));
}

Tensor gaussian_monge_map(const Tensor& x_in, const Tensor& m1_in, const Tensor& S1, const Tensor& m2_in,
                          const Tensor& S2) {
  const Tensor x = checked_points(x_in, "x");
  const Vector m1 = vector_of(m1_in, "m1"), m2 = vector_of(m2_in, "m2");
  const int64_t n = x.dim(0), d = x.dim(1);
  DESCENT_CHECK(m1.size() == d && m2.size() == d, InputError,
                "gaussian_monge_map: points have dimension {} but the means {} and {}", d, m1.size(), m2.size());
  const Tensor A = gaussian_monge_matrix(S1, S2);
  DESCENT_CHECK(A.dim(0) == d, InputError, "gaussian_monge_map: covariances are {}x{} for points of dimension {}",
                A.dim(0), A.dim(0), d);
  Tensor centered = x.clone();
  double* c = centered.data<double>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) c[i * d + k] -= m1[k];
  Tensor out = matmul(centered, A, false, true);
  double* o = out.data<double>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) o[i * d + k] += m2[k];
  return out;
}

}  // namespace descent::transport
