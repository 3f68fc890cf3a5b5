// Slicing, concatenation, gather/scatter and index_select with their adjoints.
#include <algorithm>
#include <cstring>

#include "axis_split.hpp"
#include "descent/core/ops.hpp"

namespace descent {
namespace {

using detail::AxisSplit;
using detail::split_at;

int64_t slice_length(int64_t start, int64_t stop, int64_t step) {
  return stop <= start ? 0 : (stop - start + step - 1) / step;
}

void check_index(const Tensor& index, const char* op) {
  DESCENT_CHECK(index.dtype() == DType::i64, ShapeError, "{}: index must be int64, got {} {}", op,
                dtype_name(index.dtype()), index.shape());
}

}  // namespace

Tensor slice(const Tensor& x, int axis_in, int64_t start, int64_t stop, int64_t step) {
  const int axis = x.shape().normalize_axis(axis_in);
  const int64_t n = x.shape()[axis];
  DESCENT_CHECK(step > 0, ShapeError, "slice: step {} must be positive", step);
  DESCENT_CHECK(0 <= start && start <= stop && stop <= n, ShapeError,
                "slice: range [{}:{}] out of bounds for axis {} of shape {}", start, stop, axis, x.shape());
  const AxisSplit sp = split_at(x.shape(), axis);
  Shape out_shape = x.shape();
  out_shape[axis] = slice_length(start, stop, step);
  Tensor out = Tensor::empty(out_shape, x.dtype());
  const size_t es = dtype_size(x.dtype());
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(out.raw());
  const size_t row = static_cast<size_t>(sp.inner) * es;
  for (int64_t o = 0; o < sp.outer; ++o)
    for (int64_t i = 0; i < out_shape[axis]; ++i)
      std::memcpy(dst + ((o * out_shape[axis] + i) * sp.inner) * static_cast<int64_t>(es),
                  src + ((o * n + start + i * step) * sp.inner) * static_cast<int64_t>(es), row);
  return out;
}

Tensor slice_scatter(const Tensor& x, const Shape& full, int axis_in, int64_t start, int64_t step) {
  const int axis = full.normalize_axis(axis_in);
  Tensor out = Tensor::zeros(full, x.dtype());
  const AxisSplit sp = split_at(full, axis);
  const int64_t len = x.shape()[axis];
  DESCENT_CHECK(x.rank() == full.rank() && start + (len - 1) * step < full[axis] + (len == 0 ? 1 : 0),
                ShapeError, "slice_scatter: {} does not fit into {} at axis {} from {}", x.shape(), full, axis, start);
  const size_t es = dtype_size(x.dtype());
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(out.raw());
  for (int64_t o = 0; o < sp.outer; ++o)
    for (int64_t i = 0; i < len; ++i)
      std::memcpy(dst + ((o * sp.n + start + i * step) * sp.inner) * static_cast<int64_t>(es),
                  src + ((o * len + i) * sp.inner) * static_cast<int64_t>(es), static_cast<size_t>(sp.inner) * es);
  return out;
}

Tensor concat(const std::vector<Tensor>& xs, int axis_in) {
  DESCENT_CHECK(!xs.empty(), ShapeError, "concat: no tensors given");
  const int axis = xs[0].shape().normalize_axis(axis_in);
  Shape out_shape = xs[0].shape();
  int64_t total = 0;
  for (const Tensor& t : xs) {
    DESCENT_CHECK(t.rank() == out_shape.rank() && t.dtype() == xs[0].dtype(), ShapeError,
                  "concat: {} {} does not match {} {}", dtype_name(t.dtype()), t.shape(),
                  dtype_name(xs[0].dtype()), xs[0].shape());
    for (int i = 0; i < t.rank(); ++i)
      DESCENT_CHECK(i == axis || t.shape()[i] == out_shape[i], ShapeError,
                    "concat: shapes {} and {} differ outside axis {}", t.shape(), xs[0].shape(), axis);
    total += t.shape()[axis];
  }
  out_shape[axis] = total;
  Tensor out = Tensor::empty(out_shape, xs[0].dtype());
  const AxisSplit sp = split_at(out_shape, axis);
  const int64_t es = static_cast<int64_t>(dtype_size(out.dtype()));
  char* dst = static_cast<char*>(out.raw());
  int64_t at = 0;
  for (const Tensor& t : xs) {
    const int64_t len = t.shape()[axis];
    const char* src = static_cast<const char*>(t.raw());
    for (int64_t o = 0; o < sp.outer; ++o)
      std::memcpy(dst + (o * total + at) * sp.inner * es, src + o * len * sp.inner * es,
                  static_cast<size_t>(len * sp.inner * es));
    at += len;
  }
  return out;
}

Tensor gather(const Tensor& x, int axis_in, const Tensor& index) {
  check_index(index, "gather");
  const int axis = x.shape().normalize_axis(axis_in);
  DESCENT_CHECK(index.rank() == x.rank(), ShapeError, "gather: index {} must have the rank of x {}",
                index.shape(), x.shape());
  for (int i = 0; i < x.rank(); ++i)
    DESCENT_CHECK(i == axis || index.shape()[i] == x.shape()[i], ShapeError,
                  "gather: index {} and x {} differ outside axis {}", index.shape(), x.shape(), axis);
  const AxisSplit sx = split_at(x.shape(), axis), si = split_at(index.shape(), axis);
  return dispatch_floating(x.dtype(), "gather", [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(index.shape(), x.dtype());
    const T* px = x.data<T>();
    const int64_t* pi = index.data<int64_t>();
    T* po = out.data<T>();
    for (int64_t o = 0; o < si.outer; ++o)
      for (int64_t i = 0; i < si.n; ++i)
        for (int64_t j = 0; j < si.inner; ++j) {
          const int64_t k = (o * si.n + i) * si.inner + j;
          const int64_t t = pi[k];
          DESCENT_CHECK(t >= 0 && t < sx.n, ShapeError, "gather: index {} out of range [0, {}) on axis {}",
                        t, sx.n, axis);
          po[k] = px[(o * sx.n + t) * sx.inner + j];
        }
    return out;
  });
}

Tensor scatter_add(const Shape& shape, int axis_in, const Tensor& index, const Tensor& src) {
  check_index(index, "scatter_add");
  const int axis = shape.normalize_axis(axis_in);
  DESCENT_CHECK(index.shape() == src.shape(), ShapeError, "scatter_add: index {} and source {} differ",
                index.shape(), src.shape());
  const AxisSplit sx = split_at(shape, axis), si = split_at(index.shape(), axis);
  return dispatch_floating(src.dtype(), "scatter_add", [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::zeros(shape, src.dtype());
    const T* ps = src.data<T>();
    const int64_t* pi = index.data<int64_t>();
    T* po = out.data<T>();
    for (int64_t o = 0; o < si.outer; ++o)
      for (int64_t i = 0; i < si.n; ++i)
        for (int64_t j = 0; j < si.inner; ++j) {
          const int64_t k = (o * si.n + i) * si.inner + j;
          const int64_t t = pi[k];
          DESCENT_CHECK(t >= 0 && t < sx.n, ShapeError,
                        "scatter_add: index {} out of range [0, {}) on axis {}", t, sx.n, axis);
          po[(o * sx.n + t) * sx.inner + j] += ps[k];
        }
    return out;
  });
}

Tensor index_select(const Tensor& x, int axis_in, const Tensor& index) {
  check_index(index, "index_select");
  DESCENT_CHECK(index.rank() == 1, ShapeError, "index_select: index must be 1-D, got {}", index.shape());
  const int axis = x.shape().normalize_axis(axis_in);
  const AxisSplit sx = split_at(x.shape(), axis);
  Shape out_shape = x.shape();
  out_shape[axis] = index.numel();
  Tensor out = Tensor::empty(out_shape, x.dtype());
  const int64_t es = static_cast<int64_t>(dtype_size(x.dtype()));
  const int64_t* pi = index.data<int64_t>();
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(out.raw());
  const int64_t m = index.numel();
  for (int64_t i = 0; i < m; ++i)
    DESCENT_CHECK(pi[i] >= 0 && pi[i] < sx.n, ShapeError,
                  "index_select: index {} out of range [0, {}) on axis {} of {}", pi[i], sx.n, axis, x.shape());
  for (int64_t o = 0; o < sx.outer; ++o)
    for (int64_t i = 0; i < m; ++i)
      std::memcpy(dst + (o * m + i) * sx.inner * es, src + (o * sx.n + pi[i]) * sx.inner * es,
                  static_cast<size_t>(sx.inner * es));
  return out;
}

Tensor index_add(const Shape& shape, int axis_in, const Tensor& index, const Tensor& src) {
  check_index(index, "index_add");
  const int axis = shape.normalize_axis(axis_in);
  const AxisSplit sx = split_at(shape, axis);
  const int64_t m = index.numel();
  DESCENT_CHECK(src.rank() == shape.rank() && src.shape()[axis] == m, ShapeError,
                "index_add: source {} does not match {} indices into {}", src.shape(), m, shape);
  return dispatch_floating(src.dtype(), "index_add", [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::zeros(shape, src.dtype());
    const int64_t* pi = index.data<int64_t>();
    const T* ps = src.data<T>();
    T* po = out.data<T>();
    for (int64_t o = 0; o < sx.outer; ++o)
      for (int64_t i = 0; i < m; ++i) {
        DESCENT_CHECK(pi[i] >= 0 && pi[i] < sx.n, ShapeError,
                      "index_add: index {} out of range [0, {}) on axis {}", pi[i], sx.n, axis);
        T* d = po + (o * sx.n + pi[i]) * sx.inner;
        const T* s = ps + (o * m + i) * sx.inner;
        for (int64_t j = 0; j < sx.inner; ++j) d[j] += s[j];
      }
    return out;
  });
}

void gather_rows(const Tensor& source, std::span<const int64_t> indices, Tensor& dest) {
  DESCENT_CHECK(source.rank() >= 1 && dest.rank() == source.rank() &&
                    dest.dtype() == source.dtype() &&
                    std::equal(dest.shape().begin() + 1, dest.shape().end(), source.shape().begin() + 1,
                               source.shape().end()) &&
                    dest.dim(0) >= static_cast<int64_t>(indices.size()),
                ShapeError, "gather_rows: cannot gather {} rows of {} {} into {} {}",
                indices.size(), dtype_name(source.dtype()), source.shape(),
                dtype_name(dest.dtype()), dest.shape());
  const int64_t rows = source.dim(0);
  const size_t row_bytes = source.dim(0) ? source.nbytes() / static_cast<size_t>(rows) : 0;
  const char* src = static_cast<const char*>(source.raw());
  char* dst = static_cast<char*>(dest.raw());
  for (size_t i = 0; i < indices.size(); ++i) {
    DESCENT_CHECK(0 <= indices[i] && indices[i] < rows, ShapeError,
                  "gather_rows: index {} is outside the {} rows", indices[i], rows);
    std::memcpy(dst + i * row_bytes, src + static_cast<size_t>(indices[i]) * row_bytes, row_bytes);
  }
}

}  // namespace descent
