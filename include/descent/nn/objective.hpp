#pragma once
// ModelObjective: model + loss + data as an Objective (core/objective.hpp), the finite sum
// f(θ) = (1/n) Σ_i ℓ(model(x_i; θ), y_i). Full-data values and gradients stream the data in
// chunks so memory stays bounded; Hessian-vector products are exact (forward-over-reverse
// autodiff) and per-example gradients are batched: for chains of Linear and activation layers
// one forward and one backward pass give them all as outer products (Goodfellow 2015,
// "Efficient per-example gradient computations"), other models take one pass per example.
#include <cstdint>
#include <optional>
#include <span>

#include "descent/core/objective.hpp"
#include "descent/nn/dense_chain_gradient.hpp"
#include "descent/nn/losses.hpp"
#include "descent/nn/model.hpp"

namespace descent::nn {

class ModelObjective final : public Objective {
 public:
  // inputs [n, input_shape...] in the model's dtype; targets as the loss expects. The
  // objective keeps references to the tensors' storage (no copy).
  ModelObjective(Model& model, Loss loss, Tensor inputs, Tensor targets, int64_t chunk_size = 1024);

  int64_t dimension() const override { return model_.num_parameters(); }
  DType dtype() const override { return model_.dtype(); }
  int64_t num_examples() const override { return inputs_.dim(0); }

  double value(const Tensor& theta) override;
  double value_and_gradient(const Tensor& theta, Tensor& gradient) override;
  double batch_value_and_gradient(const Tensor& theta, std::span<const int64_t> indices,
                                  Tensor& gradient) override;
  void hessian_vector_product(const Tensor& theta, const Tensor& v, Tensor& hv) override;
  bool has_exact_hessian_vector_product() const override { return true; }
  void per_example_gradients(const Tensor& theta, std::span<const int64_t> indices,
                             Tensor& gradients) override;

  // Mean loss and accuracy (for classification losses) of the model at θ on the data.
  struct Evaluation {
    double loss = 0.0;
    double accuracy = 0.0;
    int64_t examples = 0;
  };
  Evaluation evaluate(const Tensor& theta);

  // The model outputs of the last batch_value_and_gradient call (for training accuracy).
  const Tensor& last_outputs() const { return last_outputs_; }
  // The targets of the last batch_value_and_gradient call.
  const Tensor& last_targets() const { return batch_y_; }

  Model& model() { return model_; }
  const Tensor& inputs() const { return inputs_; }
  const Tensor& targets() const { return targets_; }
  Loss loss() const { return loss_; }
  // Training mode (dropout, batch statistics) for batch gradients; off by default so that
  // the objective is a deterministic function of θ.
  void set_training(bool on, Rng* rng = nullptr) {
    training_ = on;
    rng_ = rng;
  }

 private:
  // Σ over rows [begin, end) (or over `indices`) of the loss, and its gradient added
  // (scaled by `weight`) into `gradient` when it is defined.
  double accumulate(const Tensor& theta, const Tensor& x, const Tensor& y, double weight, Tensor* gradient);
  void gather_batch(std::span<const int64_t> indices);
  // Per-example gradients by outer products of pre-activation gradients and layer inputs, for
  // models made only of Linear and activation layers; false (nothing written) otherwise.
  bool linear_per_example_gradients(const Tensor& theta, std::span<const int64_t> indices, Tensor& gradients);

  Model& model_;
  Loss loss_;
  Tensor inputs_, targets_;
  int64_t chunk_size_;
  bool training_ = false;
  Rng* rng_ = nullptr;
  Tensor batch_x_, batch_y_;  // reused gather buffers
  Tensor last_outputs_;
  // The fused forward/backward of Linear/activation chains (dense_chain_gradient.hpp), used for
  // gradients when the model is one; everything else goes through the autodiff graph.
  std::optional<DenseChainGradient> fused_;
};

}  // namespace descent::nn
