#include "descent/blackbox/problem.hpp"

#include <cmath>
#include <exception>

#include "descent/core/error.hpp"

namespace descent::blackbox {

Bounds::Bounds(Vector lower, Vector upper) : lower_(std::move(lower)), upper_(std::move(upper)) {
  DESCENT_CHECK(lower_.size() == upper_.size(), InputError,
                "bounds: {} lower bounds but {} upper bounds (give one pair per dimension)",
                lower_.size(), upper_.size());
  for (Eigen::Index i = 0; i < lower_.size(); ++i) {
    DESCENT_CHECK(!std::isnan(lower_[i]) && !std::isnan(upper_[i]), InputError,
                  "bounds: dimension {} has a NaN bound", i);
    DESCENT_CHECK(lower_[i] <= upper_[i], InputError,
                  "bounds: dimension {} has lower {} > upper {} (swap them or fix the box)", i,
                  lower_[i], upper_[i]);
  }
}

Bounds Bounds::cube(Eigen::Index dim, double lower, double upper) {
  return Bounds(Vector::Constant(dim, lower), Vector::Constant(dim, upper));
}

bool Bounds::contains(const Vector& x) const {
  return x.size() == dim() && (x.array() >= lower_.array()).all() && (x.array() <= upper_.array()).all();
}

Vector Bounds::clip(const Vector& x) const { return x.cwiseMax(lower_).cwiseMin(upper_); }

Vector Bounds::sample(Rng& rng) const {
  Vector x(dim());
  for (Eigen::Index i = 0; i < dim(); ++i) x[i] = rng.uniform(lower_[i], upper_[i]);
  return x;
}

Vector Bounds::to_unit(const Vector& x) const {
  Vector u(dim());
  for (Eigen::Index i = 0; i < dim(); ++i) {
    const double w = upper_[i] - lower_[i];
    u[i] = w > 0 ? (x[i] - lower_[i]) / w : 0.5;
  }
  return u;
}

Evaluation evaluate_one(const Function& f, const Vector& x) {
  Evaluation e;
  e.x = x;
  try {
    e.f = f(x);
    if (!std::isfinite(e.f)) {
      e.ok = false;
      e.error = std::isnan(e.f) ? "f returned NaN" : "f returned an infinite value";
    }
  } catch (const std::exception& ex) {
    e.ok = false;
    e.error = ex.what();
  } catch (...) {
    e.ok = false;
    e.error = "f threw a non-standard exception";
  }
  if (!e.ok) e.f = std::numeric_limits<double>::infinity();
  return e;
}

std::vector<Evaluation> evaluate_all(const Function& f, const std::vector<Vector>& xs, ThreadPool* pool) {
  std::vector<Evaluation> out(xs.size());
  if (pool && xs.size() > 1 && pool->size() > 1) {
    pool->parallel_for(static_cast<int64_t>(xs.size()), [&](int64_t i) { out[i] = evaluate_one(f, xs[i]); });
  } else {
    for (size_t i = 0; i < xs.size(); ++i) out[i] = evaluate_one(f, xs[i]);
  }
  return out;
}

}  // namespace descent::blackbox
