#pragma once
// Helpers shared by the loss-landscape experiments (edge_of_stability, anisotropic_noise_escape,
// noise_follows_curvature): a Fashion-MNIST subset, a small MLP, full-batch GD and the
// sharpness λ_max(∇²f(θ)) by Lanczos with its residual.
#include <cmath>
#include <cstdint>
#include <vector>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/data/fashion_mnist.hpp"
#include "descent/nn/model.hpp"
#include "descent/nn/objective.hpp"
#include "descent/probe/curvature.hpp"
#include "descent/probe/linear_operator.hpp"

namespace descent::experiments::landscape {

// The first n training images of Fashion-MNIST, pixels in [0, 1] shifted to zero mean over
// the subset (one global mean), copied so that the subset owns its storage.
inline data::Dataset fashion_subset(int64_t n, bool flatten = true) {
  data::FashionMnistOptions o;
  o.flatten = flatten;
  data::Dataset all = data::load_fashion_mnist("train", o);
  data::Dataset d = all.take(n);
  d.inputs = d.inputs.clone();
  d.targets = d.targets.clone();
  float* x = d.inputs.data<float>();
  double mean = 0.0;
  for (int64_t i = 0; i < d.inputs.numel(); ++i) mean += x[i];
  mean /= double(d.inputs.numel());
  for (int64_t i = 0; i < d.inputs.numel(); ++i) x[i] = float(x[i] - mean);
  return d;
}

// Class labels [n] (int64 in 0..k−1) as one-hot rows [n, k] of `dtype`, the regression
// targets of a mean-squared-error classifier.
inline Tensor one_hot(const Tensor& labels, int64_t k, DType dtype = DType::f32) {
  const int64_t n = labels.dim(0);
  Tensor y = Tensor::zeros({n, k}, dtype);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = int64_t(labels.at(i));
    DESCENT_CHECK(c >= 0 && c < k, InputError, "one_hot: label {} of example {} is outside 0..{}", c, i, k - 1);
    y.set(i * k + c, 1.0);
  }
  return y;
}

struct Sharpness {
  double value = 0.0;
  double relative_residual = 0.0;  // ‖Hv − λv‖ / |λ|
  bool converged = false;
  int64_t matvecs = 0;
  Tensor vector;  // float64, for warm starts
};

// λ_max of the Hessian of `objective` at θ by Lanczos top-1 (stopping at ‖Hv − λv‖ ≤ tol·|λ|),
// warm-started from `start` when defined (the previous probe's eigenvector).
inline Sharpness sharpness(Objective& objective, const Tensor& theta, const Tensor& start = {},
                           double tolerance = 1e-3, uint64_t seed = 0) {
  auto h = probe::hessian_operator(objective, theta);
  probe::LanczosOptions o;
  o.num_eigenpairs = 1;
  o.tolerance = tolerance;
  o.max_basis_size = 30;
  o.max_matvecs = 300;
  o.seed = seed;
  o.start = start;
  const probe::EigenResult r = probe::lanczos_eigenpairs(h, o);
  const probe::Eigenpair& p = r.pairs.front();
  return {p.value, p.relative_residual, r.converged, r.matvecs, p.vector};
}

// `steps` full-batch GD steps θ ← θ − η∇f(θ) in place; returns f at the final θ.
inline double gradient_descent(nn::ModelObjective& f, Tensor& theta, double eta, int64_t steps) {
  Tensor g = Tensor::zeros({theta.numel()}, theta.dtype());
  for (int64_t t = 0; t < steps; ++t) {
    f.value_and_gradient(theta, g);
    axpy(theta, -eta, g);
  }
  return f.value(theta);
}

// Number of t with loss[t] > loss[t − 1]: full-batch GD in a stable regime never goes up.
inline int64_t count_increases(const std::vector<double>& loss) {
  int64_t k = 0;
  for (size_t t = 1; t < loss.size(); ++t) k += loss[t] > loss[t - 1];
  return k;
}

}  // namespace descent::experiments::landscape
