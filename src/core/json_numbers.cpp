#include "descent/core/json_numbers.hpp"

#include <cmath>
#include <limits>

namespace descent {

nlohmann::json encode_non_finite(nlohmann::json j) {
  if (j.is_number_float()) {
    const double v = j.get<double>();
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  } else if (j.is_structured()) {
    for (auto& item : j) item = encode_non_finite(std::move(item));
  }
  return j;
}

nlohmann::json decode_non_finite(nlohmann::json j) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
  } else if (j.is_structured()) {
    for (auto& item : j) item = decode_non_finite(std::move(item));
  }
  return j;
}

}  // namespace descent
