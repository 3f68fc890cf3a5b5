#pragma once
// Shared helpers for writing primitives' vjp and jvp rules (private to autodiff).
#include "descent/autodiff/var.hpp"
#include "descent/core/fused.hpp"

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

// Set by hessian_vector_product (forward over reverse) while only the tangents of the
// leaves' cotangents are wanted, not their values: rules may then give a leaf a cotangent
// whose value is zeros and whose tangent is exact (skipping, e.g., the weight-gradient gemm).
bool leaf_cotangent_values_unused();
class LeafTangentOnlyGuard {
 public:
  LeafTangentOnlyGuard();
  ~LeafTangentOnlyGuard();

 private:
  bool previous_;
};
// True when a rule's result needs neither a graph nor a tangent: recording is off and none
// of `vs` carries a tangent. Rules then may use fused eager kernels.
inline bool plain(std::initializer_list<const Var*> vs) {
  if (is_recording()) return false;
  for (const Var* v : vs)
    if (v->defined() && v->node()->tangent.defined()) return false;
  return true;
}
inline bool is_leaf(const Var& v) { return v.defined() && v.node()->inputs.empty(); }

// A constant result with a tangent attached (for fast paths of linear rules whose
// coefficients are constants; only valid while recording is off).
inline Var with_tangent(Tensor value, Tensor tangent) {
  Var r(std::move(value));
  if (tangent.defined()) r.set_tangent(Var(std::move(tangent)));
  return r;
}

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
