#include "descent/transport/sliced.hpp"

#include <cmath>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/transport/closed_form.hpp"
#include "descent/transport/cost.hpp"

namespace descent::transport {

Tensor random_directions(int64_t count, int64_t dimension, uint64_t seed) {
  DESCENT_CHECK(count > 0 && dimension > 0, InputError,
                "random_directions: need a positive count ({}) and dimension ({})", count, dimension);
  Rng rng(seed);
  // A standard normal vector, normalized, is uniform on the sphere.
  Tensor dirs = rng.normal_tensor({count, dimension}, DType::f64);
  double* v = dirs.data<double>();
  for (int64_t k = 0; k < count; ++k) {
    double sq = 0;
    for (int64_t j = 0; j < dimension; ++j) sq += v[k * dimension + j] * v[k * dimension + j];
    const double inv = 1.0 / std::sqrt(sq);
    for (int64_t j = 0; j < dimension; ++j) v[k * dimension + j] *= inv;
  }
  return dirs;
}

double sliced_wasserstein(const Tensor& x_in, const Tensor& y_in, const Tensor& directions, const Tensor& a,
                          const Tensor& b, double p) {
  const Tensor x = checked_points(x_in, "x"), y = checked_points(y_in, "y");
  const int64_t d = x.dim(1);
  DESCENT_CHECK(y.dim(1) == d, InputError, "sliced_wasserstein: x has dimension {} but y has {}", d, y.dim(1));
  DESCENT_CHECK(directions.defined() && directions.rank() == 2 && directions.dim(1) == d && directions.dim(0) > 0,
                InputError, "sliced_wasserstein: directions must be [K, {}] with K >= 1, got {}", d,
                directions.defined() ? directions.shape().str() : "none");
  const Tensor dirs = checked_points(directions, "directions");
  // One GEMM projects every point on every direction: column k holds θ_kᵀ x_i.
  const Tensor px = transpose(matmul(x, dirs, false, true)), py = transpose(matmul(y, dirs, false, true));
  double total = 0.0;
  for (int64_t k = 0; k < dirs.dim(0); ++k) total += transport_1d(px.row(k), py.row(k), a, b, p).cost;
  return std::pow(total / double(dirs.dim(0)), 1.0 / p);
}

}  // namespace descent::transport
