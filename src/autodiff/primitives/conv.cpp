// Convolution and pooling pieces: im2col and its adjoint col2im (linear, each the other's
// VJP), and pooling composed from them and from gather.
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

}  // namespace

Var im2col(const Var& x, const Window2d& w) { return make_node<Im2colNode>(im2col(x.value(), w), {x}, w); }

Var col2im(const Var& cols, const Shape& x_shape, const Window2d& w) {
  return make_node<Col2imNode>(col2im(cols.value(), x_shape, w), {cols}, w);
}

Var max_pool2d(const Var& x, const Window2d& w) {
  const Shape& s = x.shape();
  Tensor index = max_pool2d_indices(x.value(), w);
  const int64_t oh = w.out_h(s[2]), ow = w.out_w(s[3]);
  Var flat = reshape(x, Shape{s[0] * s[1], s[2] * s[3]});
  return reshape(gather(flat, 1, index), Shape{s[0], s[1], oh, ow});
}

Var avg_pool2d(const Var& x, const Window2d& w) {
  const Shape& s = x.shape();
  DESCENT_CHECK(s.rank() == 4, ShapeError, "avg_pool2d: expects [N, C, H, W], got {}", s);
  const int64_t oh = w.out_h(s[2]), ow = w.out_w(s[3]);
  Var cols = im2col(reshape(x, Shape{s[0] * s[1], 1, s[2], s[3]}), w);  // [N*C, kh*kw, OH*OW]
  return reshape(mean(cols, {1}), Shape{s[0], s[1], oh, ow});
}

}  // namespace descent
