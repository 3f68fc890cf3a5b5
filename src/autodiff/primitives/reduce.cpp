// Reductions and the softmax family.
#include <algorithm>

#include "../rules.hpp"

namespace descent {
using namespace detail;

namespace {


// The input's shape with the reduced axes set to 1.
Shape kept_shape(const Shape& in, const std::vector<int>& axes) {
  Shape s = in;
  for (int a : axes) s[a] = 1;
  return s;
}

// A cotangent of the reduced output brought back to the input's shape.
Var spread(const Var& g, const Shape& kept, const Shape& in) { return broadcast_to(reshape(g, kept), in); }

struct SumNode final : Node {
  std::vector<int> axes;
  bool keepdims;
  SumNode(std::vector<int> a, bool k) : axes(std::move(a)), keepdims(k) {}
  const char* name() const override { return "sum"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override {
    const Shape& in = input(0).shape();
    return {spread(g, kept_shape(in, axes), in)};
  }
  Var jvp(const VarList& t) override { return sum(t[0], Axes(axes.begin(), axes.end()), keepdims); }
};

// max: the cotangent goes to the maximal elements, shared equally among ties. `weight` is
// 1/(number of ties) at the maxima and 0 elsewhere (a constant: max is piecewise linear).
struct MaxNode final : Node {
  std::vector<int> axes;
  bool keepdims;
  Tensor weight;
  MaxNode(std::vector<int> a, bool k, Tensor w) : axes(std::move(a)), keepdims(k), weight(std::move(w)) {}
  const char* name() const override { return "max"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override {
    const Shape& in = input(0).shape();
    return {spread(g, kept_shape(in, axes), in) * constant(weight)};
  }
  Var jvp(const VarList& t) override { return sum(t[0] * constant(weight), Axes(axes.begin(), axes.end()), keepdims); }
};

// d logsumexp(x) = ⟨softmax(x), dx⟩ along the axis.
struct LogsumexpNode final : Node {
  int axis;
  bool keepdims;
  LogsumexpNode(int a, bool k) : axis(a), keepdims(k) {}
  const char* name() const override { return "logsumexp"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override {
    const Shape& in = input(0).shape();
    return {spread(g, kept_shape(in, {axis}), in) * softmax(input(0), axis)};
  }
  Var jvp(const VarList& t) override {
    return sum(t[0] * constant(softmax(input(0).value(), axis)), {axis}, keepdims);
  }
};

// y = softmax(x): dy = y ⊙ (dx − ⟨y, dx⟩); the VJP has the same form.
struct SoftmaxNode final : Node {
  int axis;
  explicit SoftmaxNode(int a) : axis(a) {}
  const char* name() const override { return "softmax"; }
  static Var rule(const Var& y, const Var& d, int axis) { return y * (d - sum(d * y, {axis}, true)); }
  VarList vjp(const Var& g, const std::vector<bool>&) override {
    if (!tangent.defined() && plain({&g})) return {Var(softmax_backward(g.value(), value, axis))};
    return {rule(output(), g, axis)};
  }
  Var jvp(const VarList& t) override { return rule(out(), t[0], axis); }
};

// y = log_softmax(x): dy = dx − ⟨softmax(x), dx⟩; VJP: g − softmax(x) Σ g.
struct LogSoftmaxNode final : Node {
  int axis;
  explicit LogSoftmaxNode(int a) : axis(a) {}
  const char* name() const override { return "log_softmax"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override {
    if (!tangent.defined() && plain({&g})) return {Var(log_softmax_backward(g.value(), value, axis))};
    return {g - exp(output()) * sum(g, {axis}, true)};
  }
  Var jvp(const VarList& t) override { return t[0] - sum(t[0] * exp(out()), {axis}, true); }
};

}  // namespace

Var sum(const Var& x, const Axes& axes, bool keepdims) {
  std::vector<int> ax = normalize_axes(x.shape(), axes);
  if (x.rank() == 0) return x;
  Tensor v = sum(x.value(), axes, keepdims);
  return make_node<SumNode>(std::move(v), {x}, std::move(ax), keepdims);
}

Var mean(const Var& x, const Axes& axes, bool keepdims) {
  const std::vector<int> ax = normalize_axes(x.shape(), axes);
  int64_t count = 1;
  for (int a : ax) count *= x.shape()[a];
  DESCENT_CHECK(count > 0, ShapeError, "mean: no elements to average in shape {}", x.shape());
  return sum(x, axes, keepdims) * (1.0 / static_cast<double>(count));
}

Var max(const Var& x, const Axes& axes, bool keepdims) {
  std::vector<int> ax = normalize_axes(x.shape(), axes);
  const Tensor& xv = x.value();
  Tensor kept = max(xv, axes, true);
  Tensor weight;
  if (x.requires_grad() || x.tangent().defined()) {
    Tensor hit = where(equal(xv, kept), Tensor::scalar(1.0, xv.dtype()), Tensor::scalar(0.0, xv.dtype()));
    weight = div(hit, sum(hit, axes, true));
  }
  Tensor v = keepdims ? kept : kept.reshape([&] {
    Shape s;
    for (int i = 0; i < xv.rank(); ++i)
      if (!std::binary_search(ax.begin(), ax.end(), i)) s.push_back(xv.shape()[i]);
    return s;
  }());
  return make_node<MaxNode>(std::move(v), {x}, std::move(ax), keepdims, std::move(weight));
}

Var logsumexp(const Var& x, int axis, bool keepdims) {
  const int a = x.shape().normalize_axis(axis);
  return make_node<LogsumexpNode>(logsumexp(x.value(), a, keepdims), {x}, a, keepdims);
}

Var softmax(const Var& x, int axis) {
  const int a = x.shape().normalize_axis(axis);
  return make_node<SoftmaxNode>(softmax(x.value(), a), {x}, a);
}

Var log_softmax(const Var& x, int axis) {
  const int a = x.shape().normalize_axis(axis);
  return make_node<LogSoftmaxNode>(log_softmax(x.value(), a), {x}, a);
}

}  // namespace descent
