#pragma once
// Seeded random numbers whose streams are reproducible bit for bit on every platform:
// xoshiro256** seeded through SplitMix64, with our own (not the standard library's,
// which is implementation-defined) uniform, normal, Bernoulli and permutation draws.
#include <array>
#include <cstdint>
#include <vector>

#include "descent/core/tensor.hpp"

namespace descent {

class Rng {
 public:
  // `stream` selects an independent stream for the same seed (e.g. one per worker).
  explicit Rng(uint64_t seed = 0, uint64_t stream = 0);

  uint64_t next_u64();
  // Uniform integer in [0, n) without modulo bias (Lemire's method). n > 0.
  uint64_t below(uint64_t n);
  double uniform();                      // [0, 1), 53 random bits
  double uniform(double lo, double hi);  // [lo, hi)
  double normal();                       // standard normal (Box–Muller, cached pair)
  double normal(double mean, double stddev) { return mean + stddev * normal(); }
  bool bernoulli(double p) { return uniform() < p; }

  // Fills a float tensor.
  void fill_uniform(Tensor& t, double lo = 0.0, double hi = 1.0);
  void fill_normal(Tensor& t, double mean = 0.0, double stddev = 1.0);
  void fill_bernoulli(Tensor& t, double p);  // 0/1 values in t's dtype

  Tensor uniform_tensor(const Shape& s, DType dt = DType::f32, double lo = 0.0, double hi = 1.0);
  Tensor normal_tensor(const Shape& s, DType dt = DType::f32, double mean = 0.0, double stddev = 1.0);
  Tensor bernoulli_tensor(const Shape& s, double p, DType dt = DType::f32);

  // A uniformly random permutation of 0..n-1 (Fisher–Yates).
  std::vector<int64_t> permutation(int64_t n);
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

  // An independent generator derived from this one's state (advances this one).
  Rng split();

  // The complete state, for checkpoints: restoring it resumes the stream exactly.
  struct State {
    std::array<uint64_t, 4> s;
    double cached_normal;
    bool has_cached_normal;
  };
  State state() const { return {s_, cached_normal_, has_cached_normal_}; }
  void set_state(const State& st) {
    s_ = st.s;
    cached_normal_ = st.cached_normal;
    has_cached_normal_ = st.has_cached_normal;
  }

 private:
  std::array<uint64_t, 4> s_{};
  double cached_normal_ = 0.0;
  bool has_cached_normal_ = false;
};

}  // namespace descent
