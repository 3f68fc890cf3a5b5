#include "descent/probe/trace_estimation.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "krylov.hpp"

namespace descent::probe {
namespace {

struct MeanAndError {
  double mean = 0.0, standard_error = 0.0;
};
MeanAndError mean_and_error(const std::vector<double>& x) {
  MeanAndError r;
  if (x.empty()) return r;
  for (double v : x) r.mean += v;
  r.mean /= double(x.size());
  if (x.size() < 2) return {r.mean, std::numeric_limits<double>::infinity()};
  double ss = 0.0;
  for (double v : x) ss += (v - r.mean) * (v - r.mean);
  r.standard_error = std::sqrt(ss / double(x.size() - 1) / double(x.size()));
  return r;
}

}  // namespace

std::string TraceEstimate::summary() const {
  return fmt::format("{} of {}: tr = {:.10g} ± {:.3g} (standard error), {} products{}", method, operator_name, trace,
                     standard_error, matvecs,
                     sketch_rank ? fmt::format(", sketch rank {}, {} residual probes", sketch_rank, residual_probes)
                                 : std::string());
}

TraceEstimate hutchinson_trace(LinearOperator& op, const TraceOptions& options) {
  DESCENT_CHECK(options.num_matvecs >= 2, InputError,
                "hutchinson_trace: needs at least 2 products to estimate its error, got {}", options.num_matvecs);
  const int64_t p = op.dimension();
  detail::Products products(op);
  Rng rng(options.seed);
  Tensor z = Tensor::empty({p}, DType::f64), az = Tensor::empty({p}, DType::f64);
  std::vector<double> terms;
  for (int64_t i = 0; i < options.num_matvecs; ++i) {
    detail::fill_rademacher(rng, z);
    products.apply(z, az);
    terms.push_back(dot(z, az));
  }
  const MeanAndError e = mean_and_error(terms);
  TraceEstimate t;
  t.trace = e.mean;
  t.standard_error = e.standard_error;
  t.matvecs = products.count();
  t.residual_probes = options.num_matvecs;
  t.method = "Hutchinson (Rademacher)";
  t.operator_name = op.name();
  return t;
}

TraceEstimate hutch_plus_plus_trace(LinearOperator& op, const TraceOptions& options) {
  DESCENT_CHECK(options.num_matvecs >= 3, InputError, "hutch_plus_plus_trace: needs at least 3 products, got {}",
                options.num_matvecs);
  const int64_t p = op.dimension();
  const int64_t sketch = std::min<int64_t>(options.num_matvecs / 3, p);
  detail::Products products(op);
  Rng rng(options.seed);
  // Q: orthonormal rows spanning A S (CGS2 row by row; rows that vanish are dropped, which
  // happens when rank(A) < sketch).
  Tensor q = Tensor::empty({sketch, p}, DType::f64);
  Tensor s = Tensor::empty({p}, DType::f64), as = Tensor::empty({p}, DType::f64);
  std::vector<double> coeff(sketch);
  int64_t rank = 0;
  double* qd = q.data<double>();
  auto project_out = [&](Tensor& x) {  // x ← (I − QQᵀ) x, twice
    if (rank == 0) return;
    for (int round = 0; round < 2; ++round) {
      cblas_dgemv(CblasRowMajor, CblasNoTrans, int(rank), int(p), 1.0, qd, int(p), x.data<double>(), 1, 0.0,
                  coeff.data(), 1);
      cblas_dgemv(CblasRowMajor, CblasTrans, int(rank), int(p), -1.0, qd, int(p), coeff.data(), 1, 1.0,
                  x.data<double>(), 1);
    }
  };
  for (int64_t i = 0; i < sketch; ++i) {
    detail::fill_rademacher(rng, s);
    products.apply(s, as);
    const double before = norm(as);
    project_out(as);
    const double after = norm(as);
    if (!(after > 1e-10 * before) || after == 0.0) continue;
    Tensor row = q.row(rank++);
    row.copy_from(as);
    scale_inplace(row, 1.0 / after);
  }
  // tr(QᵀAQ), exact.
  double low_rank_part = 0.0;
  for (int64_t i = 0; i < rank; ++i) {
    Tensor qi = q.row(i);
    products.apply(qi, as);
    low_rank_part += dot(qi, as);
  }
  // Hutchinson on the deflated operator; nothing is left when Q spans R^P.
  const int64_t probes = rank == p ? 0 : options.num_matvecs - 2 * sketch;
  std::vector<double> terms;
  for (int64_t i = 0; i < probes; ++i) {
    detail::fill_rademacher(rng, s);
    project_out(s);
    products.apply(s, as);
    project_out(as);
    terms.push_back(dot(s, as));
  }
  TraceEstimate t;
  const MeanAndError e = mean_and_error(terms);
  t.trace = low_rank_part + e.mean;
  t.standard_error = probes == 0 ? 0.0 : e.standard_error;
  t.matvecs = products.count();
  t.sketch_rank = rank;
  t.residual_probes = probes;
  t.method = "Hutch++ (Rademacher)";
  t.operator_name = op.name();
  return t;
}

}  // namespace descent::probe
