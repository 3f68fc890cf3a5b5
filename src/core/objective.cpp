#include "descent/core/objective.hpp"

#include <algorithm>
#include <cmath>

#include "descent/core/ops.hpp"

namespace descent {

void Objective::hessian_vector_product(const Tensor& theta, const Tensor& v, Tensor& hv) {
  const int64_t P = dimension();
  DESCENT_CHECK(theta.numel() == P && v.numel() == P && hv.numel() == P, ShapeError,
                "hessian_vector_product: θ {}, v {} and Hv {} must all have {} elements", theta.shape(),
                v.shape(), hv.shape(), P);
  const double vnorm = norm(v);
  if (vnorm == 0.0) return hv.fill(0.0);
  // Central difference of gradients, (∇f(θ + hv) − ∇f(θ − hv)) / 2h, with h balancing
  // truncation (h²) against round-off (ε/h): h ≈ ε^{1/3}·max(1, ‖θ‖)/‖v‖.
  const double eps = theta.dtype() == DType::f32 ? 1.2e-7 : 2.2e-16;
  const double h = std::cbrt(eps) * std::max(1.0, norm(theta)) / vnorm;
  Tensor plus = theta.clone(), minus = theta.clone();
  axpy(plus, h, v);
  axpy(minus, -h, v);
  Tensor g_minus = Tensor::empty(theta.shape(), theta.dtype());
  value_and_gradient(plus, hv);
  value_and_gradient(minus, g_minus);
  axpy(hv, -1.0, g_minus);
  scale_inplace(hv, 0.5 / h);
}

void Objective::per_example_gradients(const Tensor& theta, std::span<const int64_t> indices, Tensor& gradients) {
  const int64_t P = dimension();
  const int64_t b = static_cast<int64_t>(indices.size());
  DESCENT_CHECK(gradients.rank() == 2 && gradients.dim(0) == b && gradients.dim(1) == P, ShapeError,
                "per_example_gradients: output is {}, expected [{}, {}]", gradients.shape(), b, P);
  for (int64_t i = 0; i < b; ++i) {
    Tensor row = gradients.row(i);
    batch_value_and_gradient(theta, indices.subspan(i, 1), row);
  }
}

}  // namespace descent
