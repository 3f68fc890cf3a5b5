#pragma once
// Gradient noise: the covariance of per-example gradients and the empirical Fisher, used
// only through products, with the per-example gradients streamed under a memory cap.
//
//   Σ = (1/n) Σ_i (g_i − ḡ)(g_i − ḡ)ᵀ      (Arora et al. Problem 12.1.1; Zhu et al. 2019)
//   F = (1/n) Σ_i g_i g_iᵀ                 (empirical Fisher, Murphy eq. 6.95–6.97)
//
// Σ v = (1/n) Σ_i c_i (c_iᵀ v) with c_i = g_i − ḡ: a chunk of per-example gradients
// C ∈ R^{b×P} contributes Cᵀ(C v), so a product costs one pass over the examples and at
// most `memory_cap_bytes` of gradients live at once. When all n×P gradients fit under the
// cap they are computed once and kept; otherwise every product recomputes them chunk by chunk.
// Centering each row with ḡ (computed in one pass at construction) avoids the cancellation of
// the equivalent (1/n)Σ g_i g_iᵀ v − ḡ(ḡᵀv).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "descent/core/objective.hpp"
#include "descent/probe/curvature.hpp"
#include "descent/probe/linear_operator.hpp"
#include "descent/probe/trace_estimation.hpp"

namespace descent::probe {

class GradientCovarianceOperator final : public LinearOperator {
 public:
  enum class Kind { noise_covariance, empirical_fisher };
  // `indices`: the examples (empty: all objective.num_examples()). The gradient buffer holds
  // at most memory_cap_bytes; the cap must fit at least one gradient (P values).
  GradientCovarianceOperator(Objective& objective, const Tensor& theta, std::vector<int64_t> indices,
                             size_t memory_cap_bytes, Kind kind);
  int64_t dimension() const override { return objective_->dimension(); }
  DType dtype() const override { return theta_.dtype(); }
  void apply(const Tensor& v, Tensor& out) override;
  std::string name() const override;

  Kind kind() const { return kind_; }
  int64_t num_examples() const { return int64_t(indices_.size()); }
  // ḡ = (1/n) Σ g_i over the chosen examples.
  const Tensor& mean_gradient() const { return mean_; }
  // tr Σ = (1/n) Σ ‖g_i − ḡ‖² (or tr F = (1/n) Σ ‖g_i‖²), exact, from the construction pass.
  double trace() const { return trace_; }
  // Rows of per-example gradients held at once, and the bytes of that buffer (≤ the cap).
  int64_t chunk_rows() const { return chunk_rows_; }
  size_t buffer_bytes() const { return chunk_.defined() ? chunk_.nbytes() : 0; }
  // True when every gradient fits under the cap and is kept between products.
  bool cached() const { return cached_; }
  // Calls to Objective::per_example_gradients so far (each for ≤ chunk_rows() examples).
  int64_t gradient_chunks_computed() const { return chunks_computed_; }

 private:
  // Fills chunk_ rows [0, b) with (centered, for Σ) gradients of examples [first, first + b).
  Tensor load_chunk(int64_t first, int64_t b);
  Objective* objective_;
  Tensor theta_;
  std::vector<int64_t> indices_;
  Kind kind_;
  int64_t chunk_rows_ = 0;
  bool cached_ = false;
  Tensor chunk_, mean_, coefficients_;
  double trace_ = 0.0;
  int64_t chunks_computed_ = 0;
};

GradientCovarianceOperator gradient_noise_covariance_operator(Objective& objective, const Tensor& theta,
                                                              std::vector<int64_t> indices, size_t memory_cap_bytes);
GradientCovarianceOperator empirical_fisher_operator(Objective& objective, const Tensor& theta,
                                                     std::vector<int64_t> indices, size_t memory_cap_bytes);

// Zhu, Wu, Yu, Wu & Ma (ICML 2019): noise escapes a minimum faster the more it aligns with
// sharp directions, measured by Tr(HΣ) against the isotropic noise of the same trace,
// Tr H · Tr Σ / P, and by the overlap of the top eigenspaces of H and Σ.
struct NoiseCurvatureAlignment {
  TraceEstimate trace_hessian_noise;  // Tr(HΣ) by Hutch++ on H·Σ
  TraceEstimate trace_hessian;        // Tr H by Hutch++
  double trace_noise = 0.0;           // Tr Σ, exact
  double isotropic_reference = 0.0;   // Tr H · Tr Σ / P
  double alignment_ratio = 0.0;       // Tr(HΣ) / (Tr H · Tr Σ / P); > 1: Σ leans on sharp directions
  EigenResult hessian_top, noise_top;
  SubspaceAlignment top_eigenspaces;
  std::string summary() const;
};
struct NoiseCurvatureOptions {
  int top_k = 5;
  int64_t trace_matvecs = 99;  // per trace (Tr(HΣ) costs one H and one Σ product per matvec)
  LanczosOptions lanczos;      // num_eigenpairs/which are overridden
  uint64_t seed = 0;
};
NoiseCurvatureAlignment noise_curvature_alignment(LinearOperator& hessian, GradientCovarianceOperator& noise,
                                                  const NoiseCurvatureOptions& options = {});

}  // namespace descent::probe
