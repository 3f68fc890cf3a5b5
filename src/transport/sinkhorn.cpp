// Sinkhorn's iterations (Murphy §6.8, eqs. 6.216–6.217). Both solvers run the same scaling
// loop on a kernel matrix; the log-domain one keeps that kernel's entries near the plan's
// scale by absorbing the scalings into its potentials (Schmitzer 2019), so it needs one
// exp per entry only when the kernel is rebuilt, not one per entry per iteration as a
// log-sum-exp update would, and gives the same fixed point stably. At n = m = 2000 an
// iteration is a pass over an n x m kernel that does not fit in cache, so the log-domain
// solver does most of its passes over a float copy (half the bytes) and finishes in double.
#include "descent/transport/sinkhorn.hpp"

#include <cblas.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/transport/cost.hpp"
#include "fast_exp.hpp"

namespace descent::transport {
namespace {

struct Problem {
  Tensor a, b, C;
  int64_t n = 0, m = 0;
  double mass = 0.0;
};

Problem checked_problem(const Tensor& a, const Tensor& b, const Tensor& C, const SinkhornOptions& o, const char* who) {
  DESCENT_CHECK(std::isfinite(o.epsilon) && o.epsilon > 0, InputError, "{}: epsilon = {} must be positive", who,
                o.epsilon);
  DESCENT_CHECK(o.tolerance >= 0 && o.max_iterations > 0, InputError,
                "{}: tolerance ({}) must be >= 0 and max_iterations ({}) positive", who, o.tolerance, o.max_iterations);
  DESCENT_CHECK(C.defined() && C.rank() == 2, InputError, "{}: expected an [n, m] cost matrix, got {}", who,
                C.defined() ? C.shape().str() : "none");
  Problem p;
  p.n = C.dim(0);
  p.m = C.dim(1);
  p.a = checked_weights(a, p.n, "a (source weights)");
  p.b = balanced_second_marginal(p.a, checked_weights(b, p.m, "b (target weights)"), o.marginal_tolerance);
  p.C = C.dtype() == DType::f64 ? C : C.astype(DType::f64);
  check_cost(p.C, p.n, p.m);
  p.mass = sum_all(p.a);
  return p;
}

// Buffers of the scaling loop, allocated once per solve.
struct Scalings {
  std::vector<double> u, v, u_next, column_sums;
  Scalings(int64_t n, int64_t m) : u(n, 1.0), v(m, 1.0), u_next(n), column_sums(m) {}
};

enum class Stop { converged, iteration_limit, absorb, underflow };

struct ScalingOutcome {
  Stop stop;
  double marginal_error;
};

// Row kernels of the scaling loop. The kernel is stored as double (plain Sinkhorn, the plan
// itself) or float (the bulk of the log-domain iterations: half the memory traffic of a
// pass, which is what an iteration costs at n = m = 2000); sums are in double either way.
double row_dot(const double* K, const double* v, int64_t m) { return cblas_ddot(int(m), K, 1, v, 1); }
void row_axpy(double alpha, const double* K, double* y, int64_t m) { cblas_daxpy(int(m), alpha, K, 1, y, 1); }
double row_dot(const float* K, const double* v, int64_t m) {
  double acc[8] = {};  // eight partial sums, so that the loop vectorizes without -ffast-math
  int64_t j = 0;
  for (; j + 8 <= m; j += 8)
    for (int k = 0; k < 8; ++k) acc[k] += double(K[j + k]) * v[j + k];
  double total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; j < m; ++j) total += double(K[j]) * v[j];
  return total;
}
void row_axpy(double alpha, const float* K, double* y, int64_t m) {
  for (int64_t j = 0; j < m; ++j) y[j] += alpha * double(K[j]);
}

// Whether a float kernel's sum underflowed: the float phase then hands over to double
// (sinkhorn_log) instead of failing; a double kernel's zero sum is an error.
template <class T>
constexpr bool hands_over = std::is_same_v<T, float>;

[[noreturn]] void kernel_underflow(const char* who, const char* what, int64_t index, double sum) {
  fail<NonFiniteError>("{}: {} {} of the kernel sums to {} (ε too small for exp(-C/ε) in double precision); "
                       "use the log-domain solver (sinkhorn_log / --method sinkhorn-log) or a larger ε",
                       who, what, index, sum);
}

// v <- b / (Kᵀ u): makes the column marginal of diag(u) K diag(v) exact. False (v unchanged)
// when a float kernel's column sum underflowed.
template <class T>
bool update_v(const T* K, const double* b, int64_t n, int64_t m, Scalings& s, const char* who) {
  std::fill(s.column_sums.begin(), s.column_sums.end(), 0.0);
  for (int64_t i = 0; i < n; ++i)
    if (s.u[i] != 0.0) row_axpy(s.u[i], K + i * m, s.column_sums.data(), m);
  for (int64_t j = 0; j < m; ++j)
    if (b[j] != 0.0 && !(s.column_sums[j] > 0.0 && std::isfinite(b[j] / s.column_sums[j]))) {
      if constexpr (hands_over<T>) return false;
      kernel_underflow(who, "column", j, s.column_sums[j]);
    }
  for (int64_t j = 0; j < m; ++j) s.v[j] = b[j] == 0.0 ? 0.0 : b[j] / s.column_sums[j];
  return true;
}

bool outside(const std::vector<double>& x, double threshold) {
  const double lo = 1.0 / threshold;
  for (double t : x)
    if (t != 0.0 && (t > threshold || t < lo)) return true;
  return false;
}

// Alternating updates u <- a / (K v), v <- b / (Kᵀ u) in one pass over K per iteration:
// row i gives (K v)_i, hence u_i, and while it is still in cache adds u_i K_i. into Kᵀ u.
// The same pass measures the row marginal error of the previous (u, v), whose columns are
// exact; when that error is small enough, the measured (u, v) is kept. On underflow of a
// float kernel, (u, v) are left at the last valid pair.
template <class T>
ScalingOutcome scale(const T* K, const double* a, const double* b, int64_t n, int64_t m, Scalings& s,
                     double tolerance, int64_t& iterations, int64_t max_iterations, double absorb_threshold,
                     const char* who) {
  if (!update_v(K, b, n, m, s, who)) return {Stop::underflow, INFINITY};
  for (;;) {
    std::fill(s.column_sums.begin(), s.column_sums.end(), 0.0);
    double error = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const T* Ki = K + i * m;
      const double Kv = row_dot(Ki, s.v.data(), m);
      error += std::abs(s.u[i] * Kv - a[i]);
      if (a[i] == 0.0) {
        s.u_next[i] = 0.0;
        continue;
      }
      if (!(Kv > 0.0) || !std::isfinite(Kv) || !std::isfinite(a[i] / Kv)) {
        if constexpr (hands_over<T>) return {Stop::underflow, INFINITY};
        kernel_underflow(who, "row", i, Kv);
      }
      s.u_next[i] = a[i] / Kv;
      row_axpy(s.u_next[i], Ki, s.column_sums.data(), m);
    }
    if (error <= tolerance) return {Stop::converged, error};
    if (iterations >= max_iterations) return {Stop::iteration_limit, error};
    for (int64_t j = 0; j < m; ++j)
      if (b[j] != 0.0 && !(s.column_sums[j] > 0.0 && std::isfinite(b[j] / s.column_sums[j]))) {
        if constexpr (hands_over<T>) return {Stop::underflow, INFINITY};
        kernel_underflow(who, "column", j, s.column_sums[j]);
      }
    std::swap(s.u, s.u_next);
    for (int64_t j = 0; j < m; ++j) s.v[j] = b[j] == 0.0 ? 0.0 : b[j] / s.column_sums[j];
    ++iterations;
    if (absorb_threshold < INFINITY && (outside(s.u, absorb_threshold) || outside(s.v, absorb_threshold)))
      return {Stop::absorb, error};
  }
}

constexpr double kFloatAbsorbThreshold = 1e8;
constexpr double kFloatExponentCut = -87.0;  // e^-87 ≈ 1.6e-38 > FLT_MIN ≈ 1.2e-38

// K_ij = exp((alpha_i + beta_j - C_ij) / eps). A float kernel holds no subnormals (their
// arithmetic is ~100x slower): entries below e^-87 become 0; with scalings kept in [1/τ, τ],
// τ = kFloatAbsorbThreshold, such an entry carries under τ² e^-87 ≈ 2e-22 of mass.
template <class T>
void build_kernel(T* K, const double* C, const std::vector<double>& alpha, const std::vector<double>& beta,
                  int64_t n, int64_t m, double eps) {
  const double inv = 1.0 / eps;
  const double* bj = beta.data();
  std::vector<double> row(std::is_same_v<T, float> ? m : 0);
  for (int64_t i = 0; i < n; ++i) {
    const double* Ci = C + i * m;
    T* Ki = K + i * m;
    const double ai = alpha[i];
    if constexpr (std::is_same_v<T, float>) {
      // Two loops through a row buffer in L1: GCC vectorizes each, but not the fused one
      // (exp, cut and narrowing together compiled to scalar code, 8x slower).
      for (int64_t j = 0; j < m; ++j) {
        const double x = (ai + bj[j] - Ci[j]) * inv;
        row[j] = detail::fast_exp(x < kFloatExponentCut ? -1000.0 : x);
      }
      for (int64_t j = 0; j < m; ++j) Ki[j] = float(row[j]);
    } else {
      for (int64_t j = 0; j < m; ++j) Ki[j] = detail::fast_exp((ai + bj[j] - Ci[j]) * inv);
    }
  }
}

// The float phase of the last ε stage stops at this marginal error (relative to the mass);
// float rounding of the kernel (relative 6e-8 per entry, mostly cancelling over a row)
// moves the fixed point by less, and the double kernel takes it the rest of the way.
constexpr double kFloatTolerance = 1e-8;

// Lets the kernel's pages be 2 MB ones (one fault per 2 MB instead of per 4 kB on first
// touch; faults are a tenth of a 2000 x 2000 solve in a virtual machine). Advice only.
void advise_huge_pages(void* data, size_t bytes) {
  constexpr uintptr_t huge = uintptr_t{1} << 21;
  const uintptr_t lo = (reinterpret_cast<uintptr_t>(data) + huge - 1) & ~(huge - 1);
  const uintptr_t hi = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(huge - 1);
  if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
}

// Plan, costs and potentials from the kernel potentials (alpha, beta) and scalings (u, v):
// f = alpha + ε log u - ε log a. A zero-weight point has no scaling; its potential is the
// smoothed c-transform of the other side's (the value the next update would give it).
// The plan overwrites the kernel's storage (no second n x m buffer).
SinkhornResult finish(const Problem& p, Tensor& kernel, const std::vector<double>& alpha,
                      const std::vector<double>& beta, const Scalings& s, double eps, ScalingOutcome outcome,
                      int64_t iterations) {
  const int64_t n = p.n, m = p.m;
  const double *a = p.a.data<double>(), *b = p.b.data<double>(), *C = p.C.data<double>();
  SinkhornResult r;
  r.plan = kernel;
  double* P = r.plan.data<double>();
  const double* v = s.v.data();
  double cost = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double ui = s.u[i];
    double* Pi = P + i * m;
    for (int64_t j = 0; j < m; ++j) Pi[j] = ui * Pi[j] * v[j];
    cost += cblas_ddot(int(m), Pi, 1, C + i * m, 1);
  }
  r.cost = cost;
  r.f = Tensor::empty({n}, DType::f64);
  r.g = Tensor::empty({m}, DType::f64);
  double* f = r.f.data<double>();
  double* g = r.g.data<double>();
  for (int64_t j = 0; j < m; ++j) g[j] = b[j] > 0 ? beta[j] + eps * (std::log(s.v[j]) - std::log(b[j])) : 0.0;
  for (int64_t i = 0; i < n; ++i) f[i] = a[i] > 0 ? alpha[i] + eps * (std::log(s.u[i]) - std::log(a[i])) : 0.0;
  auto softmin = [eps](int64_t len, auto&& exponent, auto&& weight) {  // -ε log Σ_k w_k e^{x_k}
    double top = -INFINITY;
    for (int64_t k = 0; k < len; ++k)
      if (weight(k) > 0) top = std::max(top, exponent(k));
    double acc = 0.0;
    for (int64_t k = 0; k < len; ++k)
      if (weight(k) > 0) acc += weight(k) * std::exp(exponent(k) - top);
    return -eps * (top + std::log(acc));
  };
  for (int64_t j = 0; j < m; ++j)
    if (b[j] == 0)
      g[j] = softmin(n, [&](int64_t i) { return (f[i] - C[i * m + j]) / eps; }, [&](int64_t i) { return a[i]; });
  for (int64_t i = 0; i < n; ++i)
    if (a[i] == 0)
      f[i] = softmin(m, [&](int64_t j) { return (g[j] - C[i * m + j]) / eps; }, [&](int64_t j) { return b[j]; });
  r.objective = dot(r.f, p.a) + dot(r.g, p.b);
  r.marginal_error = outcome.marginal_error;
  r.iterations = iterations;
  r.converged = outcome.stop == Stop::converged;
  return r;
}

}  // namespace

SinkhornResult sinkhorn(const Tensor& a, const Tensor& b, const Tensor& C, const SinkhornOptions& o) {
  const Problem p = checked_problem(a, b, C, o, "sinkhorn");
  const int64_t n = p.n, m = p.m;
  std::vector<double> alpha(n, 0.0), beta(m, 0.0);
  Tensor K = Tensor::empty({n, m}, DType::f64);
  advise_huge_pages(K.data<double>(), size_t(n * m) * sizeof(double));
  build_kernel(K.data<double>(), p.C.data<double>(), alpha, beta, n, m, o.epsilon);  // K = e^{-C/ε}
  Scalings s(n, m);
  const double* ap = p.a.data<double>();
  for (int64_t i = 0; i < n; ++i) s.u[i] = ap[i] == 0.0 ? 0.0 : 1.0;
  int64_t iterations = 0;
  const ScalingOutcome outcome = scale(K.data<double>(), ap, p.b.data<double>(), n, m, s, o.tolerance, iterations,
                                       o.max_iterations, INFINITY, "sinkhorn");
  return finish(p, K, alpha, beta, s, o.epsilon, outcome, iterations);
}

SinkhornResult sinkhorn_log(const Tensor& a, const Tensor& b, const Tensor& C, const SinkhornOptions& o) {
  const Problem p = checked_problem(a, b, C, o, "sinkhorn_log");
  DESCENT_CHECK(o.absorb_threshold > 1.0, InputError, "sinkhorn_log: absorb_threshold = {} must exceed 1",
                o.absorb_threshold);
  DESCENT_CHECK(!o.epsilon_scaling || (o.scaling_factor > 0 && o.scaling_factor < 1), InputError,
                "sinkhorn_log: scaling_factor = {} must lie in (0, 1)", o.scaling_factor);
  const int64_t n = p.n, m = p.m;
  const double *ap = p.a.data<double>(), *bp = p.b.data<double>(), *Cp = p.C.data<double>();
  // Start from the c-transforms of zero, alpha_i = min_j C_ij, beta_j = min_i C_ij - alpha_i:
  // every row and column of the first kernel then holds an entry equal to 1, so none
  // underflows however small ε is.
  std::vector<double> alpha(n), beta(m, INFINITY);
  double lowest = INFINITY, highest = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    const double* Ci = Cp + i * m;
    double row_min = INFINITY, row_max = -INFINITY;
    for (int64_t j = 0; j < m; ++j) {
      row_min = std::min(row_min, Ci[j]);
      row_max = std::max(row_max, Ci[j]);
    }
    alpha[i] = row_min;
    lowest = std::min(lowest, row_min);
    highest = std::max(highest, row_max);
    for (int64_t j = 0; j < m; ++j) beta[j] = std::min(beta[j], Ci[j] - row_min);
  }
  std::vector<double> stages;
  // ε-scaling pays only when ε is small against the cost range: each stage rebuilds the kernel
  // (n·m exponentials) and iterates to its own tolerance. Measured (n = m = 1,000, range 1,
  // Intel AVX-512, 1 thread): ε = 0.005 plain 0.116 / 0.437 s (2-D / 10-D), staged 0.126 / 0.467;
  // ε = 0.002 plain 0.277, staged 0.236; ε = 0.001 plain 0.512, staged 0.385 (2-D); and n = 2,000,
  // 10-D, ε = 0.01: plain 0.154, staged 0.277 s. So stages run only below range / 300.
  constexpr double kStagedRangeOverEpsilon = 300.0;
  if (o.epsilon_scaling && highest - lowest > kStagedRangeOverEpsilon * o.epsilon)
    for (double e = highest - lowest; e > o.epsilon; e *= o.scaling_factor) stages.push_back(e);
  stages.push_back(o.epsilon);

  Scalings s(n, m);
  int64_t iterations = 0;
  ScalingOutcome outcome{Stop::iteration_limit, INFINITY};
  auto absorb = [&](double eps) {
    for (int64_t i = 0; i < n; ++i)
      if (s.u[i] != 0.0) {
        alpha[i] += eps * std::log(s.u[i]);
        s.u[i] = 1.0;
      }
    for (int64_t j = 0; j < m; ++j)
      if (s.v[j] != 0.0) {
        beta[j] += eps * std::log(s.v[j]);
        s.v[j] = 1.0;
      }
  };
  // One ε stage on a kernel of either precision: scaling iterations, absorbing the
  // scalings into (alpha, beta) and rebuilding the kernel whenever they leave [1/τ, τ].
  auto run_stage = [&](auto* K, double eps, double tolerance, double threshold) {
    build_kernel(K, Cp, alpha, beta, n, m, eps);
    for (;;) {
      const ScalingOutcome out =
          scale(K, ap, bp, n, m, s, tolerance, iterations, o.max_iterations, threshold, "sinkhorn_log");
      if (out.stop != Stop::absorb) return out;
      absorb(eps);
      build_kernel(K, Cp, alpha, beta, n, m, eps);
    }
  };
  auto stage_tolerance = [&](size_t k) {
    return k + 1 == stages.size() ? o.tolerance : std::max(o.tolerance, o.stage_tolerance * p.mass);
  };
  for (int64_t i = 0; i < n; ++i) s.u[i] = ap[i] == 0.0 ? 0.0 : 1.0;

  // Float phase: every stage, the last one to kFloatTolerance. A float kernel whose row or
  // column sum underflows hands the stage over to the double phase, which redoes it.
  size_t k = 0;
  {
    Tensor K32 = Tensor::empty({n, m}, DType::f32);
    advise_huge_pages(K32.data<float>(), size_t(n * m) * sizeof(float));
    for (; k < stages.size(); ++k) {
      const bool last = k + 1 == stages.size();
      const double tolerance = last ? std::max(stage_tolerance(k), kFloatTolerance * p.mass) : stage_tolerance(k);
      outcome = run_stage(K32.data<float>(), stages[k], tolerance, std::min(o.absorb_threshold, kFloatAbsorbThreshold));
      if (outcome.stop == Stop::underflow) break;
      absorb(stages[k]);
      if (last || outcome.stop == Stop::iteration_limit) break;
    }
  }
  // Double phase, on the buffer that becomes the plan: the rest of the last stage to the
  // requested tolerance (or what float could not do). At the iteration limit it only
  // measures the double plan's marginal error.
  Tensor K = Tensor::empty({n, m}, DType::f64);
  advise_huge_pages(K.data<double>(), size_t(n * m) * sizeof(double));
  for (; k < stages.size(); ++k) {
    outcome = run_stage(K.data<double>(), stages[k], stage_tolerance(k), o.absorb_threshold);
    if (k + 1 == stages.size() || outcome.stop == Stop::iteration_limit) break;
    absorb(stages[k]);
  }
  return finish(p, K, alpha, beta, s, o.epsilon, outcome, iterations);
}

SinkhornDivergence sinkhorn_divergence(const Tensor& x_in, const Tensor& y_in, const Tensor& a_in, const Tensor& b_in,
                                       double p, const SinkhornOptions& o) {
  const Tensor x = checked_points(x_in, "x"), y = checked_points(y_in, "y");
  const int64_t n = x.dim(0), m = y.dim(0), d = x.dim(1);
  DESCENT_CHECK(y.dim(1) == d, InputError, "sinkhorn_divergence: x has dimension {} but y has {}", d, y.dim(1));
  DESCENT_CHECK(p >= 1.0, InputError, "sinkhorn_divergence: p = {} must be >= 1 (the cost must be differentiable)", p);
  const Tensor a = checked_weights(a_in, n, "a (source weights)");
  const Tensor b = balanced_second_marginal(a, checked_weights(b_in, m, "b (target weights)"), o.marginal_tolerance);
  const SinkhornResult xy = sinkhorn_log(a, b, cost_matrix(x, y, p), o);
  const SinkhornResult xx = sinkhorn_log(a, a, cost_matrix(x, x, p), o);
  const SinkhornResult yy = sinkhorn_log(b, b, cost_matrix(y, y, p), o);
  SinkhornDivergence out;
  out.value = xy.objective - 0.5 * (xx.objective + yy.objective);
  out.iterations = xy.iterations + xx.iterations + yy.iterations;

  // ∇_1 c(u, w) for c = ||u - w||^p: p ||u - w||^{p-2} (u - w), zero at u = w.
  auto accumulate = [p, d](double* grad, const double* u, const double* w, double weight) {
    double sq = 0.0;
    for (int64_t k = 0; k < d; ++k) sq += (u[k] - w[k]) * (u[k] - w[k]);
    if (sq == 0.0 || weight == 0.0) return;
    const double scale = weight * (p == 2.0 ? 2.0 : p * std::pow(sq, 0.5 * p - 1.0));
    for (int64_t k = 0; k < d; ++k) grad[k] += scale * (u[k] - w[k]);
  };
  // dOT_ε(a,b)/dx_i = Σ_j P_ij ∇_1 c(x_i, y_j). In the symmetric term OT_ε(a, a), x_i
  // appears in row i and column i of C: -½ Σ_k (P_ik + P_ki) ∇_1 c(x_i, x_k).
  auto gradient = [&](const Tensor& pts, const Tensor& other, const SinkhornResult& cross, bool rows,
                      const SinkhornResult& self) {
    const int64_t k_count = pts.dim(0), o_count = other.dim(0);
    Tensor grad = Tensor::zeros({k_count, d}, DType::f64);
    double* G = grad.data<double>();
    const double *X = pts.data<double>(), *Y = other.data<double>();
    const double *P = cross.plan.data<double>(), *S = self.plan.data<double>();
    for (int64_t i = 0; i < k_count; ++i) {
      for (int64_t j = 0; j < o_count; ++j)
        accumulate(G + i * d, X + i * d, Y + j * d, rows ? P[i * o_count + j] : P[j * k_count + i]);
      for (int64_t k = 0; k < k_count; ++k)
        accumulate(G + i * d, X + i * d, X + k * d, -0.5 * (S[i * k_count + k] + S[k * k_count + i]));
    }
    return grad;
  };
  out.grad_x = gradient(x, y, xy, true, xx);
  out.grad_y = gradient(y, x, xy, false, yy);
  return out;
}

}  // namespace descent::transport
