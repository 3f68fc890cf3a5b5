// Slicing, concatenation and gather/scatter primitives. Each pair (slice / slice_scatter,
// gather / scatter_add, index_select / index_add) are adjoint linear maps: each one's VJP
// is the other, and each one's JVP is itself applied to the tangent.
#include "../rules.hpp"

namespace descent {
using namespace detail;

namespace {

struct SliceNode final : Node {
  int axis;
  int64_t start, stop, step;
  SliceNode(int a, int64_t b, int64_t e, int64_t s) : axis(a), start(b), stop(e), step(s) {}
  const char* name() const override { return "slice"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override {
    return {slice_scatter(g, input(0).shape(), axis, start, step)};
  }
  Var jvp(const VarList& t) override { return slice(t[0], axis, start, stop, step); }
};

struct SliceScatterNode final : Node {
  int axis;
  int64_t start, step;
  SliceScatterNode(int a, int64_t b, int64_t s) : axis(a), start(b), step(s) {}
  const char* name() const override { return "slice_scatter"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override {
    const int64_t len = input(0).shape()[axis];
    return {slice(g, axis, start, len == 0 ? start : start + (len - 1) * step + 1, step)};
  }
  Var jvp(const VarList& t) override { return slice_scatter(t[0], value.shape(), axis, start, step); }
};

struct ConcatNode final : Node {
  int axis;
  explicit ConcatNode(int a) : axis(a) {}
  const char* name() const override { return "concat"; }
  VarList vjp(const Var& g, const std::vector<bool>& need) override {
    VarList out(inputs.size());
    int64_t at = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const int64_t len = inputs[i].shape()[axis];
      if (need[i]) out[i] = slice(g, axis, at, at + len);
      at += len;
    }
    return out;
  }
  Var jvp(const VarList& t) override {
    VarList parts(t.size());
    for (size_t i = 0; i < t.size(); ++i) parts[i] = t[i].defined() ? t[i] : zeros_of(inputs[i]);
    return concat(parts, axis);
  }
};

struct GatherNode final : Node {
  int axis;
  Tensor index;
  GatherNode(int a, Tensor i) : axis(a), index(std::move(i)) {}
  const char* name() const override { return "gather"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override {
    return {scatter_add(g, input(0).shape(), axis, index)};
  }
  Var jvp(const VarList& t) override { return gather(t[0], axis, index); }
};

struct ScatterAddNode final : Node {
  int axis;
  Tensor index;
  ScatterAddNode(int a, Tensor i) : axis(a), index(std::move(i)) {}
  const char* name() const override { return "scatter_add"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {gather(g, axis, index)}; }
  Var jvp(const VarList& t) override { return scatter_add(t[0], value.shape(), axis, index); }
};

struct IndexSelectNode final : Node {
  int axis;
  Tensor index;
  IndexSelectNode(int a, Tensor i) : axis(a), index(std::move(i)) {}
  const char* name() const override { return "index_select"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override {
    return {index_add(g, input(0).shape(), axis, index)};
  }
  Var jvp(const VarList& t) override { return index_select(t[0], axis, index); }
};

struct IndexAddNode final : Node {
  int axis;
  Tensor index;
  IndexAddNode(int a, Tensor i) : axis(a), index(std::move(i)) {}
  const char* name() const override { return "index_add"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {index_select(g, axis, index)}; }
  Var jvp(const VarList& t) override { return index_add(t[0], value.shape(), axis, index); }
};

}  // namespace

Var slice(const Var& x, int axis, int64_t start, int64_t stop, int64_t step) {
  const int a = x.shape().normalize_axis(axis);
  if (start == 0 && stop == x.shape()[a] && step == 1) return x;
  return make_node<SliceNode>(slice(x.value(), a, start, stop, step), {x}, a, start, stop, step);
}

Var slice_scatter(const Var& x, const Shape& full, int axis, int64_t start, int64_t step) {
  const int a = full.normalize_axis(axis);
  return make_node<SliceScatterNode>(slice_scatter(x.value(), full, a, start, step), {x}, a, start, step);
}

Var concat(const VarList& xs, int axis) {
  DESCENT_CHECK(!xs.empty(), ShapeError, "concat: no variables given");
  if (xs.size() == 1) return xs[0];
  const int a = xs[0].shape().normalize_axis(axis);
  std::vector<Tensor> vs;
  vs.reserve(xs.size());
  for (const Var& x : xs) vs.push_back(x.value());
  return make_node<ConcatNode>(concat(vs, a), VarList(xs), a);
}

Var gather(const Var& x, int axis, const Tensor& index) {
  const int a = x.shape().normalize_axis(axis);
  return make_node<GatherNode>(gather(x.value(), a, index), {x}, a, index);
}

Var scatter_add(const Var& src, const Shape& shape, int axis, const Tensor& index) {
  const int a = shape.normalize_axis(axis);
  return make_node<ScatterAddNode>(scatter_add(shape, a, index, src.value()), {src}, a, index);
}

Var index_select(const Var& x, int axis, const Tensor& index) {
  const int a = x.shape().normalize_axis(axis);
  return make_node<IndexSelectNode>(index_select(x.value(), a, index), {x}, a, index);
}

Var index_add(const Var& src, const Shape& shape, int axis, const Tensor& index) {
  const int a = shape.normalize_axis(axis);
  return make_node<IndexAddNode>(index_add(shape, a, index, src.value()), {src}, a, index);
}

}  // namespace descent
