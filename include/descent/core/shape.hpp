#pragma once
// Shape: the extents of a row-major tensor, stored inline (no allocation).
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "descent/core/error.hpp"

namespace descent {

class Shape {
 public:
  static constexpr int kMaxRank = 8;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(std::span<const int64_t> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(const std::vector<int64_t>& dims) { assign(dims.begin(), dims.end()); }

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[static_cast<size_t>(i)]; }
  int64_t& operator[](int i) { return dims_[static_cast<size_t>(i)]; }
  // Axis i counted from the end when negative (-1 is the last axis).
  int64_t dim(int i) const { return dims_[static_cast<size_t>(normalize_axis(i))]; }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<size_t>(i)];
    return n;
  }
  const int64_t* begin() const { return dims_.data(); }
  const int64_t* end() const { return dims_.data() + rank_; }
  std::vector<int64_t> vec() const { return {begin(), end()}; }

  void push_back(int64_t d) {
    DESCENT_CHECK(rank_ < kMaxRank, ShapeError, "Shape: rank above {} is not supported", kMaxRank);
    dims_[static_cast<size_t>(rank_++)] = d;
  }
  // Maps a possibly negative axis to [0, rank); throws naming the rank otherwise.
  int normalize_axis(int axis) const;
  std::string str() const;  // "[128,784]"

  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
      if (a.dims_[static_cast<size_t>(i)] != b.dims_[static_cast<size_t>(i)]) return false;
    return true;
  }

 private:
  template <class It>
  void assign(It first, It last) {
    rank_ = 0;
    for (; first != last; ++first) push_back(static_cast<int64_t>(*first));
  }
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

// The shape both operands broadcast to (NumPy rules); throws naming `op` when they can't.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace descent

template <>
struct fmt::formatter<descent::Shape> : fmt::formatter<std::string> {
  auto format(const descent::Shape& s, format_context& ctx) const {
    return fmt::formatter<std::string>::format(s.str(), ctx);
  }
};
