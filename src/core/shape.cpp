#include "descent/core/shape.hpp"

#include <algorithm>

namespace descent {

int Shape::normalize_axis(int axis) const {
  const int a = axis < 0 ? axis + rank_ : axis;
  DESCENT_CHECK(a >= 0 && a < rank_, ShapeError, "axis {} is out of range for shape {} (rank {})",
                axis, str(), rank_);
  return a;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ",";
    s += std::to_string(dims_[static_cast<size_t>(i)]);
  }
  return s + "]";
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int r = std::max(a.rank(), b.rank());
  Shape out;
  for (int i = 0; i < r; ++i) {
    const int ia = i - (r - a.rank()), ib = i - (r - b.rank());
    const int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    DESCENT_CHECK(da == db || da == 1 || db == 1, ShapeError,
                  "{}: shapes {} and {} do not broadcast (axis {}: {} vs {})", op, a, b, i, da, db);
    out.push_back(da == 1 ? db : da);
  }
  return out;
}

}  // namespace descent
