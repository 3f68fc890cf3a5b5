#pragma once
// Kernels beyond the basic eager ops: convolution/pooling layout transforms and fused
// kernels that the autodiff rules use on their fast (first-order, unrecorded) paths.
#include <cstdint>

#include "descent/core/tensor.hpp"

namespace descent {

// A 2-D sliding window: kernel kh x kw, strides, zero padding on each side.
struct Window2d {
  int64_t kh = 1, kw = 1;
  int64_t sh = 1, sw = 1;
  int64_t ph = 0, pw = 0;
  int64_t out_h(int64_t h) const { return (h + 2 * ph - kh) / sh + 1; }
  int64_t out_w(int64_t w) const { return (w + 2 * pw - kw) / sw + 1; }
};

// x [N, C, H, W] -> [N, C*kh*kw, OH*OW]; row (c*kh + i)*kw + j, column oh*OW + ow holds
// x[n, c, oh*sh - ph + i, ow*sw - pw + j] (0 outside x).
Tensor im2col(const Tensor& x, const Window2d& w);
// The adjoint of im2col: columns [N, C*kh*kw, OH*OW] summed back into zeros of x_shape.
Tensor col2im(const Tensor& cols, const Shape& x_shape, const Window2d& w);
// For each window of x [N, C, H, W], the flat index (in the H*W plane) of its first maximal
// element, as int64 [N*C, OH*OW]; padded positions never win.
Tensor max_pool2d_indices(const Tensor& x, const Window2d& w);
// Max pooling of x [N, C, H, W] → [N, C, OH, OW] and, in `indices`, the choices of
// max_pool2d_indices, from one pass (windows inside the image skip the bounds checks).
Tensor max_pool2d(const Tensor& x, const Window2d& w, Tensor& indices);

// ---- fused kernels for first-order backward passes ----
// g where x > 0, else 0 (ReLU's VJP), same shapes.
Tensor relu_backward(const Tensor& g, const Tensor& x);
// g * (1 - y²) (tanh's VJP from its output y).
Tensor tanh_backward(const Tensor& g, const Tensor& y);
// g * y * (1 - y) (sigmoid's VJP from its output y).
Tensor sigmoid_backward(const Tensor& g, const Tensor& y);
// g − exp(y) Σ_axis g (log_softmax's VJP from its output y), along the last axis of 2-D
// or any axis of any rank.
Tensor log_softmax_backward(const Tensor& g, const Tensor& y, int axis);
// y ⊙ (g − Σ_axis g ⊙ y) (softmax's VJP from its output y).
Tensor softmax_backward(const Tensor& g, const Tensor& y, int axis);
// x += y in place (same numel and dtype).
void add_inplace(Tensor& x, const Tensor& y);

}  // namespace descent
