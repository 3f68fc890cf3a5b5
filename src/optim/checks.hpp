#pragma once
// Hyper-parameter checks shared by every optimizer: a bad value is refused when the
// optimizer is built, with the parameter's name and the value.
#include <cmath>
#include <cstdint>

#include "descent/core/error.hpp"

namespace descent::optim::detail {

inline void check_nonnegative(const char* who, const char* param, double v) {
  DESCENT_CHECK(std::isfinite(v) && v >= 0.0, InputError,
                "{}: {} must be a finite number >= 0, got {}", who, param, v);
}
inline void check_positive(const char* who, const char* param, double v) {
  DESCENT_CHECK(std::isfinite(v) && v > 0.0, InputError, "{}: {} must be a finite number > 0, got {}",
                who, param, v);
}
// β ∈ [0, 1).
inline void check_decay(const char* who, const char* param, double v) {
  DESCENT_CHECK(std::isfinite(v) && v >= 0.0 && v < 1.0, InputError, "{}: {} must lie in [0, 1), got {}",
                who, param, v);
}

// (0, 1): Armijo's constant c1, backtracking and damping factors.
inline void check_open_unit(const char* who, const char* param, double v) {
  DESCENT_CHECK(v > 0.0 && v < 1.0, InputError, "{}: {} must lie in (0, 1), got {}", who, param, v);
}
// The starting point has one entry per parameter of the objective.
inline void check_start(const char* who, int64_t theta0_elements, int64_t parameters) {
  DESCENT_CHECK(theta0_elements == parameters, ShapeError, "{}: theta0 has {} elements, the objective has {} parameters",
                who, theta0_elements, parameters);
}

}  // namespace descent::optim::detail
