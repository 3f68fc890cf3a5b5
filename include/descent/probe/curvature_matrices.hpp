#pragma once
// The curvature matrices of a model's loss besides the Hessian, as matrix-free operators, and
// the per-layer blocks of any of them.
//
//   generalized Gauss–Newton  G = (1/n) Σ_i J_iᵀ H_i J_i       (Martens 2020 §6; Schraudolph 2002)
//       J_i = ∂z_i/∂θ the Jacobian of example i's outputs, H_i = ∂²ℓ(z_i, y_i)/∂z_i² the loss
//       Hessian in output space (softmax-CE: diag(p) − ppᵀ; ½‖z − y‖²: I). G v is one JVP
//       (J v), H_i applied per example, one VJP (Jᵀ u), chunk by chunk over the data, so no
//       Jacobian and no P×P matrix is formed. G ⪰ 0 whenever every H_i ⪰ 0 (convex loss in z).
//   Fisher information        F = (1/n) Σ_i J_iᵀ E_{y∼p(·|z_i)}[∇_z log p ∇_z log pᵀ] J_i.
//       For a negative log-likelihood of an exponential family in its natural parameter
//       (softmax-CE, Gaussian ½‖z − y‖², logistic) the inner expectation equals H_i
//       (Martens 2020 §9.2), so F = G; other losses have no Fisher and are refused.
//   empirical Fisher          (1/n) Σ_i g_i g_iᵀ with the observed labels: gradient_noise.hpp's
//       empirical_fisher_operator (per-example gradients under a memory cap).
//
// Both see the model only through core's OutputMap (z, J v, Jᵀ u, H_i u): any model that
// provides one gets them; nn's models through nn::ModelOutputMap, which the ModelObjective
// overloads build.
//
// Blocks: `layer_blocks` lists each group's (layer's) slice [begin, end) of θ from a
// ParameterLayout; BlockOperator (linear_operator.hpp) restricts any operator to one of them.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "descent/core/output_map.hpp"
#include "descent/core/parameter_layout.hpp"
#include "descent/nn/model.hpp"
#include "descent/nn/objective.hpp"
#include "descent/probe/linear_operator.hpp"

namespace descent::probe {

class GaussNewtonOperator final : public LinearOperator {
 public:
  enum class Kind { gauss_newton, fisher };
  // Any model: `map` (with its loss) on inputs [n, ...] and targets; the map must outlive the
  // operator. θ is copied. `indices`: the examples (empty: all n), streamed in chunks of
  // `chunk_size` rows, so memory is that of one chunk's forward pass.
  GaussNewtonOperator(OutputMap& map, Tensor inputs, Tensor targets, const Tensor& theta,
                      std::vector<int64_t> indices = {}, int64_t chunk_size = 256, Kind kind = Kind::gauss_newton);
  // An nn model's objective (its model, loss and data), through nn::ModelOutputMap.
  GaussNewtonOperator(nn::ModelObjective& objective, const Tensor& theta, std::vector<int64_t> indices = {},
                      int64_t chunk_size = 256, Kind kind = Kind::gauss_newton);
  int64_t dimension() const override { return map_->dimension(); }
  DType dtype() const override { return theta_.dtype(); }
  void apply(const Tensor& v, Tensor& out) override;
  std::string name() const override { return kind_ == Kind::fisher ? "Fisher" : "Gauss-Newton"; }
  int64_t num_examples() const;

 private:
  void validate(const Tensor& theta) const;
  // Adds (weight) Σ_{rows} J_iᵀ H_i J_i v into `out` for inputs x and targets y.
  void accumulate(const Tensor& x, const Tensor& y, const Tensor& v, double weight, Tensor& out);
  std::shared_ptr<OutputMap> owned_;  // the map the ModelObjective constructor builds
  OutputMap* map_;
  Tensor inputs_, targets_;
  Tensor theta_;
  std::vector<int64_t> indices_;
  int64_t chunk_size_;
  Kind kind_;
  Tensor batch_x_, batch_y_;
};

GaussNewtonOperator gauss_newton_operator(nn::ModelObjective& objective, const Tensor& theta,
                                          std::vector<int64_t> indices = {}, int64_t chunk_size = 256);
GaussNewtonOperator gauss_newton_operator(OutputMap& map, const Tensor& inputs, const Tensor& targets,
                                          const Tensor& theta, std::vector<int64_t> indices = {},
                                          int64_t chunk_size = 256);
// Throws InputError for losses that are not the negative log-likelihood of an exponential
// family in natural parameters (exponential and hinge losses).
GaussNewtonOperator fisher_operator(nn::ModelObjective& objective, const Tensor& theta,
                                    std::vector<int64_t> indices = {}, int64_t chunk_size = 256);
GaussNewtonOperator fisher_operator(OutputMap& map, const Tensor& inputs, const Tensor& targets, const Tensor& theta,
                                    std::vector<int64_t> indices = {}, int64_t chunk_size = 256);

// One block of parameters: a layer's or a single parameter tensor's slice [begin, end) of θ.
struct ParameterBlock {
  std::string name;  // "layer 0 (Linear(784 → 256))" or "0.weight"
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};
// One block per group (layer) that has parameters, in layout order; together they tile [0, P).
std::vector<ParameterBlock> layer_blocks(const ParameterLayout& layout);
std::vector<ParameterBlock> layer_blocks(const nn::Model& model);
// "2" → group (layer) 2's block; "2.weight" → that parameter tensor. InputError naming the
// choices otherwise.
ParameterBlock find_block(const ParameterLayout& layout, const std::string& spec);
ParameterBlock find_block(const nn::Model& model, const std::string& spec);

}  // namespace descent::probe
