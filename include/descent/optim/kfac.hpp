#pragma once
// K-FAC for the dense layers of any model (Martens & Grosse 2015, "Optimizing neural networks
// with Kronecker-factored approximate curvature"; Murphy §6.4): the Fisher block of a Linear layer z = s_w W a + s_b b,
// with parameters W̄ = [W | b] ([out, in+1]) and augmented input ā = (s_w a, s_b), is
// approximated by a Kronecker product of two small factors,
//   A = E[ā āᵀ]  ([in+1, in+1], layer inputs)   and   G = E[δ δᵀ]  ([out, out], δ = ∂ℓ/∂z),
// F_ℓ ≈ A ⊗ G for column-major vec(W̄) (M&G's convention; in descent's row-major layout of W
// the same matrix reads G ⊗ A). Its inverse applied to the gradient is two small solves:
//   (A ⊗ G)⁻¹ vec(∇W̄) = vec(G⁻¹ ∇W̄ A⁻¹).
// Damping is M&G's factored Tikhonov (§6.3): A + π√γ I and G + (√γ/π) I with
// π = √((tr A/(in+1)) / (tr G/out)). The factors are running averages A ← εA + (1−ε)A_batch
// (the first batch sets them), and the inverses are recomputed every `inverse_every` steps.
// δ comes from targets sampled from the model's predictive distribution (the true Fisher;
// softmax cross-entropy and squared error) or from the data's targets (empirical Fisher).
//
// K-FAC sees the model only through core's OutputMap (core/output_map.hpp): its dense layers
// (where W̄ sits in θ, s_w, s_b), one forward pass giving each layer's input a, and the
// backward passes of two output-space cotangents (∂ℓ/∂z with the data's targets and with
// sampled ones) giving δ. Any model whose dense layers hold all its parameters qualifies
// (nn's MLPs through nn::ModelOutputMap); optim needs nothing above core.
#include <cstdint>
#include <memory>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "descent/core/output_map.hpp"
#include "descent/core/rng.hpp"

namespace descent::optim {

enum class KfacFisher { sampled, empirical };

struct KfacOptions {
  double learning_rate = 0.1;
  double damping = 1e-2;          // γ > 0
  double running_average = 0.95;  // ε ∈ [0, 1): weight of the old factors
  int64_t inverse_every = 10;     // recompute the damped inverses every k ≥ 1 steps
  double momentum = 0.0;          // heavy-ball on the preconditioned update, ∈ [0, 1)
  KfacFisher fisher = KfacFisher::sampled;
  uint64_t seed = 0;              // sampled targets
};

class Kfac {
 public:
  // `map`'s dense layers must hold every parameter, on flat inputs (nn::mlp through
  // nn::output_map(model, loss)); its loss must be able to sample targets for the sampled
  // Fisher (softmax_cross_entropy, mean_squared_error; any loss for the empirical one).
  // θ ([P], updated in place by step) must outlive the object. Options are checked here.
  Kfac(std::shared_ptr<OutputMap> map, Tensor& theta, const KfacOptions& options = {});

  // One step on the batch (inputs [B, in], targets as the loss expects): updates the factors,
  // the inverses when due, and θ. Returns the batch's mean loss before the step.
  double step(const Tensor& inputs, const Tensor& targets);

  // The factors' estimates from one batch at θ (no running average, no update): what step
  // folds into the running factors. Exposed for tests.
  void batch_factors(const Tensor& inputs, const Tensor& targets, std::vector<Eigen::MatrixXd>& a,
                     std::vector<Eigen::MatrixXd>& g, Tensor* gradient = nullptr, double* loss = nullptr);

  // The preconditioned direction for a flat gradient ([P], model layout), layer by layer
  // G_d⁻¹ ∇W̄ A_d⁻¹ with the current damped factors (requires one step or refresh_inverses).
  Tensor precondition(const Tensor& gradient) const;
  // Refactors the damped factors (Cholesky; what "recompute the inverses" means here).
  void refresh_inverses();

  size_t num_layers() const { return layers_.size(); }
  const Eigen::MatrixXd& input_factor(size_t layer) const { return a_[layer]; }     // A
  const Eigen::MatrixXd& gradient_factor(size_t layer) const { return g_[layer]; }  // G
  // π of the factored damping of layer ℓ at the last refresh.
  double damping_split(size_t layer) const { return pi_[layer]; }
  int64_t steps() const { return steps_; }

  // Where layer ℓ's W ([out, in], row-major) and b ([out]; −1 without bias) sit in θ, and
  // s_w, s_b (s_b = 0 without bias: ā's last entry).
  using LayerSlot = DenseLayer;
  const LayerSlot& slot(size_t layer) const { return layers_[layer]; }

 private:
  std::shared_ptr<OutputMap> map_;
  Tensor* theta_;
  KfacOptions opt_;
  Rng rng_;
  std::vector<LayerSlot> layers_;
  std::vector<Eigen::MatrixXd> a_, g_;
  std::vector<Eigen::LLT<Eigen::MatrixXd>> a_chol_, g_chol_;  // of the damped factors
  std::vector<double> pi_;
  Tensor velocity_;
  int64_t steps_ = 0;
};

}  // namespace descent::optim
