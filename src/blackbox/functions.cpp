#include "descent/blackbox/functions.hpp"

#include <cmath>
#include <numbers>

#include <Eigen/Dense>

#include "descent/core/error.hpp"

namespace descent::blackbox {

double sphere(const Vector& x) { return x.squaredNorm(); }

double ellipsoid(const Vector& x, double condition) {
  const Eigen::Index n = x.size();
  double f = 0.0;
  for (Eigen::Index i = 0; i < n; ++i)
    f += std::pow(condition, n > 1 ? double(i) / double(n - 1) : 0.0) * x[i] * x[i];
  return f;
}

double rosenbrock(const Vector& x) {
  double f = 0.0;
  for (Eigen::Index i = 0; i + 1 < x.size(); ++i) {
    const double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
    f += 100.0 * a * a + b * b;
  }
  return f;
}

double rastrigin(const Vector& x) {
  double f = 10.0 * double(x.size());
  for (double v : x) f += v * v - 10.0 * std::cos(2.0 * std::numbers::pi * v);
  return f;
}

double ackley(const Vector& x) {
  const double n = double(x.size());
  double s2 = 0.0, sc = 0.0;
  for (double v : x) {
    s2 += v * v;
    sc += std::cos(2.0 * std::numbers::pi * v);
  }
  return -20.0 * std::exp(-0.2 * std::sqrt(s2 / n)) - std::exp(sc / n) + 20.0 + std::numbers::e;
}

double styblinski_tang(const Vector& x) {
  double f = 0.0;
  for (double v : x) f += v * v * v * v - 16.0 * v * v + 5.0 * v;
  return 0.5 * f;
}

double branin(const Vector& x) {
  DESCENT_CHECK(x.size() == 2, InputError, "branin takes 2 coordinates, got {}", x.size());
  constexpr double pi = std::numbers::pi;
  const double a = 1.0, b = 5.1 / (4.0 * pi * pi), c = 5.0 / pi, r = 6.0, s = 10.0, t = 1.0 / (8.0 * pi);
  const double u = x[1] - b * x[0] * x[0] + c * x[0] - r;
  return a * u * u + s * (1.0 - t) * std::cos(x[0]) + s;
}

double hartmann6(const Vector& x) {
  DESCENT_CHECK(x.size() == 6, InputError, "hartmann6 takes 6 coordinates, got {}", x.size());
  static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
  static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                 {0.05, 10, 17, 0.1, 8, 14},
                                 {3, 3.5, 1.7, 10, 17, 8},
                                 {17, 8, 0.05, 10, 0.1, 14}};
  static const double P[4][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                 {2329, 4135, 8307, 3736, 1004, 9991},
                                 {2348, 1451, 3522, 2883, 3047, 6650},
                                 {4047, 8828, 8732, 5743, 1091, 381}};
  double f = 0.0;
  for (int i = 0; i < 4; ++i) {
    double e = 0.0;
    for (int j = 0; j < 6; ++j) {
      const double d = x[j] - 1e-4 * P[i][j];
      e += A[i][j] * d * d;
    }
    f -= alpha[i] * std::exp(-e);
  }
  return f;
}

int one_max(const std::vector<uint8_t>& bits) {
  int s = 0;
  for (auto b : bits) s += b != 0;
  return s;
}

int queens_attacking_pairs(const std::vector<int>& q) {
  int pairs = 0;
  const int n = static_cast<int>(q.size());
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (q[i] == q[j] || std::abs(q[i] - q[j]) == j - i) ++pairs;
  return pairs;
}

std::vector<std::string> benchmark_names() {
  return {"sphere", "ellipsoid", "rosenbrock", "rastrigin", "ackley", "styblinski_tang", "branin", "hartmann6"};
}

Benchmark make_benchmark(const std::string& name, Eigen::Index dim) {
  if (name == "branin") return {name, branin, Bounds(Vector{{-5.0, 0.0}}, Vector{{10.0, 15.0}}), 0.397887357729739};
  if (name == "hartmann6") return {name, hartmann6, Bounds::cube(6, 0.0, 1.0), -3.32236801141551};
  DESCENT_CHECK(dim >= 1, InputError, "benchmark '{}': dimension must be >= 1, got {}", name, dim);
  if (name == "sphere") return {name, sphere, Bounds::cube(dim, -5.0, 5.0), 0.0};
  if (name == "ellipsoid") return {name, [](const Vector& x) { return ellipsoid(x); }, Bounds::cube(dim, -5.0, 5.0), 0.0};
  if (name == "rosenbrock") return {name, rosenbrock, Bounds::cube(dim, -5.0, 10.0), 0.0};
  if (name == "rastrigin") return {name, rastrigin, Bounds::cube(dim, -5.12, 5.12), 0.0};
  if (name == "ackley") return {name, ackley, Bounds::cube(dim, -32.768, 32.768), 0.0};
  if (name == "styblinski_tang")
    return {name, styblinski_tang, Bounds::cube(dim, -5.0, 5.0), -39.16616570377142 * double(dim)};
  std::string known;
  for (const auto& n : benchmark_names()) known += (known.empty() ? "" : ", ") + n;
  fail<InputError>("unknown benchmark '{}' (known: {})", name, known);
}

Matrix random_rotation(Eigen::Index dim, Rng& rng) {
  Matrix g(dim, dim);
  for (auto& v : g.reshaped()) v = rng.normal();
  Eigen::HouseholderQR<Matrix> qr(g);
  Matrix q = qr.householderQ();
  const Matrix r = qr.matrixQR().triangularView<Eigen::Upper>();
  for (Eigen::Index i = 0; i < dim; ++i)
    if (r(i, i) < 0) q.col(i) *= -1.0;  // Haar measure (Mezzadri 2007)
  return q;
}

Function shifted_rotated(Function f, Vector shift, Matrix rotation) {
  return [f = std::move(f), shift = std::move(shift), rotation = std::move(rotation)](const Vector& x) {
    return f(rotation * (x - shift));
  };
}

}  // namespace descent::blackbox
