// Reductions over axes, softmax family, and whole-tensor scalars.
#include <algorithm>
#include <cmath>
#include <limits>

#include "broadcast.hpp"
#include "axis_split.hpp"
#include "descent/core/ops.hpp"

namespace descent {
std::vector<int> normalize_axes(const Shape& s, const Axes& axes) {
  std::vector<int> out;
  if (axes.empty()) {
    for (int i = 0; i < s.rank(); ++i) out.push_back(i);
    return out;
  }
  for (int a : axes) out.push_back(s.normalize_axis(a));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {


Shape reduced_shape(const Shape& s, const std::vector<int>& axes, bool keepdims) {
  Shape out;
  for (int i = 0; i < s.rank(); ++i) {
    const bool reduced = std::binary_search(axes.begin(), axes.end(), i);
    if (!reduced) out.push_back(s[i]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

// Reduces every run of consecutive axes as one [outer, n, inner] pass, last run first.
// Kernel: void(const T* in, T* out, int64_t outer, int64_t n, int64_t inner).
template <class Kernel>
Tensor reduce(const Tensor& x, const Axes& axes_in, bool keepdims, const char* op, Kernel&& kernel) {
  const std::vector<int> axes = normalize_axes(x.shape(), axes_in);
  return dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    Tensor cur = x;
    for (size_t end = axes.size(); end > 0;) {
      size_t begin = end - 1;
      while (begin > 0 && axes[begin - 1] == axes[begin] - 1) --begin;
      const int a0 = axes[begin], a1 = axes[end - 1];
      int64_t outer = 1, n = 1, inner = 1;
      for (int i = 0; i < cur.rank(); ++i) {
        if (i < a0) outer *= cur.shape()[i];
        else if (i <= a1) n *= cur.shape()[i];
        else inner *= cur.shape()[i];
      }
      DESCENT_CHECK(n > 0, ShapeError, "{}: cannot reduce over an empty axis of shape {}", op, x.shape());
      Shape next = cur.shape();
      for (int i = a0; i <= a1; ++i) next[i] = 1;
      Tensor out = Tensor::empty(next, x.dtype());
      kernel(cur.template data<T>(), out.template data<T>(), outer, n, inner);
      cur = out;
      end = begin;
    }
    if (axes.empty() && cur.shares_storage(x)) cur = x.clone();
    return cur.reshape(reduced_shape(x.shape(), axes, keepdims));
  });
}

template <class T>
void sum_kernel(const T* in, T* out, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    const T* src = in + o * n * inner;
    T* dst = out + o * inner;
    if (inner == 1) {
      double acc = 0;  // row sums accumulate in double for accuracy
      for (int64_t i = 0; i < n; ++i) acc += src[i];
      dst[0] = static_cast<T>(acc);
    } else {
      std::copy(src, src + inner, dst);
      for (int64_t i = 1; i < n; ++i)
        for (int64_t j = 0; j < inner; ++j) dst[j] += src[i * inner + j];
    }
  }
}

template <class T, class Better>
void extreme_kernel(const T* in, T* out, int64_t outer, int64_t n, int64_t inner, Better better) {
  for (int64_t o = 0; o < outer; ++o) {
    const T* src = in + o * n * inner;
    T* dst = out + o * inner;
    std::copy(src, src + inner, dst);
    for (int64_t i = 1; i < n; ++i)
      for (int64_t j = 0; j < inner; ++j) {
        const T v = src[i * inner + j];
        if (better(v, dst[j]) || std::isnan(v)) dst[j] = v;
      }
  }
}

using detail::AxisSplit;
using detail::split_at;

// Softmax family along one axis; mode 0: softmax, 1: log_softmax, 2: logsumexp.
Tensor softmax_family(const Tensor& x, int axis_in, int mode, const char* op) {
  const int axis = x.shape().normalize_axis(axis_in);
  const AxisSplit sp = split_at(x.shape(), axis);
  DESCENT_CHECK(sp.n > 0, ShapeError, "{}: empty axis {} in shape {}", op, axis, x.shape());
  return dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    Shape out_shape = x.shape();
    if (mode == 2) out_shape[axis] = 1;
    Tensor out = Tensor::empty(out_shape, x.dtype());
    const T* px = x.data<T>();
    T* po = out.data<T>();
    for (int64_t o = 0; o < sp.outer; ++o)
      for (int64_t j = 0; j < sp.inner; ++j) {
        const T* src = px + o * sp.n * sp.inner + j;
        const int64_t st = sp.inner;
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t i = 0; i < sp.n; ++i) m = std::max(m, src[i * st]);
        if (!std::isfinite(m)) m = std::isnan(m) ? m : T(0);
        T total = 0;
        for (int64_t i = 0; i < sp.n; ++i) total += std::exp(src[i * st] - m);
        const T lse = m + std::log(total);
        if (mode == 2) {
          po[o * sp.inner + j] = lse;
          continue;
        }
        T* dst = po + o * sp.n * sp.inner + j;
        if (mode == 0) {
          const T inv = T(1) / total;
          for (int64_t i = 0; i < sp.n; ++i) dst[i * st] = std::exp(src[i * st] - m) * inv;
        } else {
          for (int64_t i = 0; i < sp.n; ++i) dst[i * st] = src[i * st] - lse;
        }
      }
    return out;
  });
}

}  // namespace

Tensor sum(const Tensor& x, const Axes& axes, bool keepdims) {
  return reduce(x, axes, keepdims, "sum", [](const auto* in, auto* out, int64_t o, int64_t n, int64_t i) {
    sum_kernel(in, out, o, n, i);
  });
}

Tensor mean(const Tensor& x, const Axes& axes, bool keepdims) {
  const std::vector<int> ax = normalize_axes(x.shape(), axes);
  int64_t count = 1;
  for (int a : ax) count *= x.shape()[a];
  DESCENT_CHECK(count > 0, ShapeError, "mean: no elements to average in shape {}", x.shape());
  return mul(sum(x, axes, keepdims), 1.0 / static_cast<double>(count));
}

Tensor max(const Tensor& x, const Axes& axes, bool keepdims) {
  return reduce(x, axes, keepdims, "max", [](const auto* in, auto* out, int64_t o, int64_t n, int64_t i) {
    extreme_kernel(in, out, o, n, i, [](auto a, auto b) { return a > b; });
  });
}

Tensor min(const Tensor& x, const Axes& axes, bool keepdims) {
  return reduce(x, axes, keepdims, "min", [](const auto* in, auto* out, int64_t o, int64_t n, int64_t i) {
    extreme_kernel(in, out, o, n, i, [](auto a, auto b) { return a < b; });
  });
}

Tensor argmax(const Tensor& x, int axis_in) {
  const int axis = x.shape().normalize_axis(axis_in);
  const AxisSplit sp = split_at(x.shape(), axis);
  DESCENT_CHECK(sp.n > 0, ShapeError, "argmax: empty axis {} in shape {}", axis, x.shape());
  Shape out_shape;
  for (int i = 0; i < x.rank(); ++i)
    if (i != axis) out_shape.push_back(x.shape()[i]);
  Tensor out = Tensor::empty(out_shape, DType::i64);
  int64_t* po = out.data<int64_t>();
  dispatch_floating(x.dtype(), "argmax", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    for (int64_t o = 0; o < sp.outer; ++o)
      for (int64_t j = 0; j < sp.inner; ++j) {
        const T* src = px + o * sp.n * sp.inner + j;
        int64_t best = 0;
        // The first NaN wins, as in torch.argmax: a diverged output is never hidden behind a finite one.
        for (int64_t i = 1; i < sp.n && !std::isnan(src[best * sp.inner]); ++i)
          if (src[i * sp.inner] > src[best * sp.inner] || std::isnan(src[i * sp.inner])) best = i;
        po[o * sp.inner + j] = best;
      }
    return 0;
  });
  return out;
}

Tensor logsumexp(const Tensor& x, int axis, bool keepdims) {
  Tensor r = softmax_family(x, axis, 2, "logsumexp");
  if (keepdims) return r;
  const int a = x.shape().normalize_axis(axis);
  return r.reshape(reduced_shape(x.shape(), {a}, false));
}
Tensor softmax(const Tensor& x, int axis) { return softmax_family(x, axis, 0, "softmax"); }
Tensor log_softmax(const Tensor& x, int axis) { return softmax_family(x, axis, 1, "log_softmax"); }

double sum_all(const Tensor& x) {
  return dispatch_floating(x.dtype(), "sum_all", [&](auto tag) {
    using T = decltype(tag);
    const T* p = x.data<T>();
    double acc = 0;
    for (int64_t i = 0, n = x.numel(); i < n; ++i) acc += p[i];
    return acc;
  });
}

double dot(const Tensor& a, const Tensor& b) {
  DESCENT_CHECK(a.numel() == b.numel() && a.dtype() == b.dtype(), ShapeError,
                "dot: {} {} and {} {} differ in size or dtype", dtype_name(a.dtype()), a.shape(),
                dtype_name(b.dtype()), b.shape());
  return dispatch_floating(a.dtype(), "dot", [&](auto tag) {
    using T = decltype(tag);
    const T* p = a.data<T>();
    const T* q = b.data<T>();
    double acc = 0;
    for (int64_t i = 0, n = a.numel(); i < n; ++i) acc += static_cast<double>(p[i]) * q[i];
    return acc;
  });
}

double norm(const Tensor& x) { return std::sqrt(dot(x, x)); }

bool all_finite(const Tensor& x) {
  if (!is_floating(x.dtype())) return true;
  return dispatch_floating(x.dtype(), "all_finite", [&](auto tag) {
    using T = decltype(tag);
    const T* p = x.data<T>();
    bool ok = true;
    for (int64_t i = 0, n = x.numel(); i < n; ++i) ok &= std::isfinite(p[i]);
    return ok;
  });
}

double max_relative_difference(const Tensor& a, const Tensor& b, double floor) {
  DESCENT_CHECK(a.shape() == b.shape(), ShapeError,
                "max_relative_difference: shapes {} and {} differ", a.shape(), b.shape());
  double worst = 0;
  for (int64_t i = 0, n = a.numel(); i < n; ++i) {
    const double x = a.at(i), y = b.at(i);
    const double d = std::abs(x - y) / std::max({std::abs(x), std::abs(y), floor});
    if (std::isnan(d)) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, d);
  }
  return worst;
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  const Shape s = broadcast_shapes(x.shape(), shape, "broadcast_to");
  DESCENT_CHECK(s == shape, ShapeError, "broadcast_to: {} cannot be broadcast to {}", x.shape(), shape);
  if (x.shape() == shape) return x.clone();
  return dispatch_floating(x.dtype(), "broadcast_to", [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(shape, x.dtype());
    const T* px = x.data<T>();
    T* po = out.data<T>();
    const auto plan = detail::make_broadcast_plan<1>(shape, {&x.shape()});
    detail::for_each_broadcast_row(plan, [&](const int64_t* off, int64_t len, const int64_t* st) {
      const T* src = px + off[0];
      if (st[0] == 1) std::copy(src, src + len, po);
      else std::fill(po, po + len, src[0]);
      po += len;
    });
    return out;
  });
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const Shape b = broadcast_shapes(shape, x.shape(), "sum_to");
  DESCENT_CHECK(b == x.shape(), ShapeError, "sum_to: {} is not a broadcast of {}", x.shape(), shape);
  Axes axes;
  const int lead = x.rank() - shape.rank();
  for (int i = 0; i < x.rank(); ++i)
    if (i < lead || (shape[i - lead] == 1 && x.shape()[i] != 1)) axes.push_back(i);
  if (axes.empty()) return x.reshape(shape);
  return sum(x, axes, true).reshape(shape);
}

}  // namespace descent
