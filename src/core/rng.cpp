#include "descent/core/rng.hpp"

#include <cmath>
#include <numeric>

namespace descent {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

template <class F>
void fill_floating(Tensor& t, const char* op, F&& draw) {
  dispatch_floating(t.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = static_cast<T>(draw());
  });
}

}  // namespace

Rng::Rng(uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (0xD1B54A32D192ED03ull * (stream + 1));
  for (auto& w : s_) w = splitmix64(x);
}

uint64_t Rng::next_u64() {
  // xoshiro256** (Blackman & Vigna, 2018).
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

uint64_t Rng::below(uint64_t n) {
  DESCENT_CHECK(n > 0, InputError, "Rng::below: n must be positive");
  // Lemire, "Fast random integer generation in an interval" (2019).
  unsigned __int128 m = static_cast<unsigned __int128>(next_u64()) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(next_u64()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

double Rng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
double Rng::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

double Rng::normal() {
  if (has_cached_normal_) {
    has_cached_normal_ = false;
    return cached_normal_;
  }
  // Box–Muller on (0, 1]: u1 > 0 keeps the logarithm finite.
  const double u1 = 1.0 - uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double a = 6.283185307179586476925 * u2;
  cached_normal_ = r * std::sin(a);
  has_cached_normal_ = true;
  return r * std::cos(a);
}

void Rng::fill_uniform(Tensor& t, double lo, double hi) {
  fill_floating(t, "Rng::fill_uniform", [&] { return uniform(lo, hi); });
}
void Rng::fill_normal(Tensor& t, double mean, double stddev) {
  fill_floating(t, "Rng::fill_normal", [&] { return normal(mean, stddev); });
}
void Rng::fill_bernoulli(Tensor& t, double p) {
  DESCENT_CHECK(p >= 0.0 && p <= 1.0, InputError, "Rng::fill_bernoulli: p = {} is not in [0, 1]", p);
  fill_floating(t, "Rng::fill_bernoulli", [&] { return bernoulli(p) ? 1.0 : 0.0; });
}

Tensor Rng::uniform_tensor(const Shape& s, DType dt, double lo, double hi) {
  Tensor t = Tensor::empty(s, dt);
  fill_uniform(t, lo, hi);
  return t;
}
Tensor Rng::normal_tensor(const Shape& s, DType dt, double mean, double stddev) {
  Tensor t = Tensor::empty(s, dt);
  fill_normal(t, mean, stddev);
  return t;
}
Tensor Rng::bernoulli_tensor(const Shape& s, double p, DType dt) {
  Tensor t = Tensor::empty(s, dt);
  fill_bernoulli(t, p);
  return t;
}

std::vector<int64_t> Rng::permutation(int64_t n) {
  DESCENT_CHECK(n >= 0, InputError, "Rng::permutation: n = {} is negative", n);
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), int64_t{0});
  shuffle(p);
  return p;
}

Rng Rng::split() {
  Rng r;
  uint64_t x = next_u64();
  for (auto& w : r.s_) w = splitmix64(x);
  return r;
}

}  // namespace descent
