#pragma once
// ModelOutputMap: an nn::Model and its loss as a core OutputMap (core/output_map.hpp), so that
// the Gauss–Newton and Fisher operators, the empirical NTK and K-FAC see any nn model — MLPs,
// CNNs — through the one interface. JVP, VJP and Jacobian rows go through the generic autodiff
// path (any layer); the Linear layers are stated as dense layers, whose inputs and signals one
// forward and one backward pass per cotangent give (the fast path of MLPs: per-layer GEMMs
// instead of per-example Jacobians). Evaluation mode throughout (Dropout is the identity,
// BatchNorm uses its running statistics), so the map is a deterministic function of θ.
#include <memory>
#include <optional>
#include <vector>

#include "descent/core/output_map.hpp"
#include "descent/nn/losses.hpp"
#include "descent/nn/model.hpp"

namespace descent::nn {

class ModelOutputMap final : public OutputMap {
 public:
  // The model must outlive the map. Without a loss the loss members throw InputError (the
  // NTK needs none).
  explicit ModelOutputMap(Model& model, std::optional<Loss> loss = std::nullopt);

  const ParameterLayout& layout() const override { return model_.layout(); }
  DType dtype() const override { return model_.dtype(); }
  const Shape& input_shape() const override { return model_.input_shape(); }
  int64_t num_outputs() const override { return model_.output_shape().numel(); }
  std::string describe() const override { return model_.describe(); }

  Tensor outputs(const Tensor& theta, const Tensor& x) override;
  std::pair<Tensor, Tensor> jvp(const Tensor& theta, const Tensor& x, const Tensor& v) override;
  Tensor vjp(const Tensor& theta, const Tensor& x, const Tensor& u) override;
  Tensor jacobian(const Tensor& theta, const Tensor& x) override;

  std::string loss_name() const override;
  Tensor loss_values(const Tensor& z, const Tensor& y) override;
  Tensor loss_gradient(const Tensor& z, const Tensor& y) override;
  Tensor loss_hessian_product(const Tensor& z, const Tensor& y, const Tensor& u) override;
  bool loss_is_natural_likelihood() const override;
  bool can_sample_targets() const override;
  Tensor sample_targets(const Tensor& z, const Tensor& like, Rng& rng) override;

  std::vector<DenseLayer> dense_layers() const override { return dense_; }
  DenseActivity dense_activity(const Tensor& theta, const Tensor& x,
                               const std::function<std::vector<Tensor>(const Tensor& z)>& cotangents) override;

  Model& model() { return model_; }
  std::optional<Loss> loss() const { return loss_; }

 private:
  Loss require_loss() const;
  void check(const Tensor& theta, const Tensor& x) const;
  Model& model_;
  std::optional<Loss> loss_;
  std::vector<size_t> dense_model_layer_;  // index into model.layers() of each dense layer (set first)
  std::vector<DenseLayer> dense_;
};

// The model's Linear layers as dense layers, in θ order; with `model_layers`, also each one's
// index into model.layers().
std::vector<DenseLayer> dense_layers(const Model& model, std::vector<size_t>* model_layers = nullptr);

// A shared map, for owners that keep it (optim::Kfac).
std::shared_ptr<ModelOutputMap> output_map(Model& model, std::optional<Loss> loss = std::nullopt);

}  // namespace descent::nn
