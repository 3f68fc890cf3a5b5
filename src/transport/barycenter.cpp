#include "descent/transport/barycenter.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/transport/cost.hpp"
#include "fast_exp.hpp"

namespace descent::transport {
namespace {

std::vector<double> normalized_lambdas(const Tensor& lambdas, int64_t count) {
  const Tensor l = checked_weights(lambdas, count, "lambdas (barycentric weights)");
  const double total = sum_all(l);
  std::vector<double> out = l.to_vector();
  for (double& v : out) v /= total;
  return out;
}

}  // namespace

Barycenter1D barycenter_1d(const std::vector<Measure1D>& measures, const Tensor& lambdas) {
  DESCENT_CHECK(!measures.empty(), InputError, "barycenter_1d: no measures given");
  const int64_t count = int64_t(measures.size());
  const std::vector<double> lambda = normalized_lambdas(lambdas, count);
  // Sorted atoms and cumulative masses (as fractions of the total) per measure.
  struct Sorted {
    std::vector<double> values, cumulative;
  };
  std::vector<Sorted> sorted(count);
  double mass = 0.0;
  for (int64_t k = 0; k < count; ++k) {
    const Tensor v = checked_points(measures[k].values, "barycenter_1d values");
    DESCENT_CHECK(v.dim(1) == 1, InputError, "barycenter_1d: measure {} is not one-dimensional (shape {})", k,
                  measures[k].values.shape());
    const int64_t n = v.dim(0);
    const Tensor w = checked_weights(measures[k].weights, n, "barycenter_1d weights");
    const double total = sum_all(w);
    if (k == 0) mass = total;
    DESCENT_CHECK(std::abs(total - mass) <= 1e-6 * mass, InputError,
                  "barycenter_1d: measure {} has total mass {:.17g} but measure 0 has {:.17g} (they differ by {:.3g}); "
                  "normalize them to the same mass",
                  k, total, mass, total - mass);
    const double *vp = v.data<double>(), *wp = w.data<double>();
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [vp](int64_t i, int64_t j) { return vp[i] < vp[j]; });
    double running = 0.0;
    for (int64_t i : order) {
      running += wp[i];
      sorted[k].values.push_back(vp[i]);
      sorted[k].cumulative.push_back(running / total);
    }
    sorted[k].cumulative.back() = 1.0;
  }
  // Walk u from 0 to 1 through the union of the breakpoints; on each piece every Q_k is
  // constant, and the barycenter's quantile is Σ_k λ_k Q_k.
  std::vector<size_t> atom(count, 0);
  std::vector<double> values, weights;
  double u = 0.0;
  while (u < 1.0) {
    double next = 1.0;
    for (int64_t k = 0; k < count; ++k) next = std::min(next, sorted[k].cumulative[atom[k]]);
    double value = 0.0;
    for (int64_t k = 0; k < count; ++k) value += lambda[k] * sorted[k].values[atom[k]];
    if (next > u) {
      if (!values.empty() && values.back() == value)
        weights.back() += (next - u) * mass;
      else {
        values.push_back(value);
        weights.push_back((next - u) * mass);
      }
    }
    u = next;
    for (int64_t k = 0; k < count; ++k)
      while (atom[k] + 1 < sorted[k].values.size() && sorted[k].cumulative[atom[k]] <= u) ++atom[k];
  }
  return {Tensor::from_vector(values, {int64_t(values.size())}), Tensor::from_vector(weights, {int64_t(weights.size())})};
}

FixedSupportBarycenter sinkhorn_barycenter(const Tensor& histograms, const Tensor& C_in, const Tensor& lambdas,
                                           const BarycenterOptions& o) {
  DESCENT_CHECK(histograms.defined() && histograms.rank() == 2 && histograms.dim(0) > 0 && histograms.dim(1) > 0,
                InputError, "sinkhorn_barycenter: histograms must be [n, K] (one column per measure), got {}",
                histograms.defined() ? histograms.shape().str() : "none");
  DESCENT_CHECK(std::isfinite(o.epsilon) && o.epsilon > 0, InputError, "sinkhorn_barycenter: epsilon = {} must be positive",
                o.epsilon);
  const int64_t n = histograms.dim(0), count = histograms.dim(1);
  const Tensor C = C_in.defined() && C_in.dtype() != DType::f64 ? C_in.astype(DType::f64) : C_in;
  check_cost(C, n, n);
  const std::vector<double> lambda = normalized_lambdas(lambdas, count);
  const Tensor A = histograms.astype(DType::f64);
  double mass = 0.0;
  for (int64_t k = 0; k < count; ++k) {
    const Tensor column = checked_weights(transpose(A).row(k), n, "sinkhorn_barycenter histogram");
    if (k == 0) mass = sum_all(column);
    balanced_second_marginal(Tensor::full({1}, mass, DType::f64), column);
  }
  // Kernel e^{-C/ε}; scalings U, V [n, K] with couplings P_k = diag(U_k) K diag(V_k) whose
  // columns must sum to a_k and whose rows must all equal the barycenter p.
  Tensor K = Tensor::empty({n, n}, DType::f64);
  const double *c = C.data<double>(), *a = A.data<double>();
  double* kp = K.data<double>();
  for (int64_t e = 0; e < n * n; ++e) kp[e] = detail::fast_exp(-c[e] / o.epsilon);
  Tensor U = Tensor::ones({n, count}, DType::f64), V = Tensor::ones({n, count}, DType::f64);
  Tensor KtU = Tensor::empty({n, count}, DType::f64), KV = Tensor::empty({n, count}, DType::f64);
  FixedSupportBarycenter out;
  out.weights = Tensor::empty({n}, DType::f64);
  double *u = U.data<double>(), *v = V.data<double>(), *ktu = KtU.data<double>(), *kv = KV.data<double>();
  double* p = out.weights.data<double>();
  for (int64_t it = 0;; ++it) {
    gemm_into(KtU, K, U, true, false, 1.0, 0.0);
    if (it > 0) {  // the marginal error of the current couplings (their rows are exact)
      double error = 0.0;
      for (int64_t e = 0; e < n * count; ++e) error += std::abs(v[e] * ktu[e] - a[e]);
      out.marginal_error = error;
      if (error <= o.tolerance || it > o.max_iterations) {
        out.converged = error <= o.tolerance;
        out.iterations = it;
        return out;
      }
    }
    // Projection on the fixed marginals a_k (Benamou et al. 2015, eq. 2.10).
    for (int64_t e = 0; e < n * count; ++e) {
      v[e] = a[e] == 0.0 ? 0.0 : a[e] / ktu[e];
      DESCENT_CHECK(std::isfinite(v[e]), NonFiniteError,
                    "sinkhorn_barycenter: the kernel e^(-C/ε) underflows at ε = {}; use a larger ε or rescale C",
                    o.epsilon);
    }
    // Projection on equal row marginals: p = Π_k (u_k ⊙ K v_k)^{λ_k}, then u_k = p / K v_k.
    gemm_into(KV, K, V, false, false, 1.0, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      double log_p = 0.0;
      bool zero = false;
      for (int64_t k = 0; k < count; ++k) {
        const double row = u[i * count + k] * kv[i * count + k];
        if (lambda[k] > 0) {
          if (row <= 0.0) zero = true;
          else log_p += lambda[k] * std::log(row);
        }
      }
      p[i] = zero ? 0.0 : std::exp(log_p);
      for (int64_t k = 0; k < count; ++k) u[i * count + k] = p[i] == 0.0 ? 0.0 : p[i] / kv[i * count + k];
    }
  }
}

}  // namespace descent::transport
