#include "descent/dynamics/svag.hpp"

#include <cmath>

#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"

namespace descent::dynamics {

std::pair<double, double> svag_coefficients(int64_t l) {
  DESCENT_CHECK(l >= 1, InputError, "SVAG: l must be ≥ 1, got {}", l);
  const double r = std::sqrt(2.0 * double(l) - 1.0);
  return {(1.0 + r) / 2.0, (1.0 - r) / 2.0};
}

SvagResult svag(Objective& objective, const Tensor& theta0, const SvagOptions& options) {
  const int64_t n = objective.num_examples();
  const int64_t p = objective.dimension();
  DESCENT_CHECK(n >= 1, InputError, "SVAG: the objective must be a finite sum (mini-batch gradients)");
  DESCENT_CHECK(theta0.numel() == p, ShapeError, "SVAG: θ0 has {} elements, the objective {}", theta0.numel(), p);
  DESCENT_CHECK(options.learning_rate > 0 && options.batch_size >= 1 && options.sgd_steps >= 0 &&
                    options.record_every >= 0,
                InputError, "SVAG: needs learning_rate > 0, batch_size ≥ 1, sgd_steps ≥ 0, record_every ≥ 0");
  const auto [c1, c2] = svag_coefficients(options.l);
  const double lr = options.learning_rate / double(options.l);
  Rng rng(options.seed);
  Tensor theta = theta0.flatten().astype(objective.dtype()).clone();
  Tensor g1 = Tensor::empty({p}, objective.dtype()), g2 = Tensor::empty({p}, objective.dtype());
  std::vector<int64_t> b1(options.batch_size), b2(options.batch_size);
  SvagResult r;
  std::vector<double> rows;  // flat [records, P]: no allocation per record
  auto record = [&](int64_t k) {
    {
      const Tensor t64 = theta.dtype() == DType::f64 ? theta : theta.astype(DType::f64);
      rows.insert(rows.end(), t64.data<double>(), t64.data<double>() + p);
    }
    r.times.push_back(double(k) * options.learning_rate);
  };
  if (options.record_every > 0) record(0);
  for (int64_t k = 0; k < options.sgd_steps && r.finite; ++k) {
    for (int64_t s = 0; s < options.l; ++s) {
      // Both gradients at the same θ (Def. 12.4.1); at l = 1, c2 = 0 and this is plain SGD.
      for (auto& i : b1) i = int64_t(rng.below(uint64_t(n)));
      objective.batch_value_and_gradient(theta, b1, g1);
      if (options.l > 1) {
        for (auto& i : b2) i = int64_t(rng.below(uint64_t(n)));
        objective.batch_value_and_gradient(theta, b2, g2);
        axpy(theta, -lr * c2, g2);
      }
      axpy(theta, -lr * c1, g1);
    }
    if (!all_finite(theta)) r.finite = false;
    if (options.record_every > 0 && (k + 1) % options.record_every == 0) record(k + 1);
  }
  r.final_state = theta;
  if (!rows.empty()) {
    r.path = Tensor::from_vector(rows, {int64_t(rows.size()) / p, p});
  }
  return r;
}

}  // namespace descent::dynamics
