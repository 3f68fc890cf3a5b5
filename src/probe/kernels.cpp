// Infinite-width NNGP and NTK of fully connected networks (Arora §9.4), see kernels.hpp.
#include "descent/probe/kernels.hpp"

#include <cblas.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/thread_pool.hpp"

namespace descent::probe {
namespace {

constexpr double kPi = std::numbers::pi;

// ρ = k12 / sqrt(k11 k22), clamped to [-1, 1]; 0 when a variance is 0 (the input is then
// a constant and any ρ gives the same expectation). sqrt(k11 k22) is exactly k for
// k11 = k22 = k12 = k (IEEE sqrt of a square), so the diagonal has ρ = 1 exactly; where
// the product would overflow, sqrt(k11) sqrt(k22) is used, and inf/inf (overflowed
// scales at extreme depth·variance) counts as fully correlated.
inline double correlation(double k11, double s1, double k22, double s2, double k12) {
  const double p = k11 * k22;
  const double s = (std::isfinite(p) && p >= std::numeric_limits<double>::min()) ? std::sqrt(p) : s1 * s2;
  if (!(s > 0.0)) return 0.0;
  const double r = k12 / s;
  if (std::isnan(r)) return k12 >= 0.0 ? 1.0 : -1.0;
  return std::clamp(r, -1.0, 1.0);
}

// ReLU: arc-cosine kernels of order 1 and 0 (Cho & Saul 2009), θ = arccos ρ:
//   E[φ(u)φ(v)]   = s1 s2 (sin θ + (π − θ) cos θ) / (2π),
//   E[φ'(u)φ'(v)] = (π − θ) / (2π)        (Arora eq. 9.8; the derivative at 0 is 0).
struct ReluLayer {
  GaussianExpectations operator()(double k11, double s1, double k22, double s2, double k12) const {
    const double rho = correlation(k11, s1, k22, s2, k12);
    const double theta = std::acos(rho);
    const double sin_theta = std::sqrt((1.0 - rho) * (1.0 + rho));
    return {s1 * s2 * (sin_theta + (kPi - theta) * rho) * (0.5 / kPi), (kPi - theta) * (0.5 / kPi)};
  }
};

// erf (Williams 1997, "Computing with infinite networks"): with a = 1 + 2 k11, b = 1 + 2 k22,
//   E[erf(u)erf(v)]   = (2/π) arcsin(2 k12 / sqrt(a b)),   k12 = ρ s1 s2,
//   E[erf'(u)erf'(v)] = (4/π) det(I + 2Σ)^{-1/2},  erf'(z) = (2/√π) e^{-z²},
// det(I + 2Σ) = 1 + 2 k11 + 2 k22 + 4 (k11 k22 − k12²), the last term written as
// 4 (s1 s2 sin θ)² so that it is exactly 0 for identical inputs and never inf·0.
struct ErfLayer {
  GaussianExpectations operator()(double k11, double s1, double k22, double s2, double k12) const {
    // k12 enters through the clamped ρ: a k12 a rounding above sqrt(k11 k22) would
    // otherwise grow layer by layer in the chaotic phase (large σ_w²) and break |K12| ≤ sqrt(K11 K22).
    const double rho = correlation(k11, s1, k22, s2, k12);
    const double r = std::clamp(2.0 * rho * s1 * s2 / (std::sqrt(1.0 + 2.0 * k11) * std::sqrt(1.0 + 2.0 * k22)), -1.0, 1.0);
    const double q = s1 * s2 * std::sqrt((1.0 - rho) * (1.0 + rho));
    const double det = 1.0 + 2.0 * k11 + 2.0 * k22 + 4.0 * q * q;
    return {(2.0 / kPi) * std::asin(r), (4.0 / kPi) / std::sqrt(det)};
  }
};

// Any activation: 2-D Gauss–Hermite quadrature with the Cholesky factor of the 2x2
// covariance, u = s1 z1, v = s2 (ρ z1 + sqrt(1 − ρ²) z2), z1, z2 i.i.d. N(0, 1).
struct QuadratureLayer {
  std::function<double(double)> phi, dphi;  // dphi empty: the derivative term is not needed
  NormalQuadrature rule;

  GaussianExpectations operator()(double k11, double s1, double k22, double s2, double k12) const {
    const double rho = correlation(k11, s1, k22, s2, k12);
    const double c = std::sqrt((1.0 - rho) * (1.0 + rho));
    const size_t n = rule.nodes.size();
    double act = 0.0, der = 0.0;
    for (size_t a = 0; a < n; ++a) {
      const double u = s1 * rule.nodes[a];
      double inner_act = 0.0, inner_der = 0.0;
      for (size_t b = 0; b < n; ++b) {
        const double v = s2 * (rho * rule.nodes[a] + c * rule.nodes[b]);
        inner_act += rule.weights[b] * phi(v);
        if (dphi) inner_der += rule.weights[b] * dphi(v);
      }
      act += rule.weights[a] * phi(u) * inner_act;
      if (dphi) der += rule.weights[a] * dphi(u) * inner_der;
    }
    return {act, der};
  }
};

QuadratureLayer quadrature_layer(const KernelSpec& spec, bool need_derivative) {
  QuadratureLayer q;
  if (spec.activation == Activation::tanh) {
    q.phi = [](double z) { return std::tanh(z); };
    q.dphi = [](double z) {
      const double t = std::tanh(z);
      return 1.0 - t * t;
    };
  } else {
    DESCENT_CHECK(static_cast<bool>(spec.custom_activation), InputError,
                  "KernelSpec: activation is custom but custom_activation is empty (set it to φ)");
    q.phi = spec.custom_activation;
    if (need_derivative) {
      DESCENT_CHECK(static_cast<bool>(spec.custom_derivative), InputError,
                    "KernelSpec: the NTK of a custom activation needs custom_derivative (set it to φ')");
      q.dphi = spec.custom_derivative;
    }
  }
  q.rule = normal_quadrature(spec.quadrature_points, spec.quadrature_rule);
  return q;
}

void check_spec(const KernelSpec& spec) {
  DESCENT_CHECK(spec.depth >= 0, InputError, "KernelSpec: depth = {} must be >= 0 (hidden layers)", spec.depth);
  DESCENT_CHECK(std::isfinite(spec.weight_variance) && spec.weight_variance >= 0.0, InputError,
                "KernelSpec: weight_variance σ_w² = {} must be finite and >= 0", spec.weight_variance);
  DESCENT_CHECK(std::isfinite(spec.bias_variance) && spec.bias_variance >= 0.0, InputError,
                "KernelSpec: bias_variance σ_b² = {} must be finite and >= 0", spec.bias_variance);
  DESCENT_CHECK(spec.quadrature_points >= 1 && spec.quadrature_points <= 1000, InputError,
                "KernelSpec: quadrature_points = {} must be in [1, 1000]", spec.quadrature_points);
}

double squared_norm(const double* x, int64_t d) {
  double sq = 0.0;
  for (int64_t k = 0; k < d; ++k) sq += x[k] * x[k];
  return sq;
}

Tensor as_f64_matrix(const Tensor& X, const char* what) {
  DESCENT_CHECK(X.defined() && X.rank() == 2, ShapeError, "{}: expects a 2-D input [n, d], got {}", what,
                X.defined() ? X.shape().str() : std::string("an undefined tensor"));
  Tensor x = X.dtype() == DType::f64 ? contiguous_copy(X) : X.astype(DType::f64);
  DESCENT_CHECK(all_finite(x), InputError, "{}: the input {} holds NaN or infinite values", what, X.shape());
  return x;
}

// K^l(x, x) for l = 1..L, laid out [l-1][i], and their square roots.
template <class Layer>
void diagonal_recursion(const KernelSpec& spec, const Layer& layer, const Tensor& X, std::vector<double>& diag,
                        std::vector<double>& sqrt_diag) {
  const int64_t n = X.dim(0), d = X.dim(1);
  const int L = std::max(spec.depth, 1);
  diag.assign(static_cast<size_t>(L * n), 0.0);
  sqrt_diag.assign(diag.size(), 0.0);
  const double* x = X.data<double>();
  for (int64_t i = 0; i < n; ++i) {
    double kii = (d > 0 ? spec.weight_variance / double(d) * squared_norm(x + i * d, d) : 0.0) + spec.bias_variance;
    for (int l = 0; l < L; ++l) {
      diag[l * n + i] = kii;
      sqrt_diag[l * n + i] = std::sqrt(kii);
      const double s = std::sqrt(kii);
      kii = spec.weight_variance * layer(kii, s, kii, s, kii).activation + spec.bias_variance;
    }
  }
}

// Runs the recursion of kernels.hpp on rows [row_begin, row_end) of the pairs (X1, X2).
// base holds σ_w² X1 X2ᵀ/d. Rows are written into nngp / ntk (either may be null); in a
// Gram computation only the columns j >= i are computed.
template <class Layer>
void kernel_rows(const KernelSpec& spec, const Layer& layer, const double* base, int64_t n2, bool gram,
                 const std::vector<double>& diag1, const std::vector<double>& sqrt_diag1,
                 const std::vector<double>& diag2, const std::vector<double>& sqrt_diag2, int64_t n1,
                 int64_t row_begin, int64_t row_end, double* nngp, double* ntk) {
  const double sw2 = spec.weight_variance, sb2 = spec.bias_variance;
  thread_local std::vector<double> k_buffer, theta_buffer;
  for (int64_t i = row_begin; i < row_end; ++i) {
    const int64_t j0 = gram ? i : 0, m = n2 - j0;
    double* k = nngp ? nngp + i * n2 + j0 : (k_buffer.resize(size_t(m)), k_buffer.data());
    double* theta = ntk ? ntk + i * n2 + j0 : (theta_buffer.resize(size_t(m)), theta_buffer.data());
    const double* b = base + i * n2 + j0;
    for (int64_t j = 0; j < m; ++j) {
      k[j] = b[j] + sb2;
      theta[j] = k[j];
    }
    for (int l = 0; l < spec.depth; ++l) {
      const double k11 = diag1[l * n1 + i], s1 = sqrt_diag1[l * n1 + i];
      const double* k22 = diag2.data() + l * n2 + j0;
      const double* s2 = sqrt_diag2.data() + l * n2 + j0;
      if (ntk) {
        for (int64_t j = 0; j < m; ++j) {
          const GaussianExpectations e = layer(k11, s1, k22[j], s2[j], k[j]);
          k[j] = sw2 * e.activation + sb2;
          theta[j] = k[j] + sw2 * e.derivative * theta[j];
        }
      } else {
        for (int64_t j = 0; j < m; ++j) k[j] = sw2 * layer(k11, s1, k22[j], s2[j], k[j]).activation + sb2;
      }
    }
  }
}

template <class Layer>
void run_recursion(const KernelSpec& spec, const Layer& layer, const Tensor& X1, const Tensor& X2, bool gram,
                   double* base, double* nngp, double* ntk) {
  const int64_t n1 = X1.dim(0), n2 = X2.dim(0);
  std::vector<double> diag1, sqrt_diag1, diag2, sqrt_diag2;
  diagonal_recursion(spec, layer, X1, diag1, sqrt_diag1);
  if (gram) {
    diag2 = diag1;
    sqrt_diag2 = sqrt_diag1;
  } else {
    diagonal_recursion(spec, layer, X2, diag2, sqrt_diag2);
  }
  // Blocks of rows, balanced by the pool's dynamic scheduling.
  const int64_t rows_per_task = 8, tasks = (n1 + rows_per_task - 1) / rows_per_task;
  global_thread_pool().parallel_for(tasks, [&](int64_t t) {
    kernel_rows(spec, layer, base, n2, gram, diag1, sqrt_diag1, diag2, sqrt_diag2, n1, t * rows_per_task,
                std::min(n1, (t + 1) * rows_per_task), nngp, ntk);
  });
}

// Copies the upper triangle onto the lower one, in cache-sized tiles.
void mirror_upper_triangle(double* a, int64_t n) {
  constexpr int64_t tile = 64;
  const int64_t tiles = (n + tile - 1) / tile;
  global_thread_pool().parallel_for(tiles, [&](int64_t bi) {
    const int64_t i0 = bi * tile, i1 = std::min(n, i0 + tile);
    for (int64_t j0 = 0; j0 <= i0; j0 += tile) {
      const int64_t j1 = std::min(n, j0 + tile);
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = j0; j < std::min(j1, i); ++j) a[i * n + j] = a[j * n + i];
    }
  });
}

NngpAndNtk compute(const KernelSpec& spec, const Tensor& X1_in, const Tensor* X2_in, bool want_nngp,
                   bool want_ntk) {
  check_spec(spec);
  const Tensor X1 = as_f64_matrix(X1_in, "infinite-width kernel, X1");
  const bool gram = X2_in == nullptr;
  const Tensor X2 = gram ? X1 : as_f64_matrix(*X2_in, "infinite-width kernel, X2");
  DESCENT_CHECK(X1.dim(1) == X2.dim(1), ShapeError,
                "infinite-width kernel: X1 {} and X2 {} have different input dimensions", X1.shape(), X2.shape());
  const int64_t n1 = X1.dim(0), n2 = X2.dim(0), d = X1.dim(1);

  NngpAndNtk out;
  if (want_nngp) out.nngp = Tensor::empty({n1, n2}, DType::f64);
  if (want_ntk) out.ntk = Tensor::empty({n1, n2}, DType::f64);
  if (n1 == 0 || n2 == 0) return out;
  // σ_w² X1 X2ᵀ / d goes into one output and is overwritten row by row by the recursion.
  Tensor& base_tensor = want_ntk ? out.ntk : out.nngp;
  double* base = base_tensor.data<double>();
  const double alpha = d > 0 ? spec.weight_variance / double(d) : 0.0;
  if (d == 0) {
    base_tensor.fill(0.0);
  } else if (gram) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, int(n1), int(d), alpha, X1.data<double>(), int(d), 0.0,
                base, int(n1));
    // The diagonal from the same arithmetic as diagonal_recursion's K^1(x, x), so that
    // ρ = 1 exactly there (arccos near 1 would turn a rounding ulp into a 1e-8 error).
    const double* x = X1.data<double>();
    for (int64_t i = 0; i < n1; ++i) base[i * n1 + i] = alpha * squared_norm(x + i * d, d);
  } else {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n1), int(n2), int(d), alpha, X1.data<double>(),
                int(d), X2.data<double>(), int(d), 0.0, base, int(n2));
  }
  double* nngp = want_nngp ? out.nngp.data<double>() : nullptr;
  double* ntk = want_ntk ? out.ntk.data<double>() : nullptr;
  switch (spec.activation) {
    case Activation::relu: run_recursion(spec, ReluLayer{}, X1, X2, gram, base, nngp, ntk); break;
    case Activation::erf: run_recursion(spec, ErfLayer{}, X1, X2, gram, base, nngp, ntk); break;
    case Activation::tanh:
    case Activation::custom:
      run_recursion(spec, quadrature_layer(spec, want_ntk && spec.depth > 0), X1, X2, gram, base, nngp, ntk);
      break;
  }
  if (gram) {
    if (nngp) mirror_upper_triangle(nngp, n1);
    if (ntk) mirror_upper_triangle(ntk, n1);
  }
  return out;
}

}  // namespace

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::relu: return "relu";
    case Activation::erf: return "erf";
    case Activation::tanh: return "tanh";
    case Activation::custom: return "custom";
  }
  return "?";
}

Tensor nngp_kernel(const KernelSpec& spec, const Tensor& X1, const Tensor& X2) {
  return compute(spec, X1, &X2, true, false).nngp;
}
Tensor ntk_kernel(const KernelSpec& spec, const Tensor& X1, const Tensor& X2) {
  return compute(spec, X1, &X2, false, true).ntk;
}
Tensor nngp_kernel(const KernelSpec& spec, const Tensor& X) { return compute(spec, X, nullptr, true, false).nngp; }
Tensor ntk_kernel(const KernelSpec& spec, const Tensor& X) { return compute(spec, X, nullptr, false, true).ntk; }

NngpAndNtk nngp_and_ntk(const KernelSpec& spec, const Tensor& X1, const Tensor& X2) {
  return compute(spec, X1, X2.defined() ? &X2 : nullptr, true, true);
}

GaussianExpectations gaussian_expectations(const KernelSpec& spec, double var_u, double cov_uv, double var_v) {
  check_spec(spec);
  DESCENT_CHECK(var_u >= 0.0 && var_v >= 0.0, InputError,
                "gaussian_expectations: variances {} and {} must be >= 0", var_u, var_v);
  const double s1 = std::sqrt(var_u), s2 = std::sqrt(var_v);
  switch (spec.activation) {
    case Activation::relu: return ReluLayer{}(var_u, s1, var_v, s2, cov_uv);
    case Activation::erf: return ErfLayer{}(var_u, s1, var_v, s2, cov_uv);
    default: {
      const bool with_derivative = spec.activation == Activation::tanh || static_cast<bool>(spec.custom_derivative);
      return quadrature_layer(spec, with_derivative)(var_u, s1, var_v, s2, cov_uv);
    }
  }
}

NormalQuadrature normal_quadrature(int points, NormalRule rule) {
  DESCENT_CHECK(points >= 1 && points <= 1000, InputError, "normal_quadrature: points = {} must be in [1, 1000]",
                points);
  const int n = points;
  if (rule == NormalRule::trapezoid) {
    // The Gaussian mass beyond |z| = 9 is 2e-19; normalizing the weights makes E[1] exact.
    NormalQuadrature q;
    const double half_width = 9.0;
    double total = 0.0;
    for (int i = 0; i < n; ++i) {
      const double z = n == 1 ? 0.0 : -half_width + 2.0 * half_width * i / (n - 1);
      q.nodes.push_back(z);
      q.weights.push_back(std::exp(-0.5 * z * z));
      total += q.weights.back();
    }
    for (double& w : q.weights) w /= total;
    return q;
  }
  // Golub–Welsch: the nodes of ∫ e^{-t²} g(t) dt are the eigenvalues of the Jacobi matrix
  // with off-diagonal sqrt(k/2); z = √2 t.
  Eigen::MatrixXd jacobi = Eigen::MatrixXd::Zero(n, n);
  for (int k = 1; k < n; ++k) jacobi(k, k - 1) = jacobi(k - 1, k) = std::sqrt(k / 2.0);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(jacobi, Eigen::EigenvaluesOnly);
  NormalQuadrature q;
  q.nodes.resize(n);
  q.weights.resize(n);
  for (int i = 0; i < n; ++i) {
    // Newton on the orthonormal Hermite polynomial p_n (recurrence as in Numerical Recipes
    // §4.6 gauher); the weight of ∫ e^{-t²} is 2 / p_n'(t)², with p_n' = sqrt(2n) p_{n-1}.
    double t = eig.eigenvalues()[i], dp = 1.0;
    for (int iter = 0; iter < 20; ++iter) {
      double p1 = std::pow(kPi, -0.25), p2 = 0.0;
      for (int j = 1; j <= n; ++j) {
        const double p3 = p2;
        p2 = p1;
        p1 = t * std::sqrt(2.0 / j) * p2 - std::sqrt((j - 1.0) / j) * p3;
      }
      dp = std::sqrt(2.0 * n) * p2;
      const double step = p1 / dp;
      t -= step;
      if (std::abs(step) <= 1e-15 * std::max(1.0, std::abs(t))) break;
    }
    q.nodes[i] = std::sqrt(2.0) * t;
    q.weights[i] = 2.0 / (dp * dp) / std::sqrt(kPi);
  }
  return q;
}

}  // namespace descent::probe
