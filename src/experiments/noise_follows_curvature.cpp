// Noise follows curvature (seed 000, Zhu, Wu, Yu, Wu & Ma, ICML 2019, §4; Arora et al.
// Problem 12.1.1). Near a well-fit minimum θ* of a cross-entropy model, the per-example
// gradient covariance Σ = (1/n) Σ_i (g_i − ḡ)(g_i − ḡ)ᵀ is close to the empirical Fisher
// F = (1/n) Σ_i g_i g_iᵀ (ḡ ≈ 0), which approximates the Gauss–Newton matrix and hence the
// Hessian H (the residual term Σ_i ∂ℓ/∂f ∇²f vanishes as the fit improves). So Σ and H share
// their top eigenspace. Measured: the principal-angle cosines between the top-k eigenvectors
// of H and of Σ (and of F), ‖U_Hᵀ U_Σ‖_F²/k ∈ [0, 1], against k/P, the expected overlap of a
// random k-dimensional subspace; and Tr(HΣ)/(Tr H · Tr Σ / P), the Zhu et al. alignment ratio
// (1 for isotropic noise).
#include <fmt/format.h>

#include "descent/core/plot.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/probe/gradient_noise.hpp"
#include "landscape_common.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(noise_follows_curvature, "000 (Zhu et al., ICML 2019)",
                   "§4, gradient noise covariance vs Hessian; Arora Problem 12.1.1",
                   "Near a well-fit minimum of a cross-entropy model the gradient-noise covariance and the Hessian "
                   "share their top eigenspace (overlap far above a random subspace's) and Tr(HΣ) exceeds the "
                   "isotropic Tr H·Tr Σ/P") {
  const bool quick = ctx.quick;
  const int64_t n = quick ? 300 : 2000;
  const int top_k = quick ? 3 : 5;
  const int64_t fit_steps = quick ? 300 : 2000;
  const data::Dataset d = landscape::fashion_subset(n);
  nn::Model model = nn::mlp(784, 10, {.hidden = {quick ? int64_t(16) : int64_t(64)}, .activation = nn::Activation::tanh});
  model.initialize(ctx.seed);
  nn::ModelObjective f(model, nn::Loss::softmax_cross_entropy, d.inputs, d.targets, 1000);
  Tensor& theta = model.parameters();
  const double fit_loss = landscape::gradient_descent(f, theta, 0.2, fit_steps);
  const double accuracy = f.evaluate(theta).accuracy;
  const int64_t P = model.num_parameters();

  const size_t cap = size_t(256) << 20;  // bytes of per-example gradients held at once
  auto h = probe::hessian_operator(f, theta);
  auto sigma = probe::gradient_noise_covariance_operator(f, theta, {}, cap);
  auto fisher = probe::empirical_fisher_operator(f, theta, {}, cap);
  probe::NoiseCurvatureOptions o;
  o.top_k = top_k;
  o.trace_matvecs = quick ? 30 : 99;
  o.lanczos.tolerance = 1e-4;
  o.seed = ctx.seed;
  const probe::NoiseCurvatureAlignment a = probe::noise_curvature_alignment(h, sigma, o);
  probe::LanczosOptions lo = o.lanczos;
  lo.num_eigenpairs = top_k;
  const probe::EigenResult fisher_top = probe::lanczos_eigenpairs(fisher, lo);
  const probe::SubspaceAlignment hf =
      probe::subspace_alignment(probe::eigenvectors(a.hessian_top), probe::eigenvectors(fisher_top));
  const double random_overlap = double(top_k) / double(P);

  Table& t = ctx.table("noise_follows_curvature",
                       {"index", "hessian_eigenvalue", "noise_eigenvalue", "fisher_eigenvalue", "cosine_hessian_noise",
                        "cosine_hessian_fisher", "hessian_relative_residual", "noise_relative_residual"});
  for (int i = 0; i < top_k; ++i)
    t.add_row({i + 1, a.hessian_top.pairs[i].value, a.noise_top.pairs[i].value, fisher_top.pairs[i].value,
               a.top_eigenspaces.cosines[i], hf.cosines[i], a.hessian_top.pairs[i].relative_residual,
               a.noise_top.pairs[i].relative_residual});
  t.plot({.title = fmt::format("Top-{} eigenspaces near a fitted minimum: principal-angle cosines", top_k),
          .x_label = "index",
          .y_label = "cosine",
          .series = {{"index", "cosine_hessian_noise", "H vs Σ", true},
                     {"index", "cosine_hessian_fisher", "H vs empirical Fisher", true}}},
         "_principal_cosines");
  ctx.measure("examples", n);
  ctx.measure("parameters", P);
  ctx.measure("fit_loss", fit_loss);
  ctx.measure("fit_accuracy", accuracy);
  ctx.measure("overlap_hessian_fisher", hf.mean_squared_cosine);
  ctx.measure("random_subspace_overlap", random_overlap);
  ctx.measure("trace_hessian_noise", a.trace_hessian_noise.trace);
  ctx.measure("trace_hessian_noise_standard_error", a.trace_hessian_noise.standard_error);
  ctx.measure("trace_hessian", a.trace_hessian.trace);
  ctx.measure("trace_noise", a.trace_noise);
  ctx.measure("noise_gradient_buffer_bytes", sigma.buffer_bytes());
  ctx.measure("memory_cap_bytes", cap);
  ctx.measure("lanczos_relative_tolerance", o.lanczos.tolerance);
  ctx.check.holds("eigenpairs_converged", a.hessian_top.converged && a.noise_top.converged && fisher_top.converged,
                  "Lanczos converged for H, Σ and F");
  ctx.check.at_least("overlap_hessian_noise", a.top_eigenspaces.mean_squared_cosine, 0.5);
  ctx.check.above("alignment_ratio", a.alignment_ratio, 1.0);
  ctx.note(fmt::format(
      "Fashion-MNIST first {} training images, MLP 784-{}-10 tanh, softmax cross-entropy, fitted by {} full-batch GD "
      "steps (η = 0.2). Σ and F over all {} examples, streamed per-example gradients under a {} MiB cap. A random "
      "{}-dimensional subspace would overlap {:.2g}.",
      n, quick ? 16 : 64, fit_steps, n, cap >> 20, top_k, random_overlap));
}

}  // namespace descent::experiments
