#include "descent/core/cpu_info.hpp"

#include <fstream>

#include <fmt/format.h>

#include "descent/core/conv.hpp"

namespace descent {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
    }
  return "unknown CPU";
}

std::string instruction_sets() {
#if defined(__AVX512F__)
  const char* compiled = "AVX-512";
#elif defined(__AVX2__)
  const char* compiled = "AVX2";
#elif defined(__AVX__)
  const char* compiled = "AVX";
#else
  const char* compiled = "SSE2";
#endif
  __builtin_cpu_init();
  const char* cpu = __builtin_cpu_supports("avx512f") ? "AVX-512"
                    : __builtin_cpu_supports("avx2")  ? "AVX2"
                    : __builtin_cpu_supports("avx")   ? "AVX"
                                                      : "SSE2";
  return fmt::format("compiled for {} (CPU: {}); convolutions: {}", compiled, cpu, conv2d_implementation());
}

}  // namespace descent
