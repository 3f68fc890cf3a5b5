#pragma once
// Shared helpers for writing primitives' vjp and jvp rules (private to autodiff).
#include "descent/autodiff/var.hpp"

namespace descent::detail {

// Sets the thread's recording mode for a scope (the backward engine uses it).
class RecordingGuard {
 public:
  explicit RecordingGuard(bool on);
  ~RecordingGuard();

 private:
  bool previous_;
};

// The primitive whose backward rule is running on this thread (nullptr outside one):
// anomaly reports from ops inside a rule name the primitive being differentiated.
class BackwardOfGuard {
 public:
  explicit BackwardOfGuard(const char* op);
  ~BackwardOfGuard();

 private:
  const char* previous_;
};

void check_finite(const Tensor& t, const char* op, const char* what, const VarList& inputs);

// Sum of tangents where undefined means zero.
inline Var add_tangents(const Var& a, const Var& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return add(a, b);
}
// A tangent or cotangent brought to `shape` (broadcast up, or summed down).
inline Var expand_to(const Var& t, const Shape& shape) {
  if (!t.defined() || t.shape() == shape) return t;
  return broadcast_to(t, shape);
}
inline Var reduce_to(const Var& t, const Shape& shape) {
  if (!t.defined() || t.shape() == shape) return t;
  return sum_to(t, shape);
}
// A constant zero scalar of x's dtype (broadcasts anywhere).
inline Var zero_like(const Var& x) { return Var(Tensor::scalar(0.0, x.dtype())); }
inline Var zeros_of(const Var& x) { return Var(Tensor::zeros(x.shape(), x.dtype())); }
// A constant view of a tensor (no gradient flows through it).
inline Var constant(const Tensor& t) { return Var(t); }

}  // namespace descent::detail
