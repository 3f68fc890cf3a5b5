// libxsmm kernels for row-major products (see jit_gemm.hpp).
//
// libxsmm is column-major, and a row-major matrix read column-major is its transpose, so the
// row-major product C = op(A) op(B) is computed as the column-major Cᵀ = op(B)ᵀ op(A)ᵀ: the
// operands swap places, m and n swap, and every leading dimension stays what it was.
//   A B   : Cᵀ = Bᵀ Aᵀ         -> kernel(n, m, k) on (b, a), no flags
//   Aᵀ B  : Cᵀ = Bᵀ A          -> the same with LIBXSMM_GEMM_FLAG_TRANS_B
//   A Bᵀ  : Cᵀ = B Aᵀ          -> libxsmm 1.17 generates no kernel with TRANS_A, so Bᵀ is
//                                 first copied out (libxsmm_otrans) and the A B case runs.
// Measured on this project's machine (1 thread, float32, thread CPU time; OpenBLAS 0.3.21 with
// the environment's Haswell kernels): 32x32x784 A Bᵀ 21.8 -> 10.4 us, 32x784x32 Aᵀ B 17.5 ->
// 7.4 us, 128x256x256 161 -> 73 us, 5000x256x784 22.0 -> 11.1 ms; 2000x2000x2000 0.95x (the BLAS's
// cache blocking wins there), hence the size limit below.
#include "jit_gemm.hpp"

#include <libxsmm.h>

#include <type_traits>
#include <vector>

#include "descent/core/thread_pool.hpp"

namespace descent::detail {
namespace {

// Above this many multiply-adds the BLAS's blocking (and its threads) win.
constexpr double kMaxMultiplyAdds = 2147483648.0;  // 2^31
// With several BLAS threads, only products too small for the BLAS to split go to libxsmm.
constexpr double kMaxMultiplyAddsThreaded = 4194304.0;  // 2^22
// A Bᵀ copies Bᵀ (n·k elements) first: worth it only when m rows share the copy, and only for a
// workspace of bounded size.
constexpr int64_t kMinRowsForTranspose = 8;
constexpr int64_t kMaxTransposeElements = int64_t(1) << 22;
// Aᵀ B (the weight-gradient shape δᵀ a): libxsmm's TRANS_B kernels stream both operands along k
// and fall to a third of the BLAS's speed once they leave the L2 cache. Measured on an Intel Xeon
// (Sapphire Rapids, AVX-512, 2 MiB L2), float64, 1 thread: 256x784 with k = 1024 libxsmm 24.6,
// OpenBLAS 64.1 GFLOP/s; k = 5000 11.2 vs 58.2; 256x256, k = 128: 77.3 vs 56.9 (libxsmm wins
// while (m + n)·k elements fit in L2).
constexpr int64_t kMaxTransposedABytes = int64_t(1) << 21;  // 2 MiB
// A Bᵀ with a large Bᵀ: its copy costs more than the BLAS's own packing. 5000x256 by 784x256ᵀ
// (float64, as above): copy + libxsmm 57.6, OpenBLAS 68.7 GFLOP/s in chunks of 256 rows.
constexpr int64_t kMaxTransposeBytes = int64_t(1) << 20;  // 1 MiB
// ... and with few rows to share it: 32x32 by (32x784)ᵀ, float32, copy + libxsmm 16.2 us (6.4 of
// them the copy), OpenBLAS 12.3 us (the first layer of a 784-32-32-10 batch-32 step); with 64
// rows libxsmm wins again (55 vs 65 us for 64x64x784).
constexpr int64_t kMinRowsForLargeTranspose = 33;
constexpr int64_t kLargeTransposeBytes = int64_t(1) << 16;  // 64 KiB

template <class T>
using Kernel = std::conditional_t<std::is_same_v<T, float>, libxsmm_smmfunction, libxsmm_dmmfunction>;

template <class T>
Kernel<T> dispatch(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc, T beta, int flags) {
  const libxsmm_blasint M = m, N = n, K = k, LDA = lda, LDB = ldb, LDC = ldc;
  const T alpha = 1;
  if constexpr (std::is_same_v<T, float>)
    return libxsmm_smmdispatch(M, N, K, &LDA, &LDB, &LDC, &alpha, &beta, &flags, nullptr);
  else
    return libxsmm_dmmdispatch(M, N, K, &LDA, &LDB, &LDC, &alpha, &beta, &flags, nullptr);
}

template <class T>
std::vector<T>& transpose_workspace() {
  thread_local std::vector<T> buffer;  // reused: first-touch memory is ~10x slower here
  return buffer;
}

}  // namespace

template <class T>
bool jit_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
              const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (alpha != T(1) || (beta != T(0) && beta != T(1)) || (trans_a && trans_b)) return false;
  const double work = double(m) * double(n) * double(k);
  if (work > kMaxMultiplyAdds || (work > kMaxMultiplyAddsThreaded && blas_threads() > 1)) return false;
  if (trans_a && (m + n) * k * int64_t(sizeof(T)) > kMaxTransposedABytes) return false;
  if (!trans_a && trans_b) {
    const int64_t copy_bytes = n * k * int64_t(sizeof(T));
    if (m < kMinRowsForTranspose || n * k > kMaxTransposeElements || copy_bytes > kMaxTransposeBytes ||
        (m < kMinRowsForLargeTranspose && copy_bytes >= kLargeTransposeBytes))
      return false;
    const auto kernel = dispatch<T>(n, m, k, n, lda, ldc, beta, LIBXSMM_GEMM_FLAG_NONE);
    if (!kernel) return false;
    std::vector<T>& bt = transpose_workspace<T>();
    if (bt.size() < size_t(n * k)) bt.resize(size_t(n * k));
    // B is n x k row-major (ld ldb) = column-major k x n; its transpose, n x k column-major
    // (ld n), is the k x n row-major Bᵀ that the A B case reads.
    libxsmm_otrans(bt.data(), b, sizeof(T), libxsmm_blasint(k), libxsmm_blasint(n), libxsmm_blasint(ldb),
                   libxsmm_blasint(n));
    kernel(bt.data(), a, c);
    return true;
  }
  const int flags = trans_a ? LIBXSMM_GEMM_FLAG_TRANS_B : LIBXSMM_GEMM_FLAG_NONE;
  const auto kernel = dispatch<T>(n, m, k, ldb, lda, ldc, beta, flags);
  if (!kernel) return false;
  kernel(b, a, c);
  return true;
}

template bool jit_gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                              int64_t, float, float*, int64_t);
template bool jit_gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                               int64_t, double, double*, int64_t);

}  // namespace descent::detail
