#pragma once
// A shape seen as [outer, n, inner] around one axis: the index arithmetic shared by the
// kernels that work along an axis (reductions, softmax, gather/scatter, slicing). Private
// to core.
#include <cstdint>

#include "descent/core/shape.hpp"

namespace descent::detail {

struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};

inline AxisSplit split_at(const Shape& s, int axis) {
  AxisSplit r;
  for (int i = 0; i < s.rank(); ++i) {
    if (i < axis) r.outer *= s[i];
    else if (i == axis) r.n = s[i];
    else r.inner *= s[i];
  }
  return r;
}

}  // namespace descent::detail
