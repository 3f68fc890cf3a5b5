// Element-wise kernels: unary maps, broadcasting binary maps, comparisons, where/clamp.
#include <cmath>

#include "broadcast.hpp"
#include "descent/core/ops.hpp"

namespace descent {
namespace {

template <class F>
Tensor unary_map(const Tensor& x, const char* op, F&& f) {
  return dispatch_floating(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(x.shape(), x.dtype());
    const T* px = x.data<T>();
    T* po = out.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) po[i] = f(px[i]);
    return out;
  });
}

void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  DESCENT_CHECK(a.defined() && b.defined(), ShapeError, "{}: undefined operand", op);
  DESCENT_CHECK(a.dtype() == b.dtype(), ShapeError,
                "{}: operands have different dtypes ({} {} and {} {}); convert one with astype()",
                op, dtype_name(a.dtype()), a.shape(), dtype_name(b.dtype()), b.shape());
}

// out[i] = f(a[i], b[i]) with broadcasting; Out is the output element type.
template <class T, class Out, class F>
Tensor binary_kernel(const Tensor& a, const Tensor& b, const char* op, F&& f) {
  const Shape s = a.shape() == b.shape() ? a.shape() : broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = Tensor::empty(s, dtype_v<Out>);
  const T* pa = static_cast<const T*>(a.raw());
  const T* pb = static_cast<const T*>(b.raw());
  Out* po = static_cast<Out*>(out.raw());
  if (a.shape() == b.shape()) {
    for (int64_t i = 0, n = out.numel(); i < n; ++i) po[i] = f(pa[i], pb[i]);
    return out;
  }
  const auto plan = detail::make_broadcast_plan<2>(s, {&a.shape(), &b.shape()});
  detail::for_each_broadcast_row(plan, [&](const int64_t* off, int64_t len, const int64_t* st) {
    const T* x = pa + off[0];
    const T* y = pb + off[1];
    if (st[0] == 1 && st[1] == 1) {
      for (int64_t i = 0; i < len; ++i) po[i] = f(x[i], y[i]);
    } else if (st[0] == 1) {
      const T yv = y[0];
      for (int64_t i = 0; i < len; ++i) po[i] = f(x[i], yv);
    } else if (st[1] == 1) {
      const T xv = x[0];
      for (int64_t i = 0; i < len; ++i) po[i] = f(xv, y[i]);
    } else {
      const Out v = f(x[0], y[0]);
      for (int64_t i = 0; i < len; ++i) po[i] = v;
    }
    po += len;
  });
  return out;
}

template <class F>
Tensor binary_map(const Tensor& a, const Tensor& b, const char* op, F&& f) {
  check_same_dtype(a, b, op);
  return dispatch_floating(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    return binary_kernel<T, T>(a, b, op, f);
  });
}

template <class F>
Tensor compare_map(const Tensor& a, const Tensor& b, const char* op, F&& f) {
  check_same_dtype(a, b, op);
  switch (a.dtype()) {
    case DType::f32: return binary_kernel<float, uint8_t>(a, b, op, f);
    case DType::f64: return binary_kernel<double, uint8_t>(a, b, op, f);
    case DType::i64: return binary_kernel<int64_t, uint8_t>(a, b, op, f);
    case DType::u8: return binary_kernel<uint8_t, uint8_t>(a, b, op, f);
  }
  return {};
}

}  // namespace

Tensor neg(const Tensor& x) { return unary_map(x, "neg", [](auto v) { return -v; }); }
Tensor exp(const Tensor& x) { return unary_map(x, "exp", [](auto v) { return std::exp(v); }); }
Tensor log(const Tensor& x) { return unary_map(x, "log", [](auto v) { return std::log(v); }); }
Tensor sqrt(const Tensor& x) { return unary_map(x, "sqrt", [](auto v) { return std::sqrt(v); }); }
Tensor abs(const Tensor& x) { return unary_map(x, "abs", [](auto v) { return std::abs(v); }); }
// NaN in, NaN out, as IEEE arithmetic and NumPy (PyTorch's sign gives 0 there).
Tensor sign(const Tensor& x) {
  return unary_map(x, "sign", [](auto v) { return std::isnan(v) ? v : decltype(v)((v > 0) - (v < 0)); });
}
Tensor square(const Tensor& x) { return unary_map(x, "square", [](auto v) { return v * v; }); }
Tensor tanh(const Tensor& x) { return unary_map(x, "tanh", [](auto v) { return std::tanh(v); }); }
Tensor sigmoid(const Tensor& x) {
  return unary_map(x, "sigmoid", [](auto v) {
    using T = decltype(v);
    if (v >= 0) return T(1) / (T(1) + std::exp(-v));
    const T e = std::exp(v);
    return e / (T(1) + e);
  });
}
// relu(NaN) = NaN, as in PyTorch: a comparison with NaN is false, so `v > 0 ? v : 0` would
// map a diverged activation to 0 and hide it.
Tensor relu(const Tensor& x) {
  return unary_map(x, "relu", [](auto v) { return v > 0 || std::isnan(v) ? v : decltype(v)(0); });
}
Tensor softplus(const Tensor& x) {
  return unary_map(x, "softplus", [](auto v) {
    using T = decltype(v);
    return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v)) + T(0);
  });
}
Tensor erf(const Tensor& x) { return unary_map(x, "erf", [](auto v) { return std::erf(v); }); }
Tensor pow(const Tensor& x, double p) {
  if (p == 2.0) return square(x);
  return unary_map(x, "pow", [p](auto v) { return std::pow(v, decltype(v)(p)); });
}
Tensor add(const Tensor& x, double c) {
  return unary_map(x, "add", [c](auto v) { return v + decltype(v)(c); });
}
Tensor mul(const Tensor& x, double c) {
  return unary_map(x, "mul", [c](auto v) { return v * decltype(v)(c); });
}

Tensor add(const Tensor& a, const Tensor& b) { return binary_map(a, b, "add", [](auto x, auto y) { return x + y; }); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary_map(a, b, "sub", [](auto x, auto y) { return x - y; }); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_map(a, b, "mul", [](auto x, auto y) { return x * y; }); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_map(a, b, "div", [](auto x, auto y) { return x / y; }); }
Tensor pow(const Tensor& a, const Tensor& b) {
  return binary_map(a, b, "pow", [](auto x, auto y) { return std::pow(x, y); });
}
// A NaN operand gives NaN (torch.maximum / numpy.maximum), whichever side it is on.
Tensor maximum(const Tensor& a, const Tensor& b) {
  return binary_map(a, b, "maximum", [](auto x, auto y) { return x >= y || std::isnan(x) ? x : y; });
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return binary_map(a, b, "minimum", [](auto x, auto y) { return x <= y || std::isnan(x) ? x : y; });
}

Tensor greater(const Tensor& a, const Tensor& b) {
  return compare_map(a, b, "greater", [](auto x, auto y) { return uint8_t(x > y); });
}
Tensor greater_equal(const Tensor& a, const Tensor& b) {
  return compare_map(a, b, "greater_equal", [](auto x, auto y) { return uint8_t(x >= y); });
}
Tensor less(const Tensor& a, const Tensor& b) {
  return compare_map(a, b, "less", [](auto x, auto y) { return uint8_t(x < y); });
}
Tensor less_equal(const Tensor& a, const Tensor& b) {
  return compare_map(a, b, "less_equal", [](auto x, auto y) { return uint8_t(x <= y); });
}
Tensor equal(const Tensor& a, const Tensor& b) {
  return compare_map(a, b, "equal", [](auto x, auto y) { return uint8_t(x == y); });
}
Tensor greater(const Tensor& a, double c) { return greater(a, Tensor::scalar(c, a.dtype())); }
Tensor less(const Tensor& a, double c) { return less(a, Tensor::scalar(c, a.dtype())); }
Tensor logical_and(const Tensor& a, const Tensor& b) {
  DESCENT_CHECK(a.dtype() == DType::u8 && b.dtype() == DType::u8, ShapeError,
                "logical_and: expects bool masks, got {} and {}", dtype_name(a.dtype()), dtype_name(b.dtype()));
  return compare_map(a, b, "logical_and", [](auto x, auto y) { return uint8_t(x && y); });
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  DESCENT_CHECK(a.dtype() == DType::u8 && b.dtype() == DType::u8, ShapeError,
                "logical_or: expects bool masks, got {} and {}", dtype_name(a.dtype()), dtype_name(b.dtype()));
  return compare_map(a, b, "logical_or", [](auto x, auto y) { return uint8_t(x || y); });
}
Tensor isnan(const Tensor& a) {
  return compare_map(a, a, "isnan", [](auto x, auto) { return uint8_t(std::isnan(x)); });
}
Tensor logical_not(const Tensor& a) {
  DESCENT_CHECK(a.dtype() == DType::u8, ShapeError, "logical_not: expects a bool mask, got {}",
                dtype_name(a.dtype()));
  Tensor out = Tensor::empty(a.shape(), DType::u8);
  const uint8_t* p = a.data<uint8_t>();
  uint8_t* q = out.data<uint8_t>();
  for (int64_t i = 0, n = a.numel(); i < n; ++i) q[i] = !p[i];
  return out;
}

Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b) {
  DESCENT_CHECK(mask.dtype() == DType::u8, ShapeError,
                "where: the mask must be bool (a comparison's result), got {} {}",
                dtype_name(mask.dtype()), mask.shape());
  check_same_dtype(a, b, "where");
  const Shape s = broadcast_shapes(broadcast_shapes(mask.shape(), a.shape(), "where"), b.shape(), "where");
  return dispatch_floating(a.dtype(), "where", [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(s, a.dtype());
    const uint8_t* pm = mask.data<uint8_t>();
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    const auto plan = detail::make_broadcast_plan<3>(s, {&mask.shape(), &a.shape(), &b.shape()});
    detail::for_each_broadcast_row(plan, [&](const int64_t* off, int64_t len, const int64_t* st) {
      const uint8_t* m = pm + off[0];
      const T* x = pa + off[1];
      const T* y = pb + off[2];
      for (int64_t i = 0; i < len; ++i) po[i] = m[i * st[0]] ? x[i * st[1]] : y[i * st[2]];
      po += len;
    });
    return out;
  });
}

// clamp(NaN) = NaN: both comparisons are false, so the value passes through.
Tensor clamp(const Tensor& x, double lo, double hi) {
  DESCENT_CHECK(lo <= hi, InputError, "clamp: lower bound {} exceeds upper bound {}", lo, hi);
  return unary_map(x, "clamp", [lo, hi](auto v) {
    using T = decltype(v);
    return v < T(lo) ? T(lo) : (v > T(hi) ? T(hi) : v);
  });
}

}  // namespace descent
