#include "descent/optim/problems.hpp"

#include <cmath>

#include <Eigen/Dense>

#include "descent/core/error.hpp"
#include "descent/core/rng.hpp"

namespace descent::optim::problems {

namespace {

using ConstMap = Eigen::Map<const Eigen::VectorXd>;
using Map = Eigen::Map<Eigen::VectorXd>;

ConstMap cvec(const Tensor& t, int64_t n, const char* who) {
  DESCENT_CHECK(t.numel() == n && t.dtype() == DType::f64, ShapeError,
                "{}: expected a float64 tensor of {} elements, got {} ({})", who, n, t.numel(), dtype_name(t.dtype()));
  return ConstMap(t.data<double>(), n);
}
Map mvec(Tensor& t, int64_t n, const char* who) {
  DESCENT_CHECK(t.numel() == n && t.dtype() == DType::f64, ShapeError,
                "{}: expected a float64 output of {} elements, got {} ({})", who, n, t.numel(), dtype_name(t.dtype()));
  return Map(t.data<double>(), n);
}
Tensor to_tensor(const Eigen::VectorXd& v) {
  Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::f64);
  Map(t.data<double>(), v.size()) = v;
  return t;
}
Eigen::MatrixXd to_matrix(const Tensor& x, const char* who) {
  DESCENT_CHECK(x.rank() == 2 && is_floating(x.dtype()), ShapeError, "{}: X must be a 2-D float tensor, got shape {}",
                who, x.shape());
  Eigen::MatrixXd m(x.dim(0), x.dim(1));
  const Tensor xd = x.astype(DType::f64);
  const double* p = xd.data<double>();
  for (int64_t i = 0; i < x.dim(0); ++i)
    for (int64_t j = 0; j < x.dim(1); ++j) m(i, j) = p[i * x.dim(1) + j];
  return m;
}
Eigen::VectorXd to_vector(const Tensor& y, int64_t n, const char* who) {
  DESCENT_CHECK(y.numel() == n && is_floating(y.dtype()), ShapeError, "{}: y must hold {} float values, has {}", who,
                n, y.numel());
  const Tensor yd = y.astype(DType::f64);
  return ConstMap(yd.data<double>(), n);
}
Eigen::MatrixXd random_rotation(int64_t n, Rng& rng) {
  Eigen::MatrixXd g(n, n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) g(i, j) = rng.normal();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
  return qr.householderQ();
}
Eigen::VectorXd log_spaced(int64_t n, double lo, double hi) {
  Eigen::VectorXd v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = n == 1 ? hi : lo * std::pow(hi / lo, static_cast<double>(i) / static_cast<double>(n - 1));
  return v;
}

}  // namespace

// ---------------------------------------------------------------- Rosenbrock

Rosenbrock::Rosenbrock(int64_t n) : n_(n) {
  DESCENT_CHECK(n >= 2, InputError, "Rosenbrock: dimension must be >= 2, got {}", n);
}

double Rosenbrock::value_and_gradient(const Tensor& theta, Tensor& gradient) {
  const auto x = cvec(theta, n_, "Rosenbrock");
  auto g = mvec(gradient, n_, "Rosenbrock");
  g.setZero();
  double f = 0.0;
  for (int64_t i = 0; i + 1 < n_; ++i) {
    const double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
    f += 100.0 * a * a + b * b;
    g[i] += -400.0 * a * x[i] - 2.0 * b;
    g[i + 1] += 200.0 * a;
  }
  return f;
}

void Rosenbrock::hessian_vector_product(const Tensor& theta, const Tensor& v, Tensor& hv) {
  const auto x = cvec(theta, n_, "Rosenbrock");
  const auto u = cvec(v, n_, "Rosenbrock");
  auto h = mvec(hv, n_, "Rosenbrock");
  h.setZero();
  // Each term couples (i, i+1): ∂²/∂x_i² = 1200 x_i² − 400 x_{i+1} + 2, ∂²/∂x_i∂x_{i+1} = −400 x_i,
  // ∂²/∂x_{i+1}² = 200.
  for (int64_t i = 0; i + 1 < n_; ++i) {
    const double hii = 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0, hij = -400.0 * x[i];
    h[i] += hii * u[i] + hij * u[i + 1];
    h[i + 1] += hij * u[i] + 200.0 * u[i + 1];
  }
}

Tensor Rosenbrock::minimizer() const { return Tensor::ones({n_}, DType::f64); }
Tensor Rosenbrock::classic_start() const {
  Tensor t = Tensor::empty({n_}, DType::f64);
  for (int64_t i = 0; i < n_; ++i) t.set(i, i % 2 == 0 ? -1.2 : 1.0);
  return t;
}

// ---------------------------------------------------------------- Quadratic

Quadratic::Quadratic(const Eigen::VectorXd& eigenvalues, const Eigen::VectorXd& minimizer, uint64_t seed, bool rotate)
    : eigenvalues_(eigenvalues), minimizer_(minimizer) {
  DESCENT_CHECK(eigenvalues.size() == minimizer.size() && eigenvalues.size() > 0, InputError,
                "Quadratic: {} eigenvalues for a minimizer of dimension {}", eigenvalues.size(), minimizer.size());
  DESCENT_CHECK(eigenvalues.minCoeff() > 0.0, InputError, "Quadratic: eigenvalues must be > 0, smallest is {}",
                eigenvalues.minCoeff());
  const int64_t n = eigenvalues.size();
  if (rotate) {
    Rng rng(seed);
    const Eigen::MatrixXd q = random_rotation(n, rng);
    a_ = q * eigenvalues.asDiagonal() * q.transpose();
    a_ = 0.5 * (a_ + a_.transpose());
  } else {
    a_ = eigenvalues.asDiagonal();
  }
}

Quadratic Quadratic::with_condition_number(int64_t n, double kappa, uint64_t seed, bool rotate) {
  DESCENT_CHECK(n >= 1 && kappa >= 1.0, InputError,
                "Quadratic::with_condition_number: need dimension >= 1 and condition number >= 1, got {} and {}", n,
                kappa);
  Rng rng(seed, 1);
  Eigen::VectorXd star(n);
  for (int64_t i = 0; i < n; ++i) star[i] = rng.normal();
  return Quadratic(log_spaced(n, 1.0, kappa), star, seed, rotate);
}

double Quadratic::value_and_gradient(const Tensor& theta, Tensor& gradient) {
  const int64_t n = dimension();
  const Eigen::VectorXd d = cvec(theta, n, "Quadratic") - minimizer_;
  auto g = mvec(gradient, n, "Quadratic");
  g.noalias() = a_ * d;
  return 0.5 * d.dot(g);
}

void Quadratic::hessian_vector_product(const Tensor&, const Tensor& v, Tensor& hv) {
  const int64_t n = dimension();
  mvec(hv, n, "Quadratic").noalias() = a_ * cvec(v, n, "Quadratic");
}

Tensor Quadratic::minimizer() const { return to_tensor(minimizer_); }

// ---------------------------------------------------------------- LeastSquares

LeastSquares::LeastSquares(const Tensor& x, const Tensor& y)
    : x_(to_matrix(x, "LeastSquares")), y_(to_vector(y, x.dim(0), "LeastSquares")) {}

LeastSquares LeastSquares::ill_conditioned(int64_t n, int64_t d, double kappa, uint64_t seed, double noise) {
  DESCENT_CHECK(n >= d && d >= 1 && kappa >= 1.0, InputError,
                "LeastSquares::ill_conditioned: need examples >= dimension >= 1 and κ >= 1, got {}, {}, {}", n, d,
                kappa);
  Rng rng(seed);
  Eigen::MatrixXd g(n, d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) g(i, j) = rng.normal();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
  const Eigen::MatrixXd u = qr.householderQ() * Eigen::MatrixXd::Identity(n, d);
  const Eigen::MatrixXd v = random_rotation(d, rng);
  // Singular values s with s_max²/s_min² = κ, scaled by √n so that XᵀX/n has eigenvalues in [1, κ].
  const Eigen::VectorXd s = log_spaced(d, 1.0, std::sqrt(kappa)) * std::sqrt(static_cast<double>(n));
  const Eigen::MatrixXd x = u * s.asDiagonal() * v.transpose();
  Eigen::VectorXd truth(d);
  for (int64_t j = 0; j < d; ++j) truth[j] = rng.normal();
  Eigen::VectorXd y = x * truth;
  for (int64_t i = 0; i < n; ++i) y[i] += noise * rng.normal();
  Tensor xt = Tensor::empty({n, d}, DType::f64), yt = to_tensor(y);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) xt.set(i * d + j, x(i, j));
  return LeastSquares(xt, yt);
}

double LeastSquares::value_and_gradient(const Tensor& theta, Tensor& gradient) {
  const int64_t d = dimension();
  const Eigen::VectorXd r = x_ * cvec(theta, d, "LeastSquares") - y_;
  const double n = static_cast<double>(x_.rows());
  mvec(gradient, d, "LeastSquares").noalias() = x_.transpose() * r / n;
  return 0.5 * r.squaredNorm() / n;
}

void LeastSquares::hessian_vector_product(const Tensor&, const Tensor& v, Tensor& hv) {
  const int64_t d = dimension();
  mvec(hv, d, "LeastSquares").noalias() =
      x_.transpose() * (x_ * cvec(v, d, "LeastSquares")) / static_cast<double>(x_.rows());
}

double LeastSquares::batch_value_and_gradient(const Tensor& theta, std::span<const int64_t> idx, Tensor& gradient) {
  const int64_t d = dimension();
  const auto th = cvec(theta, d, "LeastSquares");
  auto g = mvec(gradient, d, "LeastSquares");
  g.setZero();
  double f = 0.0;
  for (const int64_t i : idx) {
    DESCENT_CHECK(i >= 0 && i < x_.rows(), InputError, "LeastSquares: example index {} outside [0, {})", i, x_.rows());
    const double r = x_.row(i).dot(th) - y_[i];
    f += 0.5 * r * r;
    g.noalias() += r * x_.row(i).transpose();
  }
  const double m = static_cast<double>(idx.size());
  g /= m;
  return f / m;
}

Tensor LeastSquares::minimizer() const { return to_tensor(x_.colPivHouseholderQr().solve(y_)); }

// ---------------------------------------------------------------- LogisticRegression

namespace {
double log1p_exp(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }
double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}
}  // namespace

LogisticRegression::LogisticRegression(const Tensor& x, const Tensor& y, double l2)
    : x_(to_matrix(x, "LogisticRegression")), y_(to_vector(y, x.dim(0), "LogisticRegression")), l2_(l2) {
  DESCENT_CHECK(std::isfinite(l2) && l2 >= 0.0, InputError, "LogisticRegression: l2 must be >= 0, got {}", l2);
  for (int64_t i = 0; i < y_.size(); ++i)
    DESCENT_CHECK(y_[i] == 0.0 || y_[i] == 1.0, InputError, "LogisticRegression: label {} of example {} is not 0 or 1",
                  y_[i], i);
}

double LogisticRegression::value_and_gradient(const Tensor& theta, Tensor& gradient) {
  const int64_t d = dimension();
  const auto th = cvec(theta, d, "LogisticRegression");
  const Eigen::VectorXd z = x_ * th;
  Eigen::VectorXd r(z.size());
  double f = 0.0;
  for (int64_t i = 0; i < z.size(); ++i) {
    f += log1p_exp(z[i]) - y_[i] * z[i];
    r[i] = sigmoid(z[i]) - y_[i];
  }
  const double n = static_cast<double>(x_.rows());
  mvec(gradient, d, "LogisticRegression").noalias() = x_.transpose() * r / n + l2_ * th;
  return f / n + 0.5 * l2_ * th.squaredNorm();
}

void LogisticRegression::hessian_vector_product(const Tensor& theta, const Tensor& v, Tensor& hv) {
  // H = Xᵀ diag(p(1−p)) X / n + l2 I.
  const int64_t d = dimension();
  const auto th = cvec(theta, d, "LogisticRegression");
  const auto u = cvec(v, d, "LogisticRegression");
  const Eigen::VectorXd z = x_ * th;
  Eigen::VectorXd xu = x_ * u;
  for (int64_t i = 0; i < z.size(); ++i) {
    const double p = sigmoid(z[i]);
    xu[i] *= p * (1.0 - p);
  }
  mvec(hv, d, "LogisticRegression").noalias() = x_.transpose() * xu / static_cast<double>(x_.rows()) + l2_ * u;
}

double LogisticRegression::batch_value_and_gradient(const Tensor& theta, std::span<const int64_t> idx,
                                                    Tensor& gradient) {
  const int64_t d = dimension();
  const auto th = cvec(theta, d, "LogisticRegression");
  auto g = mvec(gradient, d, "LogisticRegression");
  g.setZero();
  double f = 0.0;
  for (const int64_t i : idx) {
    DESCENT_CHECK(i >= 0 && i < x_.rows(), InputError, "LogisticRegression: example index {} outside [0, {})", i,
                  x_.rows());
    const double z = x_.row(i).dot(th);
    f += log1p_exp(z) - y_[i] * z;
    g.noalias() += (sigmoid(z) - y_[i]) * x_.row(i).transpose();
  }
  const double m = static_cast<double>(idx.size());
  g /= m;
  g += l2_ * th;
  return f / m + 0.5 * l2_ * th.squaredNorm();
}

double LogisticRegression::accuracy(const Tensor& theta) const {
  const Eigen::VectorXd z = x_ * cvec(theta, dimension(), "LogisticRegression");
  int64_t right = 0;
  for (int64_t i = 0; i < z.size(); ++i) right += (z[i] > 0) == (y_[i] == 1.0);
  return static_cast<double>(right) / static_cast<double>(z.size());
}

}  // namespace descent::optim::problems
