// Matrix products (libxsmm JIT kernels where they win, else CBLAS: jit_gemm.hpp), BLAS-1
// updates, transposes and permutations.
#include <cblas.h>

#include <algorithm>

#include "descent/core/ops.hpp"
#include "jit_gemm.hpp"

namespace descent {
namespace {

struct MatDims {
  int64_t rows, cols;
};
MatDims op_dims(const Tensor& t, bool trans) {
  const int64_t r = t.dim(-2), c = t.dim(-1);
  return trans ? MatDims{c, r} : MatDims{r, c};
}

std::string describe(const Tensor& t, bool trans) { return t.shape().str() + (trans ? "^T" : ""); }

template <class T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
          const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (detail::jit_gemm<T>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
  const auto TA = ta ? CblasTrans : CblasNoTrans;
  const auto TB = tb ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, TA, TB, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
  else
    cblas_dgemm(CblasRowMajor, TA, TB, int(m), int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

}  // namespace

void gemm_into(Tensor& c, const Tensor& a, const Tensor& b, bool ta, bool tb, double alpha, double beta) {
  DESCENT_CHECK(a.rank() == 2 && b.rank() == 2 && c.rank() == 2, ShapeError,
                "gemm: expects 2-D operands, got {} x {} -> {}", a.shape(), b.shape(), c.shape());
  DESCENT_CHECK(a.dtype() == b.dtype() && a.dtype() == c.dtype(), ShapeError,
                "gemm: dtypes differ ({}, {}, {})", dtype_name(a.dtype()), dtype_name(b.dtype()),
                dtype_name(c.dtype()));
  const MatDims da = op_dims(a, ta), db = op_dims(b, tb);
  DESCENT_CHECK(da.cols == db.rows, ShapeError, "matmul: {} x {}: inner dimensions {} and {} differ",
                describe(a, ta), describe(b, tb), da.cols, db.rows);
  DESCENT_CHECK(c.dim(0) == da.rows && c.dim(1) == db.cols, ShapeError,
                "gemm: output {} does not match {} x {}", c.shape(), describe(a, ta), describe(b, tb));
  if (da.rows == 0 || db.cols == 0) return;
  if (da.cols == 0) {
    if (beta == 0) c.fill(0);
    else scale_inplace(c, beta);
    return;
  }
  dispatch_floating(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    gemm<T>(ta, tb, da.rows, db.cols, da.cols, T(alpha), a.data<T>(), a.dim(1), b.data<T>(), b.dim(1),
            T(beta), c.data<T>(), c.dim(1));
    return 0;
  });
}

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  DESCENT_CHECK(a.defined() && b.defined(), ShapeError, "matmul: undefined operand");
  DESCENT_CHECK(a.dtype() == b.dtype(), ShapeError, "matmul: {} {} x {} {}: dtypes differ",
                dtype_name(a.dtype()), a.shape(), dtype_name(b.dtype()), b.shape());
  if (a.rank() == 2 && b.rank() == 2) {
    const MatDims da = op_dims(a, ta), db = op_dims(b, tb);
    DESCENT_CHECK(da.cols == db.rows, ShapeError, "matmul: {} x {}: inner dimensions {} and {} differ",
                  describe(a, ta), describe(b, tb), da.cols, db.rows);
    Tensor c = Tensor::empty({da.rows, db.cols}, a.dtype());
    gemm_into(c, a, b, ta, tb);
    return c;
  }
  DESCENT_CHECK(a.rank() == 3 && b.rank() == 3 && a.dim(0) == b.dim(0), ShapeError,
                "matmul: {} x {}: expected 2-D x 2-D or batched 3-D x 3-D with equal batch",
                a.shape(), b.shape());
  const MatDims da = op_dims(a, ta), db = op_dims(b, tb);
  DESCENT_CHECK(da.cols == db.rows, ShapeError, "matmul: {} x {}: inner dimensions {} and {} differ",
                describe(a, ta), describe(b, tb), da.cols, db.rows);
  const int64_t batch = a.dim(0);
  Tensor c = Tensor::empty({batch, da.rows, db.cols}, a.dtype());
  for (int64_t i = 0; i < batch; ++i) {
    Tensor ci = c.row(i);
    gemm_into(ci, a.row(i), b.row(i), ta, tb);
  }
  return c;
}

void axpy(Tensor& y, double alpha, const Tensor& x) {
  DESCENT_CHECK(x.numel() == y.numel() && x.dtype() == y.dtype(), ShapeError,
                "axpy: x {} {} and y {} {} differ in size or dtype", dtype_name(x.dtype()), x.shape(),
                dtype_name(y.dtype()), y.shape());
  dispatch_floating(y.dtype(), "axpy", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float>)
      cblas_saxpy(int(y.numel()), float(alpha), x.data<float>(), 1, y.data<float>(), 1);
    else
      cblas_daxpy(int(y.numel()), alpha, x.data<double>(), 1, y.data<double>(), 1);
    return 0;
  });
}

void scale_inplace(Tensor& x, double alpha) {
  dispatch_floating(x.dtype(), "scale", [&](auto tag) {
    using T = decltype(tag);
    T* p = x.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) p[i] *= T(alpha);
    return 0;
  });
}

Tensor transpose(const Tensor& x) {
  DESCENT_CHECK(x.rank() >= 2, ShapeError, "transpose: needs at least 2 axes, got {}", x.shape());
  std::vector<int> perm(static_cast<size_t>(x.rank()));
  for (int i = 0; i < x.rank(); ++i) perm[static_cast<size_t>(i)] = i;
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return permute(x, perm);
}

Tensor permute(const Tensor& x, const std::vector<int>& perm) {
  const int r = x.rank();
  DESCENT_CHECK(static_cast<int>(perm.size()) == r, ShapeError,
                "permute: {} axes given for shape {}", perm.size(), x.shape());
  std::vector<bool> seen(static_cast<size_t>(r), false);
  Shape out_shape;
  int64_t in_strides[Shape::kMaxRank];
  int64_t s = 1;
  for (int i = r - 1; i >= 0; --i) {
    in_strides[i] = s;
    s *= x.shape()[i];
  }
  int64_t strides[Shape::kMaxRank];
  for (int i = 0; i < r; ++i) {
    const int p = x.shape().normalize_axis(perm[static_cast<size_t>(i)]);
    DESCENT_CHECK(!seen[static_cast<size_t>(p)], ShapeError, "permute: axis {} repeated", p);
    seen[static_cast<size_t>(p)] = true;
    out_shape.push_back(x.shape()[p]);
    strides[i] = in_strides[p];
  }
  Tensor out = Tensor::empty(out_shape, x.dtype());
  const size_t es = dtype_size(x.dtype());
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(out.raw());
  const int64_t n = out.numel();
  if (n == 0) return out;
  // 2-D fast path in blocks for cache reuse.
  if (r == 2 && es == 4) {
    const int64_t R = out_shape[0], C = out_shape[1];
    const float* f = reinterpret_cast<const float*>(src);
    float* g = reinterpret_cast<float*>(dst);
    for (int64_t i0 = 0; i0 < R; i0 += 32)
      for (int64_t j0 = 0; j0 < C; j0 += 32)
        for (int64_t i = i0; i < std::min(R, i0 + 32); ++i)
          for (int64_t j = j0; j < std::min(C, j0 + 32); ++j) g[i * C + j] = f[i * strides[0] + j * strides[1]];
    return out;
  }
  int64_t idx[Shape::kMaxRank] = {};
  int64_t off = 0;
  for (int64_t k = 0; k < n; ++k) {
    std::memcpy(dst + k * static_cast<int64_t>(es), src + off * static_cast<int64_t>(es), es);
    for (int i = r - 1; i >= 0; --i) {
      ++idx[i];
      off += strides[i];
      if (idx[i] < out_shape[i]) break;
      off -= strides[i] * idx[i];
      idx[i] = 0;
    }
  }
  return out;
}

Tensor contiguous_copy(const Tensor& x) { return x.clone(); }

}  // namespace descent
