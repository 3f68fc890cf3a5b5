#pragma once
// The CPU a figure was measured on and the instruction sets in use, for every benchmark to
// print beside its timings (speed ratios differ between CPUs: AVX2 and AVX-512 machines, the
// BLAS's kernel choice, libxsmm's JIT target).
#include <string>

namespace descent {

// One line, e.g. "Intel(R) Xeon(R) Processor, 2 logical CPUs; CPU supports AVX-512; code built for
// AVX-512; OpenBLAS kernels SkylakeX; libxsmm JIT target spr; convolutions oneDNN 2.6.3
// jit:avx512_core".
std::string cpu_summary();

}  // namespace descent
