#pragma once
// Shared fixtures for the autodiff tests: random float64 inputs and the three checks each
// primitive must pass (finite differences, adjoint identity, second order).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/rng.hpp"

namespace descent::testing {

inline Tensor uniform(const Shape& s, double lo, double hi, uint64_t seed) {
  Rng rng(seed);
  return rng.uniform_tensor(s, DType::f64, lo, hi);
}
// Uniform magnitudes in [lo, hi] with random signs: away from the kink at 0.
inline Tensor away_from_zero(const Shape& s, uint64_t seed, double lo = 0.1, double hi = 1.5) {
  Rng rng(seed);
  Tensor t = rng.uniform_tensor(s, DType::f64, lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i)
    if (rng.bernoulli(0.5)) t.set(i, -t.at(i));
  return t;
}
// A permutation of distinct, well-separated values (for max and pooling ties).
inline Tensor distinct(const Shape& s, uint64_t seed) {
  Rng rng(seed);
  const std::vector<int64_t> p = rng.permutation(s.numel());
  Tensor t = Tensor::empty(s, DType::f64);
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, 0.1 * static_cast<double>(p[static_cast<size_t>(i)]) - 1.0);
  return t;
}
inline Tensor index_tensor(const std::vector<int64_t>& v, const Shape& s) { return Tensor::from_vector(v, s); }

inline std::vector<Tensor> random_like(const std::vector<Tensor>& x, uint64_t seed) {
  Rng rng(seed);
  std::vector<Tensor> out;
  for (const Tensor& t : x) out.push_back(rng.normal_tensor(t.shape(), t.dtype()));
  return out;
}

inline double inner(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += dot(a[i], b[i]);
  return s;
}

// Largest |a − b| / max(|a|, |b|, floor) over all elements of all tensors.
inline double max_rel(const std::vector<Tensor>& a, const std::vector<Tensor>& b, double floor = 1e-6) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, max_relative_difference(a[i], b[i], floor));
  return worst;
}

// ⟨u, J v⟩ (forward mode) against ⟨Jᵀ u, v⟩ (reverse mode).
inline void expect_adjoint(const Function& f, const std::vector<Tensor>& x, uint64_t seed = 11) {
  const std::vector<Tensor> v = random_like(x, seed);
  auto [y, jv] = jvp(f, x, v);
  Rng rng(seed + 1);
  const Tensor u = rng.normal_tensor(y.shape(), y.dtype());
  auto [y2, jtu] = vjp(f, x, u);
  const double lhs = dot(u, jv), rhs = inner(jtu, v);
  EXPECT_LE(std::abs(lhs - rhs), 1e-10 * std::max({1.0, std::abs(lhs), std::abs(rhs)}))
      << "adjoint identity: <u, Jv> = " << lhs << ", <J^T u, v> = " << rhs;
  EXPECT_EQ(max_relative_difference(y, y2), 0.0);
}

// A scalar with a non-trivial Hessian built from f: Σ u ⊙ f(x)² (exercises the rules of
// the primitive's own VJP and JVP).
inline Function squared_projection(const Function& f, const Tensor& u) {
  return [f, u](const VarList& xs) { return sum(square(f(xs)) * Var(u)); };
}

// H v by a five-point central difference of autodiff gradients.
inline std::vector<Tensor> fd_hvp(const Function& s, const std::vector<Tensor>& x, const std::vector<Tensor>& v,
                                  double h = 1e-4) {
  auto grad_at = [&](double t) {
    std::vector<Tensor> pt;
    for (size_t i = 0; i < x.size(); ++i) pt.push_back(add(x[i], mul(v[i], t)));
    return grad(s, pt);
  };
  const auto gp = grad_at(h), gm = grad_at(-h), gp2 = grad_at(2 * h), gm2 = grad_at(-2 * h);
  std::vector<Tensor> out;
  for (size_t i = 0; i < x.size(); ++i)
    out.push_back(mul(sub(mul(sub(gp[i], gm[i]), 8.0), sub(gp2[i], gm2[i])), 1.0 / (12 * h)));
  return out;
}

// HVP (both modes) against finite differences of gradients, and the two modes agree.
inline void expect_second_order(const Function& f, const std::vector<Tensor>& x, uint64_t seed = 21,
                                double tol = 1e-6) {
  Tensor y;
  {
    NoGradGuard ng;
    VarList xs;
    for (const Tensor& t : x) xs.emplace_back(t);
    y = f(xs).value();
  }
  Rng rng(seed);
  const Tensor u = rng.normal_tensor(y.shape(), y.dtype());
  const Function s = squared_projection(f, u);
  const std::vector<Tensor> v = random_like(x, seed + 1);
  const auto fwd = hessian_vector_product(s, x, v, HvpMode::forward_over_reverse);
  const auto rev = hessian_vector_product(s, x, v, HvpMode::reverse_over_reverse);
  const auto fd = fd_hvp(s, x, v);
  EXPECT_LE(max_rel(fwd, fd, 1e-5), tol) << "forward-over-reverse HVP vs finite differences of gradients";
  EXPECT_LE(max_rel(rev, fd, 1e-5), tol) << "reverse-over-reverse HVP vs finite differences of gradients";
  EXPECT_LE(max_rel(fwd, rev, 1e-6), 1e-9) << "the two HVP modes disagree";
}

inline void expect_gradients(const Function& f, const std::vector<Tensor>& x, double tol = 1e-6) {
  GradientCheckOptions opt;
  opt.tolerance = tol;
  const GradientCheckReport r = check_gradients(f, x, opt);
  EXPECT_TRUE(r.passed) << r.str();
}

}  // namespace descent::testing
