// Element-wise primitives. Each Node states d(output) as a VJP rule and a JVP rule, in
// differentiable operations, so that derivatives of derivatives come from the same rules.
// JVP rules run with recording off and use the output's value as a constant (out()); they
// never refer to output(), whose node would then be held by its own tangent.
#include <cmath>
#include <numbers>

#include "../rules.hpp"

namespace descent {
using namespace detail;

namespace {

Var mask_select(const Tensor& mask, const Var& g) { return where(mask, g, zero_like(g)); }

// g · 1[x > 0]: linear in g with a constant mask. Unrecorded, it is one fused kernel (and
// the same kernel on g's tangent); recorded, a differentiable where.
Var relu_select(const Var& x, const Var& g) {
  if (!is_recording() && g.shape() == x.shape() && g.dtype() == x.dtype()) {
    const Var t = g.tangent();
    return with_tangent(relu_backward(g.value(), x.value()),
                        t.defined() ? relu_backward(t.value(), x.value()) : Tensor());
  }
  return mask_select(greater(x.value(), 0.0), g);
}

// ---- one input ----

struct NegNode final : Node {
  const char* name() const override { return "neg"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {neg(g)}; }
  Var jvp(const VarList& t) override { return neg(t[0]); }
};

// d e^x = e^x dx
struct ExpNode final : Node {
  const char* name() const override { return "exp"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {g * output()}; }
  Var jvp(const VarList& t) override { return t[0] * out(); }
};

// d log x = dx / x
struct LogNode final : Node {
  const char* name() const override { return "log"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {g / input(0)}; }
  Var jvp(const VarList& t) override { return t[0] / input(0); }
};

// d √x = dx / (2√x)
struct SqrtNode final : Node {
  const char* name() const override { return "sqrt"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {g / (output() * 2.0)}; }
  Var jvp(const VarList& t) override { return t[0] / (out() * 2.0); }
};

// d|x| = sign(x) dx (0 at the kink)
struct AbsNode final : Node {
  const char* name() const override { return "abs"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {g * constant(sign(input(0).value()))}; }
  Var jvp(const VarList& t) override { return t[0] * constant(sign(input(0).value())); }
};

// d tanh x = (1 − tanh² x) dx
struct TanhNode final : Node {
  const char* name() const override { return "tanh"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override {
    if (!tangent.defined() && plain({&g})) return {Var(tanh_backward(g.value(), value))};
    const Var y = output();
    return {g * (1.0 - y * y)};
  }
  Var jvp(const VarList& t) override {
    const Var y = out();
    return t[0] * (1.0 - y * y);
  }
};

// d σ(x) = σ(x)(1 − σ(x)) dx
struct SigmoidNode final : Node {
  const char* name() const override { return "sigmoid"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override {
    if (!tangent.defined() && plain({&g})) return {Var(sigmoid_backward(g.value(), value))};
    const Var y = output();
    return {g * (y * (1.0 - y))};
  }
  Var jvp(const VarList& t) override {
    const Var y = out();
    return t[0] * (y * (1.0 - y));
  }
};

// d relu(x) = 1[x > 0] dx; at x = NaN the gradient passes on, as in PyTorch (relu(NaN) = NaN)
struct ReluNode final : Node {
  const char* name() const override { return "relu"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {relu_select(input(0), g)}; }
  Var jvp(const VarList& t) override { return relu_select(input(0), t[0]); }
};

// d softplus(x) = σ(x) dx
struct SoftplusNode final : Node {
  const char* name() const override { return "softplus"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {g * sigmoid(input(0))}; }
  Var jvp(const VarList& t) override { return t[0] * sigmoid(input(0)); }
};

// d erf(x) = (2/√π) e^{−x²} dx
struct ErfNode final : Node {
  const char* name() const override { return "erf"; }
  static Var slope(const Var& x) { return exp(neg(square(x))) * (2.0 / std::sqrt(std::numbers::pi)); }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {g * slope(input(0))}; }
  Var jvp(const VarList& t) override { return t[0] * slope(input(0)); }
};

// d x^p = p x^{p−1} dx
struct PowScalarNode final : Node {
  double p;
  explicit PowScalarNode(double p_) : p(p_) {}
  const char* name() const override { return "pow"; }
  Var slope(const Var& x) const { return p == 1.0 ? scalar_like(x, 1.0) : pow(x, p - 1.0) * p; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {g * slope(input(0))}; }
  Var jvp(const VarList& t) override { return expand_to(t[0] * slope(input(0)), value.shape()); }
};

// d x² = 2x dx
struct SquareNode final : Node {
  const char* name() const override { return "square"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {g * (input(0) * 2.0)}; }
  Var jvp(const VarList& t) override { return t[0] * (input(0) * 2.0); }
};

struct AddScalarNode final : Node {
  const char* name() const override { return "add_scalar"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {g}; }
  Var jvp(const VarList& t) override { return t[0]; }
};

struct MulScalarNode final : Node {
  double c;
  explicit MulScalarNode(double c_) : c(c_) {}
  const char* name() const override { return "mul_scalar"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {g * c}; }
  Var jvp(const VarList& t) override { return t[0] * c; }
};

// ---- two inputs, broadcasting: cotangents are summed back to each input's shape ----

struct AddNode final : Node {
  const char* name() const override { return "add"; }
  VarList vjp(const Var& g, const std::vector<bool>& need) override {
    return {need[0] ? reduce_to(g, input(0).shape()) : Var(), need[1] ? reduce_to(g, input(1).shape()) : Var()};
  }
  Var jvp(const VarList& t) override { return expand_to(add_tangents(t[0], t[1]), value.shape()); }
};

struct SubNode final : Node {
  const char* name() const override { return "sub"; }
  VarList vjp(const Var& g, const std::vector<bool>& need) override {
    return {need[0] ? reduce_to(g, input(0).shape()) : Var(),
            need[1] ? reduce_to(neg(g), input(1).shape()) : Var()};
  }
  Var jvp(const VarList& t) override {
    return expand_to(add_tangents(t[0], t[1].defined() ? neg(t[1]) : Var()), value.shape());
  }
};

// d(ab) = b da + a db
struct MulNode final : Node {
  const char* name() const override { return "mul"; }
  VarList vjp(const Var& g, const std::vector<bool>& need) override {
    return {need[0] ? reduce_to(g * input(1), input(0).shape()) : Var(),
            need[1] ? reduce_to(g * input(0), input(1).shape()) : Var()};
  }
  Var jvp(const VarList& t) override {
    return expand_to(add_tangents(t[0].defined() ? t[0] * input(1) : Var(),
                                  t[1].defined() ? input(0) * t[1] : Var()),
                     value.shape());
  }
};

// d(a/b) = da/b − a db/b²
struct DivNode final : Node {
  const char* name() const override { return "div"; }
  VarList vjp(const Var& g, const std::vector<bool>& need) override {
    const Var& b = input(1);
    return {need[0] ? reduce_to(g / b, input(0).shape()) : Var(),
            need[1] ? reduce_to(neg(g * output()) / b, b.shape()) : Var()};
  }
  Var jvp(const VarList& t) override {
    const Var &a = input(0), &b = input(1);
    return expand_to(add_tangents(t[0].defined() ? t[0] / b : Var(),
                                  t[1].defined() ? neg(t[1] * a) / (b * b) : Var()),
                     value.shape());
  }
};

// d(a^b) = b a^{b−1} da + a^b log(a) db
struct PowNode final : Node {
  const char* name() const override { return "pow"; }
  VarList vjp(const Var& g, const std::vector<bool>& need) override {
    const Var &a = input(0), &b = input(1);
    return {need[0] ? reduce_to(g * b * pow(a, b - 1.0), a.shape()) : Var(),
            need[1] ? reduce_to(g * output() * log(a), b.shape()) : Var()};
  }
  Var jvp(const VarList& t) override {
    const Var &a = input(0), &b = input(1);
    return expand_to(add_tangents(t[0].defined() ? t[0] * b * pow(a, b - 1.0) : Var(),
                                  t[1].defined() ? t[1] * out() * log(a) : Var()),
                     value.shape());
  }
};

// Selects between two operands by a constant mask (where, maximum, minimum).
struct SelectNode final : Node {
  Tensor mask;
  const char* op;
  SelectNode(Tensor m, const char* name_) : mask(std::move(m)), op(name_) {}
  const char* name() const override { return op; }
  VarList vjp(const Var& g, const std::vector<bool>& need) override {
    const Var z = zero_like(g);
    return {need[0] ? reduce_to(where(mask, g, z), input(0).shape()) : Var(),
            need[1] ? reduce_to(where(mask, z, g), input(1).shape()) : Var()};
  }
  Var jvp(const VarList& t) override {
    const Var z = zero_like(input(0));
    return expand_to(where(mask, t[0].defined() ? t[0] : z, t[1].defined() ? t[1] : z), value.shape());
  }
};

// clamp: derivative 1 inside [lo, hi], 0 outside.
struct ClampNode final : Node {
  Tensor inside;
  explicit ClampNode(Tensor m) : inside(std::move(m)) {}
  const char* name() const override { return "clamp"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {mask_select(inside, g)}; }
  Var jvp(const VarList& t) override { return mask_select(inside, t[0]); }
};

}  // namespace

Var neg(const Var& x) { return make_node<NegNode>(neg(x.value()), {x}); }
Var exp(const Var& x) { return make_node<ExpNode>(exp(x.value()), {x}); }
Var log(const Var& x) { return make_node<LogNode>(log(x.value()), {x}); }
Var sqrt(const Var& x) { return make_node<SqrtNode>(sqrt(x.value()), {x}); }
Var abs(const Var& x) { return make_node<AbsNode>(abs(x.value()), {x}); }
Var tanh(const Var& x) { return make_node<TanhNode>(tanh(x.value()), {x}); }
Var sigmoid(const Var& x) { return make_node<SigmoidNode>(sigmoid(x.value()), {x}); }
Var relu(const Var& x) { return make_node<ReluNode>(relu(x.value()), {x}); }
Var softplus(const Var& x) { return make_node<SoftplusNode>(softplus(x.value()), {x}); }
Var erf(const Var& x) { return make_node<ErfNode>(erf(x.value()), {x}); }
Var square(const Var& x) { return make_node<SquareNode>(square(x.value()), {x}); }
Var pow(const Var& x, double p) {
  if (p == 0.0) return Var(Tensor::ones(x.shape(), x.dtype()));
  if (p == 2.0) return square(x);
  return make_node<PowScalarNode>(pow(x.value(), p), {x}, p);
}
Var add(const Var& a, double c) { return make_node<AddScalarNode>(add(a.value(), c), {a}); }
Var mul(const Var& a, double c) { return make_node<MulScalarNode>(mul(a.value(), c), {a}, c); }

Var add(const Var& a, const Var& b) { return make_node<AddNode>(add(a.value(), b.value()), {a, b}); }
Var sub(const Var& a, const Var& b) { return make_node<SubNode>(sub(a.value(), b.value()), {a, b}); }
Var mul(const Var& a, const Var& b) { return make_node<MulNode>(mul(a.value(), b.value()), {a, b}); }
Var div(const Var& a, const Var& b) { return make_node<DivNode>(div(a.value(), b.value()), {a, b}); }
Var pow(const Var& a, const Var& b) { return make_node<PowNode>(pow(a.value(), b.value()), {a, b}); }

Var where(const Tensor& mask, const Var& a, const Var& b) {
  Tensor out = where(mask, a.value(), b.value());
  return make_node<SelectNode>(std::move(out), {a, b}, mask, "where");
}
// The NaN operand is selected (its value and its gradient), as in torch.maximum.
Var maximum(const Var& a, const Var& b) {
  Tensor mask = logical_or(greater_equal(a.value(), b.value()), isnan(a.value()));
  Tensor out = where(mask, a.value(), b.value());
  return make_node<SelectNode>(std::move(out), {a, b}, std::move(mask), "maximum");
}
Var minimum(const Var& a, const Var& b) {
  Tensor mask = logical_or(less_equal(a.value(), b.value()), isnan(a.value()));
  Tensor out = where(mask, a.value(), b.value());
  return make_node<SelectNode>(std::move(out), {a, b}, std::move(mask), "minimum");
}
Var clamp(const Var& x, double lo, double hi) {
  Tensor out = clamp(x.value(), lo, hi);
  const Tensor& v = x.value();
  Tensor inside = logical_and(greater_equal(v, Tensor::scalar(lo, v.dtype())),
                              less_equal(v, Tensor::scalar(hi, v.dtype())));
  return make_node<ClampNode>(std::move(out), {x}, std::move(inside));
}

Var stop_gradient(const Var& x) { return Var(x.value()); }

}  // namespace descent
