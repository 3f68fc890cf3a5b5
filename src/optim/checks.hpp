#pragma once
// Hyper-parameter checks shared by every optimizer: a bad value is refused when the
// optimizer is built, with the parameter's name and the value.
#include <cmath>

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

}  // namespace descent::optim::detail
