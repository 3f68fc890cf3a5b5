#pragma once
// Shared by the fuzz targets: run a parser on the input, accept descent::Error (a clear
// message about bad input), and let anything else escape so libFuzzer reports it.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "descent/core/error.hpp"

namespace descent::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

template <class F>
int accept_only_descent_errors(F&& parse) {
  try {
    parse();
  } catch (const descent::Error&) {
  }
  return 0;
}

// A property that must hold whenever parsing succeeded (e.g. write-then-read round trips).
inline void require(bool holds, const char* what) {
  if (!holds) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace descent::fuzz
