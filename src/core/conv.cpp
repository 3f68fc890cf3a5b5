// 2-D convolutions: oneDNN for float32, im2col + GEMM per group for float64 (conv.hpp).
#include "descent/core/conv.hpp"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>

#include "descent/core/allocator.hpp"
#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"

namespace descent {
namespace {

// ---- shapes ----

struct Geometry {
  int64_t n, c, h, w, o, kh, kw, oh, ow, groups;
  int64_t cg() const { return c / groups; }
  int64_t og() const { return o / groups; }
};

Geometry geometry(const Shape& x, const Shape& w, const ConvSpec& s) {
  DESCENT_CHECK(x.rank() == 4 && w.rank() == 4, ShapeError,
                "conv2d: expects x [N, C, H, W] and w [O, C/groups, kh, kw], got {} and {}", x, w);
  DESCENT_CHECK(s.sh > 0 && s.sw > 0 && s.ph >= 0 && s.pw >= 0 && s.dh > 0 && s.dw > 0 && s.groups > 0, ShapeError,
                "conv2d: stride {}x{}, dilation {}x{} and groups {} must be positive, padding {}x{} non-negative", s.sh,
                s.sw, s.dh, s.dw, s.groups, s.ph, s.pw);
  Geometry g{x[0], x[1], x[2], x[3], w[0], w[2], w[3], s.out_h(x[2], w[2]), s.out_w(x[3], w[3]), s.groups};
  DESCENT_CHECK(g.c % g.groups == 0 && g.o % g.groups == 0 && w[1] == g.c / g.groups, ShapeError,
                "conv2d: {} input and {} output channels in {} groups need weights [O, C/groups, kh, kw], got {}", g.c,
                g.o, g.groups, w);
  DESCENT_CHECK(g.oh > 0 && g.ow > 0, ShapeError,
                "conv2d: a {}x{} kernel (dilation {}x{}) does not fit a {}x{} input with padding {}x{}", g.kh, g.kw,
                s.dh, s.dw, g.h, g.w, s.ph, s.pw);
  return g;
}

// ---- reference path (any floating dtype): im2col of one image's group, then GEMM ----

// cols [Cg·kh·kw, OH·OW]: row (c·kh + i)·kw + j, column oh·OW + ow holds
// x[c, oh·sh − ph + i·dh, ow·sw − pw + j·dw] (0 outside).
template <class T>
void im2col_group(const T* x, const Geometry& g, const ConvSpec& s, T* cols) {
  const int64_t plane = g.oh * g.ow;
  for (int64_t c = 0; c < g.cg(); ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        T* row = cols + ((c * g.kh + i) * g.kw + j) * plane;
        for (int64_t oh = 0; oh < g.oh; ++oh) {
          const int64_t ih = oh * s.sh - s.ph + i * s.dh;
          T* out = row + oh * g.ow;
          if (ih < 0 || ih >= g.h) {
            std::fill(out, out + g.ow, T(0));
            continue;
          }
          const T* in = x + (c * g.h + ih) * g.w;
          for (int64_t ow = 0; ow < g.ow; ++ow) {
            const int64_t iw = ow * s.sw - s.pw + j * s.dw;
            out[ow] = iw >= 0 && iw < g.w ? in[iw] : T(0);
          }
        }
      }
}

// The adjoint: adds cols back into x.
template <class T>
void col2im_group(const T* cols, const Geometry& g, const ConvSpec& s, T* x) {
  const int64_t plane = g.oh * g.ow;
  for (int64_t c = 0; c < g.cg(); ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const T* row = cols + ((c * g.kh + i) * g.kw + j) * plane;
        for (int64_t oh = 0; oh < g.oh; ++oh) {
          const int64_t ih = oh * s.sh - s.ph + i * s.dh;
          if (ih < 0 || ih >= g.h) continue;
          T* in = x + (c * g.h + ih) * g.w;
          const T* src = row + oh * g.ow;
          for (int64_t ow = 0; ow < g.ow; ++ow) {
            const int64_t iw = ow * s.sw - s.pw + j * s.dw;
            if (iw >= 0 && iw < g.w) in[iw] += src[ow];
          }
        }
      }
}

// The three passes by GEMMs on views: per image n and group, W_g [Og, K] with K = Cg·kh·kw,
// cols [K, OH·OW], y [Og, OH·OW].
Tensor reference_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Geometry& g, const ConvSpec& s) {
  const DType dt = x.dtype();
  const int64_t K = g.cg() * g.kh * g.kw, plane = g.oh * g.ow;
  Tensor y = Tensor::empty({g.n, g.o, g.oh, g.ow}, dt);
  Tensor cols = Tensor::empty({K, plane}, dt);
  dispatch_floating(dt, "conv2d", [&](auto tag) {
    using T = decltype(tag);
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        im2col_group<T>(x.data<T>() + (n * g.c + grp * g.cg()) * g.h * g.w, g, s, cols.data<T>());
        Tensor yv = y.view((n * g.o + grp * g.og()) * plane, {g.og(), plane});
        gemm_into(yv, w.view(grp * g.og() * K, {g.og(), K}), cols, false, false);
      }
    if (b.defined()) {
      const T* bp = b.data<T>();
      T* yp = y.data<T>();
      for (int64_t n = 0; n < g.n; ++n)
        for (int64_t o = 0; o < g.o; ++o) {
          T* p = yp + (n * g.o + o) * plane;
          for (int64_t i = 0; i < plane; ++i) p[i] += bp[o];
        }
    }
    return 0;
  });
  return y;
}

Tensor reference_backward_data(const Tensor& gy, const Tensor& w, const Geometry& g, const ConvSpec& s) {
  const DType dt = gy.dtype();
  const int64_t K = g.cg() * g.kh * g.kw, plane = g.oh * g.ow;
  Tensor gx = Tensor::zeros({g.n, g.c, g.h, g.w}, dt);
  Tensor cols = Tensor::empty({K, plane}, dt);
  dispatch_floating(dt, "conv2d", [&](auto tag) {
    using T = decltype(tag);
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        gemm_into(cols, w.view(grp * g.og() * K, {g.og(), K}),
                  gy.view((n * g.o + grp * g.og()) * plane, {g.og(), plane}), true, false);
        col2im_group<T>(cols.data<T>(), g, s, gx.data<T>() + (n * g.c + grp * g.cg()) * g.h * g.w);
      }
    return 0;
  });
  return gx;
}

Tensor reference_backward_weights(const Tensor& x, const Tensor& gy, const Geometry& g, const ConvSpec& s,
                                  Tensor* bias_grad) {
  const DType dt = x.dtype();
  const int64_t K = g.cg() * g.kh * g.kw, plane = g.oh * g.ow;
  Tensor gw = Tensor::zeros({g.o, g.cg(), g.kh, g.kw}, dt);
  Tensor cols = Tensor::empty({K, plane}, dt);
  dispatch_floating(dt, "conv2d", [&](auto tag) {
    using T = decltype(tag);
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        im2col_group<T>(x.data<T>() + (n * g.c + grp * g.cg()) * g.h * g.w, g, s, cols.data<T>());
        Tensor gwv = gw.view(grp * g.og() * K, {g.og(), K});
        gemm_into(gwv, gy.view((n * g.o + grp * g.og()) * plane, {g.og(), plane}), cols, false, true, 1.0, 1.0);
      }
    if (bias_grad) {
      *bias_grad = Tensor::zeros({g.o}, dt);
      T* bp = bias_grad->data<T>();
      const T* gp = gy.data<T>();
      for (int64_t n = 0; n < g.n; ++n)
        for (int64_t o = 0; o < g.o; ++o) {
          const T* p = gp + (n * g.o + o) * plane;
          T acc = 0;
          for (int64_t i = 0; i < plane; ++i) acc += p[i];
          bp[o] += acc;
        }
    }
    return 0;
  });
  return gw;
}

// ---- oneDNN path (float32) ----

using dnnl::memory;
using tag = memory::format_tag;

// oneDNN's right padding is whatever makes its output size formula give OH: with PyTorch's
// floor division it can be smaller than the left padding.
int64_t right_padding(int64_t in, int64_t k, int64_t out, int64_t stride, int64_t pad, int64_t dil) {
  return (out - 1) * stride + (k - 1) * dil + 1 - in - pad;
}

enum class Pass { forward, backward_data, backward_weights };

struct Key {
  std::array<int64_t, 16> v;
  bool operator<(const Key& o) const { return v < o.v; }
};

// A thread's engine and stream (oneDNN objects are cheap to share within a thread).
struct Runtime {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};
Runtime& runtime() {
  thread_local Runtime r;
  return r;
}

// A buffer from the caching allocator (memory touched for the first time is slow).
struct Scratch {
  void* p = nullptr;
  size_t bytes = 0;
  explicit Scratch(size_t n) : p(n ? buffer_allocate(n) : nullptr), bytes(n) {}
  ~Scratch() {
    if (p) buffer_release(p, bytes);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

// One pass of one shape: the primitive, the user (plain NCHW / OIHW) descriptors, and the
// reorders between them and the layouts the primitive chose.
struct Plan {
  Pass pass = Pass::forward;
  dnnl::primitive prim;
  memory::desc user_src, user_wei, user_dst;  // the pass's two inputs and its output, as the user holds them
  memory::desc prim_src, prim_wei, prim_dst;
  memory::desc bias, scratchpad;
  bool bias_on = false;
  std::string impl;
};

struct Descs {
  memory::desc x, w, y, any_x, any_w, any_y, b;
  memory::dims strides, dil, pad_l, pad_r;
};

Descs descs(const Geometry& g, const ConvSpec& s) {
  Descs d;
  const auto f32 = memory::data_type::f32;
  const memory::dims xd{g.n, g.c, g.h, g.w}, yd{g.n, g.o, g.oh, g.ow};
  memory::dims wd{g.o, g.cg(), g.kh, g.kw};
  tag wtag = tag::oihw;
  if (g.groups > 1) {
    wd = {g.groups, g.og(), g.cg(), g.kh, g.kw};
    wtag = tag::goihw;
  }
  d.x = memory::desc(xd, f32, tag::nchw);
  d.y = memory::desc(yd, f32, tag::nchw);
  d.w = memory::desc(wd, f32, wtag);
  d.any_x = memory::desc(xd, f32, tag::any);
  d.any_y = memory::desc(yd, f32, tag::any);
  d.any_w = memory::desc(wd, f32, tag::any);
  d.b = memory::desc({g.o}, f32, tag::x);
  d.strides = {s.sh, s.sw};
  d.dil = {s.dh - 1, s.dw - 1};
  d.pad_l = {s.ph, s.pw};
  d.pad_r = {right_padding(g.h, g.kh, g.oh, s.sh, s.ph, s.dh), right_padding(g.w, g.kw, g.ow, s.sw, s.pw, s.dw)};
  return d;
}

dnnl::convolution_forward::primitive_desc forward_pd(const Descs& d, bool bias, const dnnl::engine& e) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  using cf = dnnl::convolution_forward;
  auto desc = bias ? cf::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, d.any_x,
                              d.any_w, d.b, d.any_y, d.strides, d.dil, d.pad_l, d.pad_r)
                   : cf::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, d.any_x,
                              d.any_w, d.any_y, d.strides, d.dil, d.pad_l, d.pad_r);
  return cf::primitive_desc(desc, attr, e);
}

std::unique_ptr<Plan> make_plan(Pass pass, const Geometry& g, const ConvSpec& s, bool bias) {
  const Descs d = descs(g, s);
  const dnnl::engine& e = runtime().engine;
  auto plan = std::make_unique<Plan>();
  plan->pass = pass;
  plan->bias = d.b;
  plan->bias_on = bias;
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const auto hint = forward_pd(d, bias, e);
  switch (pass) {
    case Pass::forward: {
      plan->user_src = d.x, plan->user_wei = d.w, plan->user_dst = d.y;
      plan->prim_src = hint.src_desc(), plan->prim_wei = hint.weights_desc(), plan->prim_dst = hint.dst_desc();
      plan->scratchpad = hint.scratchpad_desc();
      plan->impl = hint.impl_info_str();
      plan->prim = dnnl::convolution_forward(hint);
      break;
    }
    case Pass::backward_data: {
      using cb = dnnl::convolution_backward_data;
      cb::primitive_desc pd(cb::desc(dnnl::algorithm::convolution_direct, d.any_x, d.any_w, d.any_y, d.strides, d.dil,
                                     d.pad_l, d.pad_r),
                            attr, e, hint);
      // "src" here is the incoming gradient (diff_dst), "dst" the result (diff_src).
      plan->user_src = d.y, plan->user_wei = d.w, plan->user_dst = d.x;
      plan->prim_src = pd.diff_dst_desc(), plan->prim_wei = pd.weights_desc(), plan->prim_dst = pd.diff_src_desc();
      plan->scratchpad = pd.scratchpad_desc();
      plan->impl = pd.impl_info_str();
      plan->prim = cb(pd);
      break;
    }
    case Pass::backward_weights: {
      using cb = dnnl::convolution_backward_weights;
      auto desc = bias ? cb::desc(dnnl::algorithm::convolution_direct, d.any_x, d.any_w, d.b, d.any_y, d.strides,
                                  d.dil, d.pad_l, d.pad_r)
                       : cb::desc(dnnl::algorithm::convolution_direct, d.any_x, d.any_w, d.any_y, d.strides, d.dil,
                                  d.pad_l, d.pad_r);
      cb::primitive_desc pd(desc, attr, e, hint);
      // Inputs x ("src") and the incoming gradient ("wei" slot), output the weight gradient.
      plan->user_src = d.x, plan->user_wei = d.y, plan->user_dst = d.w;
      plan->prim_src = pd.src_desc(), plan->prim_wei = pd.diff_dst_desc(), plan->prim_dst = pd.diff_weights_desc();
      plan->scratchpad = pd.scratchpad_desc();
      plan->impl = pd.impl_info_str();
      plan->prim = cb(pd);
      break;
    }
  }
  return plan;
}

// Plans of this thread, by pass and shape: created once, reused for every call.
Plan& plan_for(Pass pass, const Geometry& g, const ConvSpec& s, bool bias) {
  thread_local std::map<Key, std::unique_ptr<Plan>> plans;
  const Key key{{int64_t(pass), g.n, g.c, g.h, g.w, g.o, g.kh, g.kw, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw, s.groups,
                 int64_t(bias)}};
  auto it = plans.find(key);
  if (it == plans.end()) it = plans.emplace(key, make_plan(pass, g, s, bias)).first;
  return *it->second;
}

// A user tensor as the primitive wants it: the tensor's own memory when the layouts agree,
// else a reordered copy in `buffer`.
memory as_layout(const memory::desc& user, const memory::desc& want, void* data, std::unique_ptr<Scratch>& buffer) {
  Runtime& r = runtime();
  memory mine(user, r.engine, data);
  if (user == want) return mine;
  buffer = std::make_unique<Scratch>(want.get_size());
  memory theirs(want, r.engine, buffer->p);
  dnnl::reorder(mine, theirs).execute(r.stream, mine, theirs);
  return theirs;
}

// Runs a plan on user buffers: two inputs, one output (and the bias, in or out).
void run(Plan& p, const void* src, const void* wei, void* dst, void* bias) {
  Runtime& r = runtime();
  std::unique_ptr<Scratch> src_buf, wei_buf, dst_buf;
  memory ms = as_layout(p.user_src, p.prim_src, const_cast<void*>(src), src_buf);
  memory mw = as_layout(p.user_wei, p.prim_wei, const_cast<void*>(wei), wei_buf);
  memory user_out(p.user_dst, r.engine, dst);
  memory mo = user_out;
  if (!(p.user_dst == p.prim_dst)) {
    dst_buf = std::make_unique<Scratch>(p.prim_dst.get_size());
    mo = memory(p.prim_dst, r.engine, dst_buf->p);
  }
  Scratch pad(p.scratchpad.get_size());
  std::unordered_map<int, memory> args{{DNNL_ARG_SCRATCHPAD, memory(p.scratchpad, r.engine, pad.p)}};
  switch (p.pass) {  // the argument slots of each pass (see make_plan)
    case Pass::forward:
      args.insert({{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, mo}});
      if (p.bias_on) args.insert({DNNL_ARG_BIAS, memory(p.bias, r.engine, bias)});
      break;
    case Pass::backward_data:
      args.insert({{DNNL_ARG_DIFF_DST, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DIFF_SRC, mo}});
      break;
    case Pass::backward_weights:
      args.insert({{DNNL_ARG_SRC, ms}, {DNNL_ARG_DIFF_DST, mw}, {DNNL_ARG_DIFF_WEIGHTS, mo}});
      if (p.bias_on) args.insert({DNNL_ARG_DIFF_BIAS, memory(p.bias, r.engine, bias)});
      break;
  }
  p.prim.execute(r.stream, args);
  if (dst_buf) dnnl::reorder(mo, user_out).execute(r.stream, mo, user_out);
  r.stream.wait();
}

// oneDNN handles float32 whenever its right padding is not negative.
bool use_dnnl(DType dt, const Geometry& g, const ConvSpec& s) {
  return dt == DType::f32 && right_padding(g.h, g.kh, g.oh, s.sh, s.ph, s.dh) >= 0 &&
         right_padding(g.w, g.kw, g.ow, s.sw, s.pw, s.dw) >= 0;
}

void check_dtypes(const Tensor& a, const Tensor& b, const char* op) {
  DESCENT_CHECK(a.dtype() == b.dtype() && is_floating(a.dtype()), ShapeError,
                "{}: operands must be float32 or float64 of one dtype, got {} and {}", op, dtype_name(a.dtype()),
                dtype_name(b.dtype()));
}

}  // namespace

Shape conv2d_output_shape(const Shape& x, const Shape& w, const ConvSpec& spec) {
  const Geometry g = geometry(x, w, spec);
  return Shape{g.n, g.o, g.oh, g.ow};
}

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvSpec& spec) {
  const Geometry g = geometry(x.shape(), w.shape(), spec);
  check_dtypes(x, w, "conv2d");
  if (b.defined())
    DESCENT_CHECK(b.shape() == Shape{g.o} && b.dtype() == x.dtype(), ShapeError,
                  "conv2d: bias must be [{}] {}, got {} {}", g.o, dtype_name(x.dtype()), b.shape(),
                  dtype_name(b.dtype()));
  if (!use_dnnl(x.dtype(), g, spec)) return reference_forward(x, w, b, g, spec);
  Tensor y = Tensor::empty({g.n, g.o, g.oh, g.ow}, x.dtype());
  run(plan_for(Pass::forward, g, spec, b.defined()), x.raw(), w.raw(), y.raw(),
      b.defined() ? const_cast<void*>(b.raw()) : nullptr);
  return y;
}

Tensor conv2d_backward_data(const Tensor& gy, const Tensor& w, const Shape& x_shape, const ConvSpec& spec) {
  const Geometry g = geometry(x_shape, w.shape(), spec);
  check_dtypes(gy, w, "conv2d_backward_data");
  DESCENT_CHECK(gy.shape() == Shape({g.n, g.o, g.oh, g.ow}), ShapeError,
                "conv2d_backward_data: the gradient is {}, the output [{}, {}, {}, {}]", gy.shape(), g.n, g.o, g.oh,
                g.ow);
  if (!use_dnnl(gy.dtype(), g, spec)) return reference_backward_data(gy, w, g, spec);
  Tensor gx = Tensor::empty(x_shape, gy.dtype());
  run(plan_for(Pass::backward_data, g, spec, false), gy.raw(), w.raw(), gx.raw(), nullptr);
  return gx;
}

Tensor conv2d_backward_weights(const Tensor& x, const Tensor& gy, const Shape& w_shape, const ConvSpec& spec,
                               Tensor* bias_grad) {
  const Geometry g = geometry(x.shape(), w_shape, spec);
  check_dtypes(x, gy, "conv2d_backward_weights");
  DESCENT_CHECK(gy.shape() == Shape({g.n, g.o, g.oh, g.ow}), ShapeError,
                "conv2d_backward_weights: the gradient is {}, the output [{}, {}, {}, {}]", gy.shape(), g.n, g.o,
                g.oh, g.ow);
  if (!use_dnnl(x.dtype(), g, spec)) return reference_backward_weights(x, gy, g, spec, bias_grad);
  Tensor gw = Tensor::empty(w_shape, x.dtype());
  if (bias_grad) *bias_grad = Tensor::empty({g.o}, x.dtype());
  run(plan_for(Pass::backward_weights, g, spec, bias_grad != nullptr), x.raw(), gy.raw(), gw.raw(),
      bias_grad ? bias_grad->raw() : nullptr);
  return gw;
}

std::string conv2d_implementation() {
  // The second convolution of the README's CNN at batch 128.
  const ConvSpec spec{.ph = 2, .pw = 2};
  const Geometry g = geometry(Shape{128, 16, 14, 14}, Shape{32, 16, 5, 5}, spec);
  const dnnl_version_t* v = dnnl_version();
  return fmt::format("oneDNN {}.{}.{} {}", v->major, v->minor, v->patch, plan_for(Pass::forward, g, spec, true).impl);
}

}  // namespace descent
