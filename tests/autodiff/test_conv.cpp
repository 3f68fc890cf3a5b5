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

TEST(Conv, Im2colAndCol2imAreAdjoint) {
  const Window2d win{3, 3, 2, 2, 1, 1};
  const Tensor x = uniform({2, 2, 5, 6}, -1, 1, 6);
  const Tensor cols = im2col(x, win);
  const Tensor c = uniform(cols.shape(), -1, 1, 7);
  EXPECT_NEAR(dot(cols, c), dot(x, col2im(c, x.shape(), win)), 1e-12);
}

}  // namespace
