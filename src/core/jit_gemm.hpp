#pragma once
// Small and medium matrix products through libxsmm's JIT-generated kernels (Debian's
// libxsmm-dev), for the shapes where OpenBLAS spends its time packing and dispatching rather
// than multiplying: the per-step GEMMs of small networks. Private to core; linalg.cpp's gemm
// tries this first and falls back to CBLAS when it returns false.
#include <cstdint>

namespace descent::detail {

// Row-major C = alpha op(A) op(B) + beta C, like cblas_?gemm(CblasRowMajor, ...). Returns false
// (and touches nothing) when libxsmm does not take the case: alpha != 1, beta not 0 or 1, both
// operands transposed, a product too large for a JIT kernel to beat the BLAS, or more than one
// BLAS thread for a product the BLAS would parallelize.
template <class T>
bool jit_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
              const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

}  // namespace descent::detail
