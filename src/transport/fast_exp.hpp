#pragma once
// exp for the Sinkhorn kernels, written so that loops over it vectorize (the standard
// library's exp is an opaque call): Cody–Waite reduction x = k ln2 + r, |r| <= ln2/2, a
// degree-13 Taylor polynomial (truncation below 1e-17 relative), then 2^k by exponent
// bits. Within 2 ulp of std::exp above -575; returns 0 below (e^-575 ≈ 1e-250), so that
// kernel entries times scalings in [1e-30, 1e30] never become subnormal, whose arithmetic
// is ~100x slower; such entries carry less than 1e-190 of the mass.
#include <bit>
#include <cstdint>

namespace descent::transport::detail {

inline double fast_exp(double x) {
  constexpr double log2e = 1.4426950408889634, ln2_hi = 0.6931471805599453, ln2_lo = 2.3190468138462996e-17;
  constexpr double round_magic = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to integer
  const double clamped = x < -708.0 ? -708.0 : (x > 709.0 ? 709.0 : x);
  const double k = (clamped * log2e + round_magic) - round_magic;
  const double r = (clamped - k * ln2_hi) - k * ln2_lo;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const double scale = std::bit_cast<double>(static_cast<int64_t>(k + 1023.0) << 52);
  return x < -575.0 ? 0.0 : p * scale;
}

}  // namespace descent::transport::detail
