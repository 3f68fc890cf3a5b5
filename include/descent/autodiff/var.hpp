#pragma once
// Define-by-run automatic differentiation.
//
// A Var is a handle to a node of the computation graph: a value (Tensor) plus, when it
// was computed from inputs that require gradients while recording was on, the primitive
// that produced it and its inputs. Every primitive is a subclass of Node that states its
// reverse-mode rule (vjp) and its forward-mode rule (jvp) beside each other, both written
// in differentiable Var operations (JAX's primitive design; Stan's "rule beside the
// value"). Because the rules are themselves differentiable:
//   * reverse over reverse: backward with create_graph records the backward pass;
//   * forward over reverse: tangents set on the inputs flow through the forward pass and,
//     through the same rules, through the backward pass (the gradient's tangent is Hv).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "descent/core/ops.hpp"
#include "descent/core/tensor.hpp"

namespace descent {

class Var;
struct Node;
using VarList = std::vector<Var>;

class Var {
 public:
  Var() = default;  // undefined; in rules an undefined Var stands for a zero
  // A constant (requires_grad = false) or a leaf variable.
  explicit Var(Tensor value, bool requires_grad = false);
  explicit Var(std::shared_ptr<Node> node) : node_(std::move(node)) {}

  bool defined() const { return node_ != nullptr; }
  const Tensor& value() const;
  const Shape& shape() const { return value().shape(); }
  DType dtype() const { return value().dtype(); }
  int rank() const { return value().rank(); }
  int64_t numel() const { return value().numel(); }
  double item() const { return value().item(); }
  bool requires_grad() const;
  // The forward-mode tangent attached to this value (undefined when none).
  Var tangent() const;
  // Attaches a tangent to a leaf; later operations propagate it (forward mode).
  void set_tangent(const Var& t);
  // Name of the primitive that produced this value ("leaf" for inputs).
  const char* op_name() const;

  Node* node() const { return node_.get(); }
  const std::shared_ptr<Node>& node_ptr() const { return node_; }

 private:
  friend struct Node;
  std::shared_ptr<Node> node_;
};

// ---- the graph node: a primitive's output ----
struct Node : std::enable_shared_from_this<Node> {
  Tensor value;
  VarList inputs;          // kept only when requires_grad
  Var tangent;             // forward-mode tangent of value
  uint64_t sequence = 0;   // creation order: reverse order is a topological order
  bool requires_grad = false;

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Releases the inputs iteratively: a long chain of nodes is freed without recursion.
  virtual ~Node();
  virtual const char* name() const { return "leaf"; }
  // Cotangents for each input given the cotangent g of this output; an entry may be left
  // undefined when needs_input_grad is false or the input's contribution is zero.
  virtual VarList vjp(const Var& g, const std::vector<bool>& needs_input_grad) { return {}; }
  // Tangent of this output given input tangents (undefined = zero). Runs with recording
  // off (tangents are not themselves differentiated in reverse mode), so a rule may use
  // the output's value as a constant: out().
  virtual Var jvp(const VarList& input_tangents) { return {}; }

  Var output() { return Var(shared_from_this()); }
  // The output's value as a constant (no graph): for jvp rules and non-differentiable uses.
  Var out() const { return Var(value); }
  const Var& input(size_t i) const { return inputs[i]; }
};

// ---- recording and debug modes (thread-local) ----
bool is_recording();
// RAII: inside, operations record no graph (like torch.no_grad).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};
// NaN/Inf debug mode: when on, every primitive checks its output (and every backward rule
// its cotangents) and throws NonFiniteError naming the first op that was not finite.
void set_detect_anomaly(bool on);
bool detect_anomaly();
class AnomalyGuard {
 public:
  explicit AnomalyGuard(bool on = true);
  ~AnomalyGuard();

 private:
  bool previous_;
};

// ---- building primitives ----
namespace detail {
// Wraps a computed value as the output of primitive node N with the given inputs: decides
// requires_grad, keeps inputs only when needed, runs N's jvp when an input has a tangent,
// and applies the anomaly check.
template <class N, class... Args>
Var make_node(Tensor value, VarList inputs, Args&&... args);
Var finish_node(std::shared_ptr<Node> node, Tensor value, VarList inputs);
}  // namespace detail

template <class N, class... Args>
Var detail::make_node(Tensor value, VarList inputs, Args&&... args) {
  return finish_node(std::make_shared<N>(std::forward<Args>(args)...), std::move(value), std::move(inputs));
}

// ---- primitives (each defined with its vjp and jvp in src/autodiff/primitives/) ----
// Element-wise, one input.
Var neg(const Var& x);
Var exp(const Var& x);
Var log(const Var& x);
Var sqrt(const Var& x);
Var abs(const Var& x);
Var tanh(const Var& x);
Var sigmoid(const Var& x);
Var relu(const Var& x);
Var softplus(const Var& x);
Var erf(const Var& x);
Var pow(const Var& x, double p);
Var square(const Var& x);
// Element-wise, broadcasting.
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var pow(const Var& a, const Var& b);  // a > 0 where b varies
Var add(const Var& a, double c);
Var mul(const Var& a, double c);
Var maximum(const Var& a, const Var& b);
Var minimum(const Var& a, const Var& b);
// mask ? a : b (mask: a bool Tensor, not differentiated).
Var where(const Tensor& mask, const Var& a, const Var& b);
Var clamp(const Var& x, double lo, double hi);
// Linear algebra.
// op(a) @ op(b), op transposing the last two axes when flagged: 2-D x 2-D, batched 3-D x
// 3-D, [..., m, k] x [k, n] (leading axes folded into rows), and 2-D x 3-D / 3-D x 2-D
// (the matrix broadcast over the batch).
Var matmul(const Var& a, const Var& b, bool transpose_a = false, bool transpose_b = false);
Var transpose(const Var& x);  // swaps the last two axes
Var permute(const Var& x, const std::vector<int>& perm);
// Shape.
Var reshape(const Var& x, const Shape& shape);
Var broadcast_to(const Var& x, const Shape& shape);
Var sum_to(const Var& x, const Shape& shape);
// Reductions (empty axes = all).
Var sum(const Var& x, const Axes& axes = {}, bool keepdims = false);
Var mean(const Var& x, const Axes& axes = {}, bool keepdims = false);
Var max(const Var& x, const Axes& axes = {}, bool keepdims = false);  // ties share the gradient
Var logsumexp(const Var& x, int axis, bool keepdims = false);
Var softmax(const Var& x, int axis);
Var log_softmax(const Var& x, int axis);
// Indexing.
Var slice(const Var& x, int axis, int64_t start, int64_t stop, int64_t step = 1);
Var slice_scatter(const Var& x, const Shape& full, int axis, int64_t start, int64_t step = 1);
Var concat(const VarList& xs, int axis);
Var gather(const Var& x, int axis, const Tensor& index);
Var scatter_add(const Var& src, const Shape& shape, int axis, const Tensor& index);
Var index_select(const Var& x, int axis, const Tensor& index);
Var index_add(const Var& src, const Shape& shape, int axis, const Tensor& index);
// Identity in value, zero derivative: gradients (and tangents) do not flow through it.
Var stop_gradient(const Var& x);

// Operators.
inline Var operator+(const Var& a, const Var& b) { return add(a, b); }
inline Var operator-(const Var& a, const Var& b) { return sub(a, b); }
inline Var operator*(const Var& a, const Var& b) { return mul(a, b); }
inline Var operator/(const Var& a, const Var& b) { return div(a, b); }
inline Var operator-(const Var& a) { return neg(a); }
inline Var operator+(const Var& a, double c) { return add(a, c); }
inline Var operator+(double c, const Var& a) { return add(a, c); }
inline Var operator-(const Var& a, double c) { return add(a, -c); }
inline Var operator-(double c, const Var& a) { return add(neg(a), c); }
inline Var operator*(const Var& a, double c) { return mul(a, c); }
inline Var operator*(double c, const Var& a) { return mul(a, c); }
inline Var operator/(const Var& a, double c) { return mul(a, 1.0 / c); }

// A constant with the value `c`, shape [] and x's dtype.
Var scalar_like(const Var& x, double c);

}  // namespace descent
