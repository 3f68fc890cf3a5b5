// Autodiff benchmarks (Google Benchmark), plus a comparison mode used by
// bench/autodiff_peer.py:
//   bench_autodiff --compare [BLOCKS [cpu]]  one JSON object: min-of-blocks seconds for the MLP
//                                     784-256-256-10 gradient and HVP (both modes), the
//                                     tiny MLP SGD step, and GFLOP/s of every gemm shape
//                                     through descent's matmul and through cblas_sgemm.
// Threads: whatever OPENBLAS_NUM_THREADS says (the peer script sets it for both sides).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <time.h>

#include "descent/core/cpu_info.hpp"
#include "descent/autodiff/autodiff.hpp"
#include "descent/core/rng.hpp"

using namespace descent;

namespace {

// An MLP d-h-h-k with ReLU and softmax cross-entropy, float32.
struct Mlp {
  Tensor x, labels;  // [n, d], [n, 1] int64
  std::vector<Tensor> params;
  Mlp(int64_t n, int64_t d, int64_t h, int64_t k, uint64_t seed = 0) {
    Rng rng(seed);
    x = rng.normal_tensor({n, d}, DType::f32);
    std::vector<int64_t> y;
    for (int64_t i = 0; i < n; ++i) y.push_back(static_cast<int64_t>(rng.below(static_cast<uint64_t>(k))));
    labels = Tensor::from_vector(y, {n, 1});
    auto layer = [&](int64_t a, int64_t b) {
      params.push_back(rng.normal_tensor({a, b}, DType::f32, 0.0, 1.0 / std::sqrt(double(a))));
      params.push_back(Tensor::zeros({b}, DType::f32));
    };
    layer(d, h);
    layer(h, h);
    layer(h, k);
  }
  Var loss(const VarList& p) const {
    Var a = relu(matmul(Var(x), p[0]) + p[1]);
    a = relu(matmul(a, p[2]) + p[3]);
    Var logits = matmul(a, p[4]) + p[5];
    return -mean(gather(log_softmax(logits, -1), 1, labels));
  }
  Function fn() const {
    return [this](const VarList& p) { return loss(p); };
  }
  VarList leaves() const {
    VarList v;
    for (const Tensor& t : params) v.emplace_back(t, true);
    return v;
  }
  std::vector<Tensor> direction(uint64_t seed = 1) const {
    Rng rng(seed);
    std::vector<Tensor> v;
    for (const Tensor& t : params) v.push_back(rng.normal_tensor(t.shape(), t.dtype()));
    return v;
  }
};

void gradient_once(const Mlp& m) {
  VarList p = m.leaves();
  Var loss = m.loss(p);
  VarList g = grad(loss, p);
  benchmark::DoNotOptimize(g[0].value().raw());
}

void hvp_once(const Mlp& m, const std::vector<Tensor>& v, HvpMode mode) {
  auto hv = hessian_vector_product(m.fn(), m.params, v, mode);
  benchmark::DoNotOptimize(hv[0].raw());
}

// One SGD step: forward, backward, p -= lr * g in place.
void sgd_step(const Mlp& m, std::vector<Tensor>& params, double lr) {
  VarList p;
  for (const Tensor& t : params) p.emplace_back(t, true);
  Var loss = m.loss(p);
  VarList g = grad(loss, p);
  for (size_t i = 0; i < params.size(); ++i) axpy(params[i], -lr, g[i].value());
}

struct GemmShape {
  const char* name;
  int64_t m, n, k;
  bool ta, tb;
};
// The gemms of the 784-256-256-10 MLP at batch 128: forward, weight gradient, input gradient.
const std::vector<GemmShape>& gemm_shapes() {
  static const std::vector<GemmShape> s = {
      {"fwd_128x784x256", 128, 256, 784, false, false}, {"fwd_128x256x256", 128, 256, 256, false, false},
      {"fwd_128x256x10", 128, 10, 256, false, false},   {"dW_784x128x256", 784, 256, 128, true, false},
      {"dW_256x128x256", 256, 256, 128, true, false},   {"dX_128x256x256", 128, 256, 256, false, true},
  };
  return s;
}

struct GemmOperands {
  Tensor a, b, c;
  explicit GemmOperands(const GemmShape& s) {
    Rng rng(3);
    a = rng.normal_tensor(s.ta ? Shape{s.k, s.m} : Shape{s.m, s.k}, DType::f32);
    b = rng.normal_tensor(s.tb ? Shape{s.n, s.k} : Shape{s.k, s.n}, DType::f32);
    c = Tensor::zeros({s.m, s.n}, DType::f32);
  }
  void descent_matmul(const GemmShape& s) {
    Tensor r = matmul(a, b, s.ta, s.tb);
    benchmark::DoNotOptimize(r.raw());
  }
  void openblas(const GemmShape& s) {
    cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans, int(s.m),
                int(s.n), int(s.k), 1.0f, a.data<float>(), int(a.dim(1)), b.data<float>(), int(b.dim(1)), 0.0f,
                c.data<float>(), int(s.n));
    benchmark::DoNotOptimize(c.raw());
  }
};

const Mlp& big_mlp() {
  static const Mlp m(128, 784, 256, 10);
  return m;
}
const Mlp& tiny_mlp() {
  static const Mlp m(32, 784, 32, 10);
  return m;
}

void BM_MlpGradient(benchmark::State& st) {
  const Mlp& m = big_mlp();
  for (auto _ : st) gradient_once(m);
}
BENCHMARK(BM_MlpGradient)->Unit(benchmark::kMicrosecond);

void BM_MlpHvp(benchmark::State& st) {
  const Mlp& m = big_mlp();
  const auto v = m.direction();
  const HvpMode mode = st.range(0) == 0 ? HvpMode::forward_over_reverse : HvpMode::reverse_over_reverse;
  st.SetLabel(st.range(0) == 0 ? "forward_over_reverse" : "reverse_over_reverse");
  for (auto _ : st) hvp_once(m, v, mode);
}
BENCHMARK(BM_MlpHvp)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_TinyMlpSgdStep(benchmark::State& st) {
  const Mlp& m = tiny_mlp();
  std::vector<Tensor> params;
  for (const Tensor& t : m.params) params.push_back(t.clone());
  for (auto _ : st) sgd_step(m, params, 1e-3);
}
BENCHMARK(BM_TinyMlpSgdStep)->Unit(benchmark::kMicrosecond);

void BM_Gemm(benchmark::State& st) {
  const GemmShape& s = gemm_shapes()[size_t(st.range(0))];
  GemmOperands ops(s);
  const bool raw = st.range(1) == 1;
  st.SetLabel(fmt::format("{} {}", s.name, raw ? "openblas" : "descent"));
  for (auto _ : st) raw ? ops.openblas(s) : ops.descent_matmul(s);
  st.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * double(s.m * s.n * s.k), benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}
BENCHMARK(BM_Gemm)->ArgsProduct({{0, 1, 2, 3, 4, 5}, {0, 1}})->Unit(benchmark::kMicrosecond);

// Graph overhead: a chain of 64 scalar ops, forward and backward (time per op pair).
void BM_OpOverhead(benchmark::State& st) {
  const Tensor x0 = Tensor::scalar(1.0, DType::f32);
  for (auto _ : st) {
    Var x(x0, true);
    Var y = x;
    for (int i = 0; i < 64; ++i) y = y * 1.0001;
    VarList g = grad(y, {x});
    benchmark::DoNotOptimize(g[0].value().raw());
  }
  st.counters["ns/op"] = benchmark::Counter(64.0, benchmark::Counter::kIsIterationInvariantRate |
                                                      benchmark::Counter::kInvert);
}
BENCHMARK(BM_OpOverhead);

// ---- comparison mode ----
double process_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
// Minimum over rounds of the mean time per call within a block, the functions' blocks
// interleaved in each round (so a burst of other load hits all of them alike), as process
// CPU time when g_cpu_time (single-threaded runs on a shared machine: time the process
// spends descheduled is not counted), else wall-clock time.
bool g_cpu_time = false;
double now_seconds() {
  return g_cpu_time ? process_seconds()
                    : std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
std::vector<double> min_block_seconds(const std::vector<std::function<void()>>& fs, int rounds,
                                      double block_seconds = 0.05) {
  std::vector<int> per_block(fs.size(), 1);
  for (size_t i = 0; i < fs.size(); ++i) {
    fs[i]();  // warm up (allocator cache, BLAS buffers)
    for (;;) {
      const double t0 = now_seconds();
      for (int k = 0; k < per_block[i]; ++k) fs[i]();
      if (now_seconds() - t0 >= block_seconds || per_block[i] >= (1 << 20)) break;
      per_block[i] *= 2;
    }
  }
  std::vector<double> best(fs.size(), 1e300);
  for (int r = 0; r < rounds; ++r)
    for (size_t i = 0; i < fs.size(); ++i) {
      const double t0 = now_seconds();
      for (int k = 0; k < per_block[i]; ++k) fs[i]();
      best[i] = std::min(best[i], (now_seconds() - t0) / per_block[i]);
    }
  return best;
}

int compare(int rounds) {
  const Mlp& m = big_mlp();
  const auto v = m.direction();
  const Mlp& tiny = tiny_mlp();
  std::vector<Tensor> tiny_params;
  for (const Tensor& p : tiny.params) tiny_params.push_back(p.clone());
  const std::vector<double> t = min_block_seconds(
      {[&] { gradient_once(m); }, [&] { hvp_once(m, v, HvpMode::forward_over_reverse); },
       [&] { hvp_once(m, v, HvpMode::reverse_over_reverse); }, [&] { hvp_once(m, v, HvpMode::automatic); },
       [&] { sgd_step(tiny, tiny_params, 1e-3); }},
      rounds);
  std::string out = fmt::format(
      "{{\"gradient_s\": {:.9g}, \"hvp_forward_over_reverse_s\": {:.9g}, \"hvp_reverse_over_reverse_s\": {:.9g}, "
      "\"hvp_automatic_s\": {:.9g}, \"tiny_sgd_step_s\": {:.9g}",
      t[0], t[1], t[2], t[3], t[4]);
  out += ", \"gemm\": [";
  bool first = true;
  for (const GemmShape& s : gemm_shapes()) {
    GemmOperands ops(s);
    const double flops = 2.0 * double(s.m * s.n * s.k);
    const auto g = min_block_seconds({[&] { ops.descent_matmul(s); }, [&] { ops.openblas(s); }}, rounds, 0.02);
    out += fmt::format("{}{{\"name\": \"{}\", \"m\": {}, \"n\": {}, \"k\": {}, \"ta\": {}, \"tb\": {}, "
                       "\"descent_gflops\": {:.4g}, \"openblas_gflops\": {:.4g}}}",
                       first ? "" : ", ", s.name, s.m, s.n, s.k, s.ta, s.tb, flops / g[0] * 1e-9, flops / g[1] * 1e-9);
    first = false;
  }
  out += "]}";
  std::puts(out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--compare") == 0) {
    g_cpu_time = argc >= 4 && std::strcmp(argv[3], "cpu") == 0;
    return compare(argc >= 3 ? std::atoi(argv[2]) : 20);
  }
  benchmark::AddCustomContext("cpu", descent::cpu_summary());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
