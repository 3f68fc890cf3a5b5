#pragma once
// 2-D convolution kernels: the forward pass and both backward passes (with respect to the
// input and to the weights), for stride, zero padding, dilation and groups.
//
// float32 runs through oneDNN (the library PyTorch uses for CPU convolutions): primitives
// are created once per shape and kept, the NCHW tensors are reordered into the blocked
// layout the library's AVX-512/AVX2 kernels want inside the call. float64 (which oneDNN lacks) runs through a
// reference path, im2col per group and one GEMM, for gradient checks and float64 models.
// Both are deterministic for a given thread count (set_blas_threads sets oneDNN's too).
#include <cstdint>
#include <string>

#include "descent/core/tensor.hpp"

namespace descent {

// x [N, C, H, W] * w [O, C/groups, kh, kw] → y [N, O, OH, OW] with
// OH = (H + 2 ph − dh (kh − 1) − 1) / sh + 1 (and likewise OW); PyTorch's Conv2d.
struct ConvSpec {
  int64_t sh = 1, sw = 1;  // strides
  int64_t ph = 0, pw = 0;  // zero padding on each side
  int64_t dh = 1, dw = 1;  // dilation (1: a plain kernel)
  int64_t groups = 1;
  int64_t out_h(int64_t h, int64_t kh) const { return (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1; }
  int64_t out_w(int64_t w, int64_t kw) const { return (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1; }
  bool operator==(const ConvSpec&) const = default;
};

// Checks x, w (and b [O] when defined) against each other and the spec; throws ShapeError.
// Returns the output shape.
Shape conv2d_output_shape(const Shape& x, const Shape& w, const ConvSpec& spec);

// y = conv(x, w) + b (b may be undefined).
Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvSpec& spec);
// ∂⟨g, conv(x, w)⟩/∂x for g [N, O, OH, OW]: the transposed convolution, as [N, C, H, W] of x_shape.
Tensor conv2d_backward_data(const Tensor& g, const Tensor& w, const Shape& x_shape, const ConvSpec& spec);
// ∂⟨g, conv(x, w)⟩/∂w, as w_shape; with `bias_grad` also Σ_{n,h,w} g (the bias gradient, [O]),
// computed in the same pass.
Tensor conv2d_backward_weights(const Tensor& x, const Tensor& g, const Shape& w_shape, const ConvSpec& spec,
                               Tensor* bias_grad = nullptr);

// Which implementation the float32 kernels use on this CPU (e.g. "oneDNN jit:avx512_core"),
// for benchmark reports; runs one small convolution to find out.
std::string conv2d_implementation();

}  // namespace descent
