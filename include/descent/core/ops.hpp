#pragma once
// Eager tensor operations: element-wise math with NumPy broadcasting, reductions over
// axes, matrix products through CBLAS, shape and indexing operations. Every operation
// returns a new contiguous tensor; errors name the operation and the shapes involved.
// These are the kernels that the autodiff primitives (descent/autodiff) are built on.
#include <cstdint>
#include <span>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent {

using Axes = std::vector<int>;

// ---- element-wise, one operand (float32/float64) ----
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor square(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor softplus(const Tensor& x);  // log(1 + e^x), computed without overflow
Tensor erf(const Tensor& x);
Tensor pow(const Tensor& x, double p);
Tensor add(const Tensor& x, double c);
Tensor mul(const Tensor& x, double c);

// ---- element-wise, two operands, broadcasting ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);

// Comparisons give bool (u8) masks.
Tensor greater(const Tensor& a, const Tensor& b);
Tensor greater_equal(const Tensor& a, const Tensor& b);
Tensor less(const Tensor& a, const Tensor& b);
Tensor less_equal(const Tensor& a, const Tensor& b);
Tensor equal(const Tensor& a, const Tensor& b);
Tensor greater(const Tensor& a, double c);
Tensor less(const Tensor& a, double c);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);
Tensor isnan(const Tensor& a);  // bool mask of the NaN entries of a floating tensor

// mask ? a : b, broadcasting all three.
Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);
Tensor clamp(const Tensor& x, double lo, double hi);

// ---- reductions (empty axes = all axes) ----
// The axes sorted, de-duplicated and made non-negative; empty means every axis.
std::vector<int> normalize_axes(const Shape& s, const Axes& axes);
Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor min(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor argmax(const Tensor& x, int axis);  // int64, axis removed; a NaN counts as the maximum (as torch)
Tensor logsumexp(const Tensor& x, int axis, bool keepdims = false);
Tensor softmax(const Tensor& x, int axis);
Tensor log_softmax(const Tensor& x, int axis);
double sum_all(const Tensor& x);
double dot(const Tensor& a, const Tensor& b);  // flattened inner product, same numel
double norm(const Tensor& x);                   // Euclidean norm of the flattened tensor
bool all_finite(const Tensor& x);
// Largest |a - b| / max(|a|, |b|, floor) over elements (same shapes).
double max_relative_difference(const Tensor& a, const Tensor& b, double floor = 1e-12);

// ---- linear algebra ----
// op(a) @ op(b) where op transposes the last two axes when asked. 2-D x 2-D, or
// batched 3-D x 3-D with equal batch. Through cblas_sgemm / cblas_dgemm.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
// C = alpha * op(A) op(B) + beta * C into an existing 2-D tensor.
void gemm_into(Tensor& c, const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b,
               double alpha = 1.0, double beta = 0.0);
// y += alpha * x (same numel and dtype), in place.
void axpy(Tensor& y, double alpha, const Tensor& x);
void scale_inplace(Tensor& x, double alpha);

// ---- shape ----
Tensor transpose(const Tensor& x);  // swaps the last two axes
Tensor permute(const Tensor& x, const std::vector<int>& perm);
Tensor broadcast_to(const Tensor& x, const Shape& shape);
// Sums x over the axes along which `shape` was broadcast to x.shape() (undoes broadcast_to).
Tensor sum_to(const Tensor& x, const Shape& shape);
Tensor contiguous_copy(const Tensor& x);

// ---- slicing and indexing ----
// x[..., start:stop:step, ...] along `axis`.
Tensor slice(const Tensor& x, int axis, int64_t start, int64_t stop, int64_t step = 1);
// Zeros of `full` shape with x written into [start:stop:step] along axis (slice's adjoint).
Tensor slice_scatter(const Tensor& x, const Shape& full, int axis, int64_t start, int64_t step = 1);
Tensor concat(const std::vector<Tensor>& xs, int axis);
// out[..i..] = x[..index[..i..]..] along axis; index is int64 with x's rank.
Tensor gather(const Tensor& x, int axis, const Tensor& index);
// Zeros of `shape`; out[..index[..i..]..] += src[..i..] along axis (gather's adjoint).
Tensor scatter_add(const Shape& shape, int axis, const Tensor& index, const Tensor& src);
// Rows (or slices along axis) picked by a 1-D int64 index.
Tensor index_select(const Tensor& x, int axis, const Tensor& index);
// Copies rows `indices` of `source` (any dtype, rank >= 1) into the first rows of `dest`
// (same dtype and row shape, at least indices.size() rows): mini-batches gathered into
// buffers that are reused every step.
void gather_rows(const Tensor& source, std::span<const int64_t> indices, Tensor& dest);
// Zeros of `shape` with src's slices added at index positions (index_select's adjoint).
Tensor index_add(const Shape& shape, int axis, const Tensor& index, const Tensor& src);

}  // namespace descent
