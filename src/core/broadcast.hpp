#pragma once
// Iteration over operands broadcast to a common output shape. Adjacent axes along which
// every operand is laid out contiguously are merged, so the common cases (same shape, a
// scalar, a bias row) run as one flat loop or as rows with a unit/zero inner stride.
#include <array>
#include <cstdint>

#include "descent/core/shape.hpp"

namespace descent::detail {

template <int N>
struct BroadcastPlan {
  int rank = 0;
  int64_t dims[Shape::kMaxRank] = {};
  int64_t strides[N][Shape::kMaxRank] = {};
};

// Strides (in elements) of each input, aligned to `out`, zero along broadcast axes.
template <int N>
BroadcastPlan<N> make_broadcast_plan(const Shape& out, const std::array<const Shape*, N>& ins) {
  BroadcastPlan<N> p;
  const int r = out.rank();
  int64_t st[N][Shape::kMaxRank];
  for (int k = 0; k < N; ++k) {
    const Shape& s = *ins[static_cast<size_t>(k)];
    int64_t stride = 1;
    for (int i = r - 1; i >= 0; --i) {
      const int j = i - (r - s.rank());
      const int64_t d = j >= 0 ? s[j] : 1;
      st[k][i] = (d == 1 && out[i] != 1) ? 0 : stride;
      if (d == 1) st[k][i] = 0;
      stride *= d;
    }
  }
  // Merge axis i into the running (outer) axis when all operands allow it.
  int m = -1;
  for (int i = 0; i < r; ++i) {
    if (out[i] == 1) continue;  // size-1 axes contribute nothing
    bool merge = m >= 0;
    for (int k = 0; k < N && merge; ++k) merge = st[k][m] == st[k][i] * out[i];
    if (merge) {
      p.dims[m] *= out[i];
      for (int k = 0; k < N; ++k) p.strides[k][m] = st[k][i];
    } else {
      ++m;
      p.dims[m] = out[i];
      for (int k = 0; k < N; ++k) p.strides[k][m] = st[k][i];
    }
  }
  p.rank = m + 1;
  if (p.rank == 0) {  // scalar output
    p.rank = 1;
    p.dims[0] = 1;
    for (int k = 0; k < N; ++k) p.strides[k][0] = 0;
  }
  return p;
}

// Calls row(offsets, length, inner_strides) for every innermost row, in row-major order.
template <int N, class Row>
void for_each_broadcast_row(const BroadcastPlan<N>& p, Row&& row) {
  const int last = p.rank - 1;
  const int64_t len = p.dims[last];
  int64_t inner[N];
  for (int k = 0; k < N; ++k) inner[k] = p.strides[k][last];
  int64_t idx[Shape::kMaxRank] = {};
  int64_t off[N] = {};
  int64_t outer = 1;
  for (int i = 0; i < last; ++i) outer *= p.dims[i];
  for (int64_t o = 0; o < outer; ++o) {
    row(static_cast<const int64_t*>(off), len, static_cast<const int64_t*>(inner));
    for (int i = last - 1; i >= 0; --i) {  // odometer increment
      ++idx[i];
      for (int k = 0; k < N; ++k) off[k] += p.strides[k][i];
      if (idx[i] < p.dims[i]) break;
      for (int k = 0; k < N; ++k) off[k] -= p.strides[k][i] * idx[i];
      idx[i] = 0;
    }
  }
}

}  // namespace descent::detail
