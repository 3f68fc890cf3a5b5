// Convolution and pooling: conv2d and its two backward passes (bilinear, each one's VJP
// written with the other two, so every order of differentiation runs on core/conv.hpp's
// kernels); im2col and its adjoint col2im (linear, each the other's VJP), and pooling
// composed from them and from gather.
#include "descent/autodiff/autodiff.hpp"

#include "../rules.hpp"

namespace descent {
using namespace detail;

namespace {

struct Im2colNode final : Node {
  Window2d win;
  explicit Im2colNode(const Window2d& w) : win(w) {}
  const char* name() const override { return "im2col"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {col2im(g, input(0).shape(), win)}; }
  Var jvp(const VarList& t) override { return im2col(t[0], win); }
};

struct Col2imNode final : Node {
  Window2d win;
  explicit Col2imNode(const Window2d& w) : win(w) {}
  const char* name() const override { return "col2im"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override { return {im2col(g, win)}; }
  Var jvp(const VarList& t) override { return col2im(t[0], value.shape(), win); }
};

Tensor tangent_or_empty(const Var& t) { return t.defined() ? t.value() : Tensor(); }

// a + b where an undefined tensor is zero.
Tensor add_defined(Tensor a, const Tensor& b) {
  if (!a.defined()) return b;
  if (b.defined()) add_inplace(a, b);
  return a;
}

// y = conv(x, w) + b. With gy the output's cotangent:
//   x̄ = conv2d_backward_data(gy, w),  w̄ = conv2d_backward_weights(x, gy),  b̄ = Σ_{n,h,w} gy.
// Tangent: conv(ẋ, w) + conv(x, ẇ) + ḃ (the bias tangent rides on the first convolution).
struct Conv2dNode final : Node {
  ConvSpec spec;
  explicit Conv2dNode(const ConvSpec& s) : spec(s) {}
  const char* name() const override { return "conv2d"; }
  VarList vjp(const Var& g, const std::vector<bool>& need) override {
    const Var &x = input(0), &w = input(1);
    const bool bias = inputs.size() == 3;
    Var dx, dw, db;
    if (need[0]) dx = conv2d_backward_data(g, w, x.shape(), spec);
    if (bias && need[1] && need[2] && plain({&g, &x, &w})) {
      // First order, nothing recorded: the weight and bias gradients in one pass of the kernel.
      Tensor gb;
      dw = Var(descent::conv2d_backward_weights(x.value(), g.value(), w.shape(), spec, &gb));
      db = Var(std::move(gb));
      return {dx, dw, db};
    }
    if (need[1]) dw = conv2d_backward_weights(x, g, w.shape(), spec);
    if (bias && need[2]) db = sum(g, {0, 2, 3});
    if (bias) return {dx, dw, db};
    return {dx, dw};
  }
  Var jvp(const VarList& t) override {
    const Tensor tb = t.size() == 3 ? tangent_or_empty(t[2]) : Tensor();
    Tensor r;
    if (t[0].defined()) r = conv2d_forward(t[0].value(), input(1).value(), tb, spec);
    if (t[1].defined())
      r = add_defined(std::move(r), conv2d_forward(input(0).value(), t[1].value(), r.defined() ? Tensor() : tb, spec));
    if (!r.defined() && tb.defined())
      r = conv2d_forward(Tensor::zeros(input(0).shape(), tb.dtype()), input(1).value(), tb, spec);
    return r.defined() ? Var(std::move(r)) : Var();
  }
};

// x̄ = D(g, w) := conv2d_backward_data(g, w), bilinear: ⟨u, D(g, w)⟩ = ⟨conv(u, w), g⟩ = ⟨W(u, g), w⟩
// with W = conv2d_backward_weights, so ḡ = conv(u, w) and w̄ = W(u, g).
struct Conv2dBackwardDataNode final : Node {
  ConvSpec spec;
  explicit Conv2dBackwardDataNode(const ConvSpec& s) : spec(s) {}
  const char* name() const override { return "conv2d_backward_data"; }
  VarList vjp(const Var& u, const std::vector<bool>& need) override {
    const Var &g = input(0), &w = input(1);
    Var dg, dw;
    if (need[0]) dg = conv2d(u, w, Var(), spec);
    if (need[1]) dw = conv2d_backward_weights(u, g, w.shape(), spec);
    return {dg, dw};
  }
  Var jvp(const VarList& t) override {
    const Shape& xs = value.shape();
    Tensor r;
    if (t[0].defined()) r = descent::conv2d_backward_data(t[0].value(), input(1).value(), xs, spec);
    if (t[1].defined())
      r = add_defined(std::move(r), descent::conv2d_backward_data(input(0).value(), t[1].value(), xs, spec));
    return r.defined() ? Var(std::move(r)) : Var();
  }
};

// w̄ = W(x, g) := conv2d_backward_weights(x, g), bilinear: ⟨u, W(x, g)⟩ = ⟨g, conv(x, u)⟩ = ⟨D(g, u), x⟩,
// so x̄ = D(g, u) and ḡ = conv(x, u).
struct Conv2dBackwardWeightsNode final : Node {
  ConvSpec spec;
  explicit Conv2dBackwardWeightsNode(const ConvSpec& s) : spec(s) {}
  const char* name() const override { return "conv2d_backward_weights"; }
  VarList vjp(const Var& u, const std::vector<bool>& need) override {
    const Var &x = input(0), &g = input(1);
    Var dx, dg;
    if (need[0]) dx = conv2d_backward_data(g, u, x.shape(), spec);
    if (need[1]) dg = conv2d(x, u, Var(), spec);
    return {dx, dg};
  }
  Var jvp(const VarList& t) override {
    const Shape& ws = value.shape();
    Tensor r;
    if (t[0].defined()) r = descent::conv2d_backward_weights(t[0].value(), input(1).value(), ws, spec);
    if (t[1].defined())
      r = add_defined(std::move(r), descent::conv2d_backward_weights(input(0).value(), t[1].value(), ws, spec));
    return r.defined() ? Var(std::move(r)) : Var();
  }
};

// max pooling with its choices fixed: linear, P x = gather(x, index) per plane; the VJP
// scatters into the chosen positions (scatter_add, whose own VJP is the gather again).
struct MaxPool2dNode final : Node {
  Tensor index;  // [N·C, OH·OW]: flat positions in the H·W plane
  Shape in_shape;
  MaxPool2dNode(Tensor i, Shape s) : index(std::move(i)), in_shape(s) {}
  const char* name() const override { return "max_pool2d"; }
  VarList vjp(const Var& g, const std::vector<bool>&) override {
    const int64_t planes = in_shape[0] * in_shape[1];
    Var flat = reshape(g, Shape{planes, value.dim(2) * value.dim(3)});
    return {reshape(scatter_add(flat, Shape{planes, in_shape[2] * in_shape[3]}, 1, index), in_shape)};
  }
  Var jvp(const VarList& t) override {
    const int64_t planes = in_shape[0] * in_shape[1];
    return Var(gather(t[0].value().reshape({planes, in_shape[2] * in_shape[3]}), 1, index).reshape(value.shape()));
  }
};

}  // namespace

Var conv2d(const Var& x, const Var& w, const Var& b, const ConvSpec& spec) {
  Tensor y = conv2d_forward(x.value(), w.value(), b.defined() ? b.value() : Tensor(), spec);
  if (b.defined()) return make_node<Conv2dNode>(std::move(y), {x, w, b}, spec);
  return make_node<Conv2dNode>(std::move(y), {x, w}, spec);
}

Var conv2d_backward_data(const Var& g, const Var& w, const Shape& x_shape, const ConvSpec& spec) {
  return make_node<Conv2dBackwardDataNode>(descent::conv2d_backward_data(g.value(), w.value(), x_shape, spec), {g, w},
                                           spec);
}

Var conv2d_backward_weights(const Var& x, const Var& g, const Shape& w_shape, const ConvSpec& spec) {
  return make_node<Conv2dBackwardWeightsNode>(descent::conv2d_backward_weights(x.value(), g.value(), w_shape, spec),
                                              {x, g}, spec);
}

Var im2col(const Var& x, const Window2d& w) { return make_node<Im2colNode>(im2col(x.value(), w), {x}, w); }

Var col2im(const Var& cols, const Shape& x_shape, const Window2d& w) {
  return make_node<Col2imNode>(col2im(cols.value(), x_shape, w), {cols}, w);
}

Var max_pool2d(const Var& x, const Window2d& w) {
  Tensor index;
  Tensor y = max_pool2d(x.value(), w, index);
  return make_node<MaxPool2dNode>(std::move(y), {x}, std::move(index), x.shape());
}

Var avg_pool2d(const Var& x, const Window2d& w) {
  const Shape& s = x.shape();
  DESCENT_CHECK(s.rank() == 4, ShapeError, "avg_pool2d: expects [N, C, H, W], got {}", s);
  const int64_t oh = w.out_h(s[2]), ow = w.out_w(s[3]);
  Var cols = im2col(reshape(x, Shape{s[0] * s[1], 1, s[2], s[3]}), w);  // [N*C, kh*kw, OH*OW]
  return reshape(mean(cols, {1}), Shape{s[0], s[1], oh, ow});
}

}  // namespace descent
