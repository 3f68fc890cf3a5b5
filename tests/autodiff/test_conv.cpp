// im2col layout and pooling values against direct loops; a convolution as W @ im2col(x).
#include "helpers.hpp"

using namespace descent;
using namespace descent::testing;

namespace {

// Direct 2-D convolution (cross-correlation) with zero padding: y[n, o, i, j].
Tensor conv_direct(const Tensor& x, const Tensor& w, const Window2d& win) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), O = w.dim(0);
  const int64_t OH = win.out_h(H), OW = win.out_w(W);
  Tensor y = Tensor::zeros({N, O, OH, OW}, DType::f64);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double acc = 0;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t a = 0; a < win.kh; ++a)
              for (int64_t b = 0; b < win.kw; ++b) {
                const int64_t yy = i * win.sh - win.ph + a, xx = j * win.sw - win.pw + b;
                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                acc += x.at(((n * C + c) * H + yy) * W + xx) * w.at(((o * C + c) * win.kh + a) * win.kw + b);
              }
          y.set(((n * O + o) * OH + i) * OW + j, acc);
        }
  return y;
}

TEST(Conv, Im2colMatmulIsConvolution) {
  const Window2d win{3, 2, 2, 1, 1, 1};
  const Tensor x = uniform({2, 3, 5, 4}, -1, 1, 1), w = uniform({4, 3, 3, 2}, -1, 1, 2);
  const int64_t OH = win.out_h(5), OW = win.out_w(4);
  auto conv = [&](const VarList& v) {
    Var cols = im2col(v[0], win);                                  // [N, C*kh*kw, OH*OW]
    Var y = matmul(reshape(v[1], Shape{4, 3 * 3 * 2}), cols);       // [N, O, OH*OW]
    return reshape(y, Shape{2, 4, OH, OW});
  };
  NoGradGuard ng;
  const Tensor y = conv({Var(x), Var(w)}).value();
  EXPECT_LE(max_relative_difference(y, conv_direct(x, w, win), 1e-12), 1e-12);
}

TEST(Conv, ConvolutionGradientsAndSecondOrder) {
  const Window2d win{2, 2, 1, 1, 1, 0};
  const std::vector<Tensor> x = {uniform({2, 2, 3, 3}, -1, 1, 3), uniform({3, 2, 2, 2}, -1, 1, 4)};
  const Function f = [win](const VarList& v) {
    Var y = matmul(reshape(v[1], Shape{3, 8}), im2col(v[0], win));
    return tanh(y);
  };
  expect_gradients(f, x);
  expect_adjoint(f, x);
  expect_second_order(f, x);
}

TEST(Conv, PoolingValues) {
  const Tensor x = distinct({1, 2, 4, 5}, 5);
  const Window2d win{2, 3, 2, 2, 1, 1};
  const int64_t OH = win.out_h(4), OW = win.out_w(5);
  NoGradGuard ng;
  const Tensor mx = max_pool2d(Var(x), win).value(), av = avg_pool2d(Var(x), win).value();
  ASSERT_EQ(mx.shape(), Shape({1, 2, OH, OW}));
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t i = 0; i < OH; ++i)
      for (int64_t j = 0; j < OW; ++j) {
        double best = -1e300, total = 0;
        for (int64_t a = 0; a < win.kh; ++a)
          for (int64_t b = 0; b < win.kw; ++b) {
            const int64_t yy = i * win.sh - win.ph + a, xx = j * win.sw - win.pw + b;
            if (yy < 0 || yy >= 4 || xx < 0 || xx >= 5) continue;
            const double v = x.at((c * 4 + yy) * 5 + xx);
            best = std::max(best, v);
            total += v;
          }
        EXPECT_EQ(mx.at((c * OH + i) * OW + j), best);
        EXPECT_NEAR(av.at((c * OH + i) * OW + j), total / double(win.kh * win.kw), 1e-15);
      }
}

// The one-pass kernel (core max_pool2d) on both of its paths (windows inside the image: no
// bounds checks; padded windows) and with ties: its values are the window maxima, its choices
// those of max_pool2d_indices (the first maximal element), in float32 and float64.
TEST(Conv, OnePassMaxPoolMatchesIndices) {
  for (const Window2d& win : {Window2d{2, 2, 2, 2, 0, 0}, Window2d{3, 3, 2, 2, 0, 0}, Window2d{2, 3, 2, 2, 1, 1}}) {
    for (DType dt : {DType::f64, DType::f32}) {
      // Values rounded to a coarse grid so that windows hold ties.
      Tensor x = uniform({2, 3, 7, 8}, -2, 2, 21);
      for (int64_t i = 0; i < x.numel(); ++i) x.set(i, std::round(x.at(i)));
      x = x.astype(dt);
      Tensor index;
      const Tensor y = max_pool2d(x, win, index);
      const Tensor ref_index = max_pool2d_indices(x, win);
      ASSERT_EQ(index.shape(), ref_index.shape());
      const int64_t OH = win.out_h(7), OW = win.out_w(8), planes = 6;
      ASSERT_EQ(y.shape(), Shape({2, 3, OH, OW}));
      for (int64_t p = 0; p < planes; ++p)
        for (int64_t o = 0; o < OH * OW; ++o) {
          const int64_t k = p * OH * OW + o;
          EXPECT_EQ(index.data<int64_t>()[k], ref_index.data<int64_t>()[k]);
          EXPECT_EQ(y.at(k), x.at(p * 56 + index.data<int64_t>()[k]));
        }
    }
  }
}

TEST(Conv, Im2colAndCol2imAreAdjoint) {
  const Window2d win{3, 3, 2, 2, 1, 1};
  const Tensor x = uniform({2, 2, 5, 6}, -1, 1, 6);
  const Tensor cols = im2col(x, win);
  const Tensor c = uniform(cols.shape(), -1, 1, 7);
  EXPECT_NEAR(dot(cols, c), dot(x, col2im(c, x.shape(), win)), 1e-12);
}

}  // namespace

// ---- conv2d (core/conv.hpp: oneDNN for float32, im2col + GEMM per group for float64) ----
namespace {

// Direct convolution with stride, padding, dilation and groups (PyTorch's conv2d), float64.
Tensor conv_direct_full(const Tensor& x, const Tensor& w, const Tensor& b, const ConvSpec& s) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), O = w.dim(0), kh = w.dim(2),
                kw = w.dim(3);
  const int64_t G = s.groups, Cg = C / G, Og = O / G, OH = s.out_h(H, kh), OW = s.out_w(W, kw);
  Tensor y = Tensor::zeros({N, O, OH, OW}, DType::f64);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double acc = b.defined() ? b.at(o) : 0.0;
          const int64_t g = o / Og;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t e = 0; e < kw; ++e) {
                const int64_t yy = i * s.sh - s.ph + a * s.dh, xx = j * s.sw - s.pw + e * s.dw;
                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                acc += x.at(((n * C + g * Cg + c) * H + yy) * W + xx) * w.at(((o * Cg + c) * kh + a) * kw + e);
              }
          y.set(((n * O + o) * OH + i) * OW + j, acc);
        }
  return y;
}

struct ConvCase {
  Shape x, w;
  ConvSpec spec;
};
// Stride, asymmetric kernels, padding whose right edge PyTorch's floor division drops,
// dilation and groups.
const std::vector<ConvCase> kConvCases = {
    {{2, 3, 7, 6}, {4, 3, 3, 2}, ConvSpec{}},
    {{2, 3, 7, 6}, {4, 3, 3, 3}, ConvSpec{.sh = 2, .sw = 2, .ph = 1, .pw = 1}},
    {{2, 2, 8, 9}, {3, 2, 3, 2}, ConvSpec{.sh = 1, .sw = 2, .ph = 2, .pw = 1, .dh = 2, .dw = 3}},
    {{2, 4, 6, 6}, {6, 2, 3, 3}, ConvSpec{.ph = 1, .pw = 1, .groups = 2}},
    {{2, 4, 9, 8}, {4, 1, 3, 3}, ConvSpec{.sh = 2, .sw = 2, .ph = 1, .pw = 0, .dh = 2, .dw = 1, .groups = 4}},
};

}  // namespace

TEST(Conv2d, ForwardMatchesDirectLoopsInBothDtypes) {
  for (const ConvCase& c : kConvCases) {
    const Tensor x = uniform(c.x, -1, 1, 1), w = uniform(c.w, -1, 1, 2), b = uniform({c.w[0]}, -1, 1, 3);
    const Tensor want = conv_direct_full(x, w, b, c.spec);
    EXPECT_LE(max_relative_difference(conv2d_forward(x, w, b, c.spec), want, 1.0), 1e-14);
    // float32 (oneDNN) against the float64 loops, relative to the O(1) scale of the values.
    const Tensor y32 = conv2d_forward(x.astype(DType::f32), w.astype(DType::f32), b.astype(DType::f32), c.spec);
    EXPECT_LE(max_relative_difference(y32.astype(DType::f64), want, 1.0), 1e-6) << c.x.str() << " " << c.w.str();
  }
}

TEST(Conv2d, Float32BackwardPassesMatchFloat64) {
  for (const ConvCase& c : kConvCases) {
    const Tensor x = uniform(c.x, -1, 1, 4), w = uniform(c.w, -1, 1, 5);
    const Shape ys = conv2d_output_shape(c.x, c.w, c.spec);
    const Tensor g = uniform(ys, -1, 1, 6);
    auto f32 = [](const Tensor& t) { return t.astype(DType::f32); };
    Tensor gb64, gb32;
    const Tensor gx64 = conv2d_backward_data(g, w, c.x, c.spec);
    const Tensor gw64 = conv2d_backward_weights(x, g, c.w, c.spec, &gb64);
    const Tensor gx32 = conv2d_backward_data(f32(g), f32(w), c.x, c.spec);
    const Tensor gw32 = conv2d_backward_weights(f32(x), f32(g), c.w, c.spec, &gb32);
    EXPECT_LE(max_relative_difference(gx32.astype(DType::f64), gx64, 1.0), 1e-6) << c.x.str() << " " << c.w.str();
    EXPECT_LE(max_relative_difference(gw32.astype(DType::f64), gw64, 1.0), 1e-6) << c.x.str() << " " << c.w.str();
    EXPECT_LE(max_relative_difference(gb32.astype(DType::f64), gb64, 1.0), 1e-6) << c.x.str() << " " << c.w.str();
    EXPECT_LE(max_relative_difference(gb64, sum(g, {0, 2, 3}), 1.0), 1e-14);
  }
}

TEST(Conv2d, GradientsAdjointAndSecondOrderInFloat64) {
  for (const ConvCase& c : kConvCases) {
    const std::vector<Tensor> x = {uniform(c.x, -1, 1, 7), uniform(c.w, -1, 1, 8), uniform({c.w[0]}, -1, 1, 9)};
    SCOPED_TRACE(c.x.str() + " " + c.w.str());
    const ConvSpec spec = c.spec;
    const Function f = [spec](const VarList& v) { return tanh(conv2d(v[0], v[1], v[2], spec)); };
    expect_gradients(f, x);
    expect_adjoint(f, x);
    expect_second_order(f, x);
  }
}

TEST(Conv2d, AgreesWithTheIm2colPathToSecondOrder) {
  // The composition the layer used before (W @ im2col(x)): values, gradients and H v agree.
  const Window2d win{3, 3, 2, 2, 1, 1};
  const ConvSpec spec{.sh = 2, .sw = 2, .ph = 1, .pw = 1};
  const std::vector<Tensor> x = {uniform({2, 3, 7, 6}, -1, 1, 10), uniform({4, 3, 3, 3}, -1, 1, 11)};
  const int64_t OH = win.out_h(7), OW = win.out_w(6);
  const Function old_path = [&](const VarList& v) {
    Var y = matmul(reshape(v[1], Shape{4, 27}), im2col(v[0], win));
    return sum(square(tanh(reshape(y, Shape{2, 4, OH, OW}))));
  };
  const Function new_path = [&](const VarList& v) { return sum(square(tanh(conv2d(v[0], v[1], Var(), spec)))); };
  const auto [f_old, g_old] = value_and_grad(old_path, x);
  const auto [f_new, g_new] = value_and_grad(new_path, x);
  EXPECT_NEAR(f_old.item(), f_new.item(), 1e-12 * std::abs(f_old.item()));
  EXPECT_LE(max_rel(g_old, g_new), 1e-12);
  const std::vector<Tensor> v = random_like(x, 12);
  EXPECT_LE(max_rel(hessian_vector_product(old_path, x, v), hessian_vector_product(new_path, x, v)), 1e-10);
}

TEST(Conv2d, Float32SecondOrderRunsOnTheSameKernels) {
  // H v in float32 (every backward pass through oneDNN, in both HVP modes) against float64.
  const ConvSpec spec{.ph = 2, .pw = 2};
  const std::vector<Tensor> x = {uniform({4, 3, 10, 10}, -1, 1, 13), uniform({5, 3, 5, 5}, -0.3, 0.3, 14),
                                 uniform({5}, -1, 1, 15)};
  const Function f = [spec](const VarList& v) { return sum(square(tanh(conv2d(v[0], v[1], v[2], spec)))); };
  const std::vector<Tensor> v = random_like(x, 16);
  std::vector<Tensor> x32, v32;
  for (size_t i = 0; i < x.size(); ++i) x32.push_back(x[i].astype(DType::f32)), v32.push_back(v[i].astype(DType::f32));
  const auto h64 = hessian_vector_product(f, x, v);
  for (HvpMode mode : {HvpMode::forward_over_reverse, HvpMode::reverse_over_reverse}) {
    const auto h32 = hessian_vector_product(f, x32, v32, mode);
    std::vector<Tensor> h32d;
    for (const Tensor& t : h32) h32d.push_back(t.astype(DType::f64));
    EXPECT_LE(max_rel(h32d, h64, 1.0), 1e-4);
  }
}

TEST(Conv2d, RejectsMismatchedShapes) {
  const Tensor x = Tensor::zeros({1, 4, 5, 5}, DType::f64);
  EXPECT_THROW(conv2d_forward(x, Tensor::zeros({2, 3, 3, 3}, DType::f64), Tensor(), ConvSpec{}), ShapeError);
  EXPECT_THROW(conv2d_forward(x, Tensor::zeros({3, 2, 3, 3}, DType::f64), Tensor(), ConvSpec{.groups = 2}),
               ShapeError);
  EXPECT_THROW(conv2d_forward(x, Tensor::zeros({2, 4, 7, 7}, DType::f64), Tensor(), ConvSpec{}), ShapeError);
}

