#include "descent/dynamics/brownian.hpp"

#include <cmath>

#include "descent/core/error.hpp"

namespace descent::dynamics {

BrownianIncrements::BrownianIncrements(int64_t dimension, double dt, uint64_t seed, uint64_t stream, int64_t substeps)
    : dimension_(dimension), dt_(dt), substeps_(substeps), rng_(seed, stream) {
  DESCENT_CHECK(dimension >= 1 && dt > 0 && std::isfinite(dt) && substeps >= 1, InputError,
                "Brownian increments: need dimension ≥ 1, dt > 0 and substeps ≥ 1 (got {}, {}, {})", dimension, dt,
                substeps);
}

BrownianIncrements BrownianIncrements::from_table(Tensor increments, double dt) {
  DESCENT_CHECK(increments.rank() == 2 && increments.dtype() == DType::f64 && increments.dim(1) >= 1, ShapeError,
                "Brownian increments: a table must be a float64 [steps, P] tensor, got {} {}",
                dtype_name(increments.dtype()), increments.shape().str());
  DESCENT_CHECK(dt > 0 && std::isfinite(dt), InputError, "Brownian increments: dt must be positive, got {}", dt);
  BrownianIncrements b;
  b.dimension_ = increments.dim(1);
  b.dt_ = dt;
  b.table_ = std::move(increments);
  return b;
}

void BrownianIncrements::next(Tensor& dw) {
  DESCENT_CHECK(dw.dtype() == DType::f64 && dw.numel() == dimension_, ShapeError,
                "Brownian increments: the output must be float64 with {} elements", dimension_);
  double* out = dw.data<double>();
  if (table_.defined()) {
    DESCENT_CHECK(step_ < table_.dim(0), InputError, "Brownian increments: the table has only {} steps", table_.dim(0));
    const double* row = table_.data<double>() + step_ * dimension_;
    for (int64_t i = 0; i < dimension_; ++i) out[i] = row[i];
  } else {
    const double sd = std::sqrt(dt_ / double(substeps_));
    for (int64_t i = 0; i < dimension_; ++i) out[i] = 0.0;
    for (int64_t s = 0; s < substeps_; ++s)
      for (int64_t i = 0; i < dimension_; ++i) out[i] += sd * rng_.normal();
  }
  ++step_;
}

}  // namespace descent::dynamics
