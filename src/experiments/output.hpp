#pragma once
// Small helpers shared by experiment files: CSV output beside result.json.
#include <filesystem>
#include <fstream>
#include <string>

#include "descent/core/error.hpp"

namespace descent::experiments {

// Opens OUT/name for writing, or returns a closed stream when there is no output folder.
inline std::ofstream open_output(const std::string& dir, const std::string& name) {
  std::ofstream out;
  if (dir.empty()) return out;
  const auto path = std::filesystem::path(dir) / name;
  out.open(path);
  DESCENT_CHECK(out.good(), InputError, "cannot write '{}'", path.string());
  return out;
}

inline bool within(double measured, double expected, double tolerance) {
  return std::abs(measured - expected) <= tolerance;
}

}  // namespace descent::experiments
