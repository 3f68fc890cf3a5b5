#pragma once
#include <cstddef>
#include <cstdint>

#include "descent/core/error.hpp"

namespace descent {

// Element types. Arithmetic is defined for f32 and f64; i64 holds indices and labels;
// u8 holds boolean masks (results of comparisons).
enum class DType : uint8_t { f32, f64, i64, u8 };

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::i64: return 8;
    case DType::u8: return 1;
  }
  return 0;
}
constexpr const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i64: return "int64";
    case DType::u8: return "bool";
  }
  return "?";
}
constexpr bool is_floating(DType t) { return t == DType::f32 || t == DType::f64; }

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };
template <class T> inline constexpr DType dtype_v = dtype_of<T>::value;

// Calls f(T{}) with T the C++ type of a floating dtype; throws naming `op` otherwise.
template <class F>
decltype(auto) dispatch_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    default: fail<ShapeError>("{}: expected a float32 or float64 tensor, got {}", op, dtype_name(t));
  }
}

}  // namespace descent
