#pragma once
// What a benchmark figure was measured on: the CPU's model name and the instruction sets in
// use (issue 14: every benchmark prints them beside its figures).
#include <string>

namespace descent {

// "Intel(R) Xeon(R) Processor" (from /proc/cpuinfo), or "unknown CPU".
std::string cpu_model();
// The vector instruction set this build was compiled for, what the CPU offers, and what the
// convolution library dispatched to, e.g.
// "compiled for AVX-512 (CPU: AVX-512); convolutions: oneDNN 2.6.3 jit:avx512_core".
std::string instruction_sets();

}  // namespace descent
