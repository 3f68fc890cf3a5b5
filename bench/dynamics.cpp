// SDE simulation throughput with the model's own gradient noise as diffusion (issue 17):
// Euler–Maruyama steps of dX = −∇f dt + √η (Σ(X)/B)^{1/2} dW on a Fashion-MNIST MLP
// 784-12-10 (tanh, P = 9,550 ≈ 10^4) over n examples, Σ(X) rebuilt at every step from the
// per-example gradients and its square root applied by Lanczos (never a P×P matrix).
//   bench_dynamics [n] [steps] [lanczos_steps]   prints one JSON line
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "descent/core/cpu_info.hpp"
#include "descent/data/fashion_mnist.hpp"
#include "descent/dynamics/sde.hpp"
#include "descent/nn/model.hpp"
#include "descent/nn/objective.hpp"

using namespace descent;

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 256;
  const int64_t steps = argc > 2 ? std::atoll(argv[2]) : 20;
  const int lanczos = argc > 3 ? std::atoi(argv[3]) : 20;
  data::FashionMnistOptions fo;
  fo.flatten = true;
  data::Dataset d = data::load_fashion_mnist("train", fo).take(n);
  nn::Model model = nn::mlp(784, 10, {.hidden = {12}, .activation = nn::Activation::tanh});
  model.initialize(0);
  nn::ModelObjective f(model, nn::Loss::softmax_cross_entropy, d.inputs.clone(), d.targets.clone(), 1024);
  const int64_t p = model.num_parameters();
  dynamics::ModelNoiseDiffusion noise(f, {.batch_size = 32, .lanczos = {.max_steps = lanczos, .tolerance = 1e-4}});
  const Tensor x0 = model.parameters().astype(DType::f64);
  dynamics::BrownianIncrements w(p, 0.1, 0);
  dynamics::SdeOptions o{.noise_scale = 0.1, .steps = 2};
  dynamics::simulate_sde(f, noise, x0, w, o);  // warm-up
  o.steps = steps;
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  const auto r = dynamics::simulate_sde(f, noise, x0, w, o);
  const double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "{\"P\": %lld, \"examples\": %lld, \"batch\": 32, \"lanczos_max_steps\": %d, \"steps\": %lld, \"finite\": %s, "
      "\"steps_per_second_cpu\": %.3f, \"steps_per_second_wall\": %.3f, \"last_lanczos_steps\": %d, "
      "\"unconverged\": %lld, \"cpu\": \"%s\"}\n",
      (long long)p, (long long)n, lanczos, (long long)steps, r.finite ? "true" : "false", double(steps) / cpu,
      double(steps) / wall, noise.last_lanczos().steps, (long long)noise.unconverged_applications(),
      cpu_summary().c_str());
}
