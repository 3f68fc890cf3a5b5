#include "descent/core/output_map.hpp"

#include <cstring>

#include "descent/core/error.hpp"

namespace descent {

Tensor OutputMap::jacobian(const Tensor& theta, const Tensor& x) {
  const int64_t b = x.dim(0), C = num_outputs(), P = dimension();
  Tensor J = Tensor::zeros({b, C, P}, theta.dtype());
  const size_t elem = dtype_size(theta.dtype());
  char* dst = static_cast<char*>(J.raw());
  Tensor e = Tensor::zeros({1, C}, theta.dtype());
  for (int64_t i = 0; i < b; ++i) {
    const Tensor xi = x.rows(i, i + 1);
    for (int64_t c = 0; c < C; ++c) {
      e.fill(0.0);
      e.set(c, 1.0);
      const Tensor row = vjp(theta, xi, e);
      std::memcpy(dst + (i * C + c) * P * elem, row.raw(), size_t(P) * elem);
    }
  }
  return J;
}

Tensor OutputMap::sample_targets(const Tensor&, const Tensor&, Rng&) {
  fail<InputError>("{}: the {} loss has no predictive distribution to sample targets from", describe(), loss_name());
}

DenseActivity OutputMap::dense_activity(const Tensor&, const Tensor&,
                                        const std::function<std::vector<Tensor>(const Tensor&)>&) {
  fail<InputError>("{}: the model states no dense layers", describe());
}

bool OutputMap::dense_layers_cover_parameters() const {
  const std::vector<DenseLayer> layers = dense_layers();
  int64_t covered = 0;
  for (const DenseLayer& l : layers) covered += l.num_parameters();
  return !layers.empty() && covered == dimension();
}

}  // namespace descent
