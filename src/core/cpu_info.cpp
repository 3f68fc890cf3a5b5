#include "descent/core/cpu_info.hpp"

#include <cblas.h>
#include <libxsmm.h>

#include <fmt/format.h>

#include <fstream>
#include <thread>

#include "descent/core/conv.hpp"

namespace descent {
namespace {

std::string model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "unknown CPU model";
}

// The widest vector extension the CPU reports (CPUID, through GCC's builtins).
const char* cpu_isa() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "AVX-512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "AVX2+FMA";
  if (__builtin_cpu_supports("avx")) return "AVX";
  return "SSE";
#else
  return "non-x86";
#endif
}

// What this library's own loops were compiled for (-march; DESCENT_NATIVE).
const char* built_isa() {
#if defined(__AVX512F__)
  return "AVX-512";
#elif defined(__AVX2__)
  return "AVX2";
#elif defined(__AVX__)
  return "AVX";
#else
  return "baseline x86-64 (SSE2)";
#endif
}

}  // namespace

std::string cpu_summary() {
  const char* core = openblas_get_corename();
  const char* target = libxsmm_get_target_arch();
  return fmt::format("{}, {} logical CPUs; CPU supports {}; code built for {}; OpenBLAS kernels {}; libxsmm JIT "
                     "target {}; convolutions {}",
                     model_name(), std::thread::hardware_concurrency(), cpu_isa(), built_isa(),
                     core ? core : "?", target ? target : "?", conv2d_implementation());
}

}  // namespace descent
