#pragma once
// What every black-box method shares: the function type, box bounds, one recorded
// evaluation, and failure-safe (optionally parallel) evaluation of a batch of points.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "descent/core/rng.hpp"
#include "descent/core/thread_pool.hpp"

namespace descent::blackbox {

using Vector = Eigen::VectorXd;
using Matrix = Eigen::MatrixXd;

// A plain function to minimize. It may throw or return NaN: that evaluation is recorded
// as a failure, and the optimizer sees +infinity there.
using Function = std::function<double(const Vector&)>;

// An axis-aligned box lower <= x <= upper.
class Bounds {
 public:
  Bounds() = default;
  // Throws InputError when the sizes differ, a bound is NaN, or lower > upper somewhere.
  Bounds(Vector lower, Vector upper);
  static Bounds cube(Eigen::Index dim, double lower, double upper);

  Eigen::Index dim() const { return lower_.size(); }
  bool empty() const { return lower_.size() == 0; }
  const Vector& lower() const { return lower_; }
  const Vector& upper() const { return upper_; }
  Vector width() const { return upper_ - lower_; }
  Vector center() const { return 0.5 * (lower_ + upper_); }
  bool contains(const Vector& x) const;
  Vector clip(const Vector& x) const;
  Vector sample(Rng& rng) const;  // uniform in the box
  // Maps u in [0,1]^d to the box and back.
  Vector from_unit(const Vector& u) const { return lower_ + width().cwiseProduct(u); }
  Vector to_unit(const Vector& x) const;

 private:
  Vector lower_, upper_;
};

// One evaluation of f, as recorded.
struct Evaluation {
  Vector x;
  double f = 0.0;      // +infinity when the evaluation failed
  bool ok = true;
  std::string error;   // why it failed (exception text, "returned NaN", "timed out", ...)
};

// Evaluates f at every point. An exception or a non-finite value becomes a failed
// Evaluation (f = +inf) instead of propagating. With a pool (and more than one point),
// points are evaluated in parallel; results are in input order either way.
std::vector<Evaluation> evaluate_all(const Function& f, const std::vector<Vector>& xs,
                                     ThreadPool* pool = nullptr);
Evaluation evaluate_one(const Function& f, const Vector& x);

}  // namespace descent::blackbox
