// Convolution layout transforms, pooling indices and fused backward kernels.
#include "axis_split.hpp"
#include "descent/core/fused.hpp"

#include <cmath>
#include <limits>

#include "descent/core/ops.hpp"

namespace descent {
namespace {

struct Geometry {
  int64_t n, c, h, w, oh, ow;
};
Geometry geometry(const Shape& s, const Window2d& win, const char* op) {
  DESCENT_CHECK(s.rank() == 4, ShapeError, "{}: expects [N, C, H, W], got {}", op, s);
  DESCENT_CHECK(win.kh > 0 && win.kw > 0 && win.sh > 0 && win.sw > 0 && win.ph >= 0 && win.pw >= 0, ShapeError,
                "{}: invalid window {}x{} stride {}x{} padding {}x{}", op, win.kh, win.kw, win.sh, win.sw, win.ph,
                win.pw);
  Geometry g{s[0], s[1], s[2], s[3], win.out_h(s[2]), win.out_w(s[3])};
  DESCENT_CHECK(s[2] + 2 * win.ph >= win.kh && s[3] + 2 * win.pw >= win.kw, ShapeError,
                "{}: window {}x{} does not fit the padded input {}", op, win.kh, win.kw, s);
  return g;
}

using detail::AxisSplit;
using detail::split_at;

void check_same(const Tensor& a, const Tensor& b, const char* op) {
  DESCENT_CHECK(a.shape() == b.shape() && a.dtype() == b.dtype(), ShapeError, "{}: {} {} and {} {} differ", op,
                dtype_name(a.dtype()), a.shape(), dtype_name(b.dtype()), b.shape());
}

template <class F>
Tensor zip_map(const Tensor& a, const Tensor& b, const char* op, F&& f) {
  check_same(a, b, op);
  return dispatch_floating(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(a.shape(), a.dtype());
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    for (int64_t i = 0, n = a.numel(); i < n; ++i) po[i] = f(pa[i], pb[i]);
    return out;
  });
}

}  // namespace

Tensor im2col(const Tensor& x, const Window2d& win) {
  const Geometry g = geometry(x.shape(), win, "im2col");
  const int64_t rows = g.c * win.kh * win.kw, cols = g.oh * g.ow;
  return dispatch_floating(x.dtype(), "im2col", [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty({g.n, rows, cols}, x.dtype());
    const T* px = x.data<T>();
    T* po = out.data<T>();
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t c = 0; c < g.c; ++c) {
        const T* plane = px + (n * g.c + c) * g.h * g.w;
        for (int64_t i = 0; i < win.kh; ++i)
          for (int64_t j = 0; j < win.kw; ++j) {
            T* dst = po + (n * rows + (c * win.kh + i) * win.kw + j) * cols;
            for (int64_t oh = 0; oh < g.oh; ++oh) {
              const int64_t y = oh * win.sh - win.ph + i;
              T* d = dst + oh * g.ow;
              if (y < 0 || y >= g.h) {
                for (int64_t ow = 0; ow < g.ow; ++ow) d[ow] = T(0);
                continue;
              }
              const T* src = plane + y * g.w;
              for (int64_t ow = 0; ow < g.ow; ++ow) {
                const int64_t xx = ow * win.sw - win.pw + j;
                d[ow] = (xx >= 0 && xx < g.w) ? src[xx] : T(0);
              }
            }
          }
      }
    return out;
  });
}

Tensor col2im(const Tensor& cols_t, const Shape& x_shape, const Window2d& win) {
  const Geometry g = geometry(x_shape, win, "col2im");
  const int64_t rows = g.c * win.kh * win.kw, cols = g.oh * g.ow;
  DESCENT_CHECK(cols_t.shape() == Shape({g.n, rows, cols}), ShapeError,
                "col2im: columns {} do not match input {} with a {}x{} window (expected [{},{},{}])", cols_t.shape(),
                x_shape, win.kh, win.kw, g.n, rows, cols);
  return dispatch_floating(cols_t.dtype(), "col2im", [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::zeros(x_shape, cols_t.dtype());
    const T* pc = cols_t.data<T>();
    T* po = out.data<T>();
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t c = 0; c < g.c; ++c) {
        T* plane = po + (n * g.c + c) * g.h * g.w;
        for (int64_t i = 0; i < win.kh; ++i)
          for (int64_t j = 0; j < win.kw; ++j) {
            const T* src = pc + (n * rows + (c * win.kh + i) * win.kw + j) * cols;
            for (int64_t oh = 0; oh < g.oh; ++oh) {
              const int64_t y = oh * win.sh - win.ph + i;
              if (y < 0 || y >= g.h) continue;
              T* d = plane + y * g.w;
              const T* s = src + oh * g.ow;
              for (int64_t ow = 0; ow < g.ow; ++ow) {
                const int64_t xx = ow * win.sw - win.pw + j;
                if (xx >= 0 && xx < g.w) d[xx] += s[ow];
              }
            }
          }
      }
    return out;
  });
}

Tensor max_pool2d_indices(const Tensor& x, const Window2d& win) {
  const Geometry g = geometry(x.shape(), win, "max_pool2d");
  DESCENT_CHECK(win.ph < win.kh && win.pw < win.kw, ShapeError,
                "max_pool2d: padding {}x{} must be smaller than the window {}x{}", win.ph, win.pw, win.kh, win.kw);
  Tensor out = Tensor::empty({g.n * g.c, g.oh * g.ow}, DType::i64);
  int64_t* pi = out.data<int64_t>();
  dispatch_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    for (int64_t p = 0; p < g.n * g.c; ++p) {
      const T* plane = px + p * g.h * g.w;
      for (int64_t oh = 0; oh < g.oh; ++oh)
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          int64_t best = -1;
          T bv = -std::numeric_limits<T>::infinity();
          for (int64_t i = 0; i < win.kh; ++i) {
            const int64_t y = oh * win.sh - win.ph + i;
            if (y < 0 || y >= g.h) continue;
            for (int64_t j = 0; j < win.kw; ++j) {
              const int64_t xx = ow * win.sw - win.pw + j;
              if (xx < 0 || xx >= g.w) continue;
              const T v = plane[y * g.w + xx];
              if (best < 0 || v > bv || (std::isnan(v) && !std::isnan(bv))) {
                best = y * g.w + xx;
                bv = v;
              }
            }
          }
          pi[p * g.oh * g.ow + oh * g.ow + ow] = best;
        }
    }
    return 0;
  });
  return out;
}

Tensor max_pool2d(const Tensor& x, const Window2d& win, Tensor& indices) {
  const Geometry g = geometry(x.shape(), win, "max_pool2d");
  DESCENT_CHECK(win.ph < win.kh && win.pw < win.kw, ShapeError,
                "max_pool2d: padding {}x{} must be smaller than the window {}x{}", win.ph, win.pw, win.kh, win.kw);
  indices = Tensor::empty({g.n * g.c, g.oh * g.ow}, DType::i64);
  Tensor out = Tensor::empty({g.n, g.c, g.oh, g.ow}, x.dtype());
  int64_t* pi = indices.data<int64_t>();
  // Windows inside the image (no padding reached): no bounds checks in the inner loops.
  const bool inside = win.ph == 0 && win.pw == 0 && (g.oh - 1) * win.sh + win.kh <= g.h &&
                      (g.ow - 1) * win.sw + win.kw <= g.w;
  dispatch_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* po = out.data<T>();
    for (int64_t p = 0; p < g.n * g.c; ++p) {
      const T* plane = px + p * g.h * g.w;
      for (int64_t oh = 0; oh < g.oh; ++oh)
        for (int64_t ow = 0; ow < g.ow; ++ow) {
          int64_t best = -1;
          T bv = -std::numeric_limits<T>::infinity();
          // The first maximal element wins; a NaN wins over numbers (it propagates).
          auto visit = [&](int64_t y, int64_t xx) {
            const T v = plane[y * g.w + xx];
            if (best < 0 || v > bv || (v != v && bv == bv)) {
              best = y * g.w + xx;
              bv = v;
            }
          };
          if (inside) {
            for (int64_t i = 0; i < win.kh; ++i)
              for (int64_t j = 0; j < win.kw; ++j) visit(oh * win.sh + i, ow * win.sw + j);
          } else {
            for (int64_t i = 0; i < win.kh; ++i) {
              const int64_t y = oh * win.sh - win.ph + i;
              if (y < 0 || y >= g.h) continue;
              for (int64_t j = 0; j < win.kw; ++j) {
                const int64_t xx = ow * win.sw - win.pw + j;
                if (xx >= 0 && xx < g.w) visit(y, xx);
              }
            }
          }
          const int64_t o = p * g.oh * g.ow + oh * g.ow + ow;
          pi[o] = best;
          po[o] = bv;
        }
    }
    return 0;
  });
  return out;
}

Tensor relu_backward(const Tensor& g, const Tensor& x) {
  // As PyTorch's threshold_backward: the gradient passes where x > 0 and where x is NaN (relu(NaN)
  // = NaN passed it on), and is 0 where x <= 0.
  return zip_map(g, x, "relu_backward", [](auto gv, auto xv) { return xv <= 0 ? decltype(gv)(0) : gv; });
}
Tensor tanh_backward(const Tensor& g, const Tensor& y) {
  return zip_map(g, y, "tanh_backward", [](auto gv, auto yv) { return gv * (decltype(gv)(1) - yv * yv); });
}
Tensor sigmoid_backward(const Tensor& g, const Tensor& y) {
  return zip_map(g, y, "sigmoid_backward", [](auto gv, auto yv) { return gv * yv * (decltype(gv)(1) - yv); });
}

Tensor log_softmax_backward(const Tensor& g, const Tensor& y, int axis_in) {
  check_same(g, y, "log_softmax_backward");
  const int axis = y.shape().normalize_axis(axis_in);
  const AxisSplit sp = split_at(y.shape(), axis);
  return dispatch_floating(y.dtype(), "log_softmax_backward", [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(y.shape(), y.dtype());
    const T* pg = g.data<T>();
    const T* py = y.data<T>();
    T* po = out.data<T>();
    for (int64_t o = 0; o < sp.outer; ++o)
      for (int64_t j = 0; j < sp.inner; ++j) {
        const int64_t base = o * sp.n * sp.inner + j, st = sp.inner;
        T total = 0;
        for (int64_t i = 0; i < sp.n; ++i) total += pg[base + i * st];
        for (int64_t i = 0; i < sp.n; ++i)
          po[base + i * st] = pg[base + i * st] - std::exp(py[base + i * st]) * total;
      }
    return out;
  });
}

Tensor softmax_backward(const Tensor& g, const Tensor& y, int axis_in) {
  check_same(g, y, "softmax_backward");
  const int axis = y.shape().normalize_axis(axis_in);
  const AxisSplit sp = split_at(y.shape(), axis);
  return dispatch_floating(y.dtype(), "softmax_backward", [&](auto tag) {
    using T = decltype(tag);
    Tensor out = Tensor::empty(y.shape(), y.dtype());
    const T* pg = g.data<T>();
    const T* py = y.data<T>();
    T* po = out.data<T>();
    for (int64_t o = 0; o < sp.outer; ++o)
      for (int64_t j = 0; j < sp.inner; ++j) {
        const int64_t base = o * sp.n * sp.inner + j, st = sp.inner;
        T dotv = 0;
        for (int64_t i = 0; i < sp.n; ++i) dotv += pg[base + i * st] * py[base + i * st];
        for (int64_t i = 0; i < sp.n; ++i) po[base + i * st] = py[base + i * st] * (pg[base + i * st] - dotv);
      }
    return out;
  });
}

void add_inplace(Tensor& x, const Tensor& y) {
  DESCENT_CHECK(x.numel() == y.numel() && x.dtype() == y.dtype(), ShapeError,
                "add_inplace: {} {} and {} {} differ in size or dtype", dtype_name(x.dtype()), x.shape(),
                dtype_name(y.dtype()), y.shape());
  dispatch_floating(x.dtype(), "add_inplace", [&](auto tag) {
    using T = decltype(tag);
    T* px = x.data<T>();
    const T* py = y.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) px[i] += py[i];
    return 0;
  });
}

}  // namespace descent
