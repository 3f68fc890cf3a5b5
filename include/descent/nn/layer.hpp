#pragma once
// Layers: differentiable functions of an input and of parameters that live elsewhere.
//
// A layer owns no parameter memory. `build` states the parameters it needs (name, shape,
// initialization); the Model gives all of them one contiguous buffer θ ∈ R^P (DESIGN.md:
// the Objective's parameters are one buffer, layers hold views into it) and passes the
// layer its parameters as autodiff Vars on each forward call. Everything a layer computes
// is written in autodiff operations, so gradients, Hessian-vector products and Jacobians
// of any model come from the primitives' rules (no hand-written backward pass).
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "descent/autodiff/var.hpp"
#include "descent/core/rng.hpp"

namespace descent::nn {

// How a layer's weights are scaled (Arora ch. 9, Suzuki's slides):
//   standard   — y = W x + b with W ~ N(0, σ²/fan_in)  (He/Xavier-style init);
//   ntk        — y = (σ/√fan_in) W x + β b with W ~ N(0, 1): the NTK parameterization, whose
//                kernel stays fixed as width → ∞;
//   mean_field — hidden layers as ntk, and the output layer scaled by 1/width instead of
//                1/√width, the scaling under which neurons move (feature learning).
enum class Parameterization { standard, ntk, mean_field };

// Initial distribution of a parameter tensor.
struct Init {
  enum class Kind { zeros, ones, constant, normal, uniform, he_normal, he_uniform, xavier_normal, xavier_uniform };
  Kind kind = Kind::zeros;
  double scale = 1.0;  // std for normal, half-width for uniform, value for constant; gain for the rest
  static Init zeros() { return {Kind::zeros, 0.0}; }
  static Init ones() { return {Kind::ones, 1.0}; }
  static Init constant(double v) { return {Kind::constant, v}; }
  static Init normal(double stddev) { return {Kind::normal, stddev}; }
  static Init uniform(double half_width) { return {Kind::uniform, half_width}; }
  static Init he_normal(double gain = 1.0) { return {Kind::he_normal, gain}; }
  static Init xavier_uniform(double gain = 1.0) { return {Kind::xavier_uniform, gain}; }
  // Fills t (fan_in / fan_out given for the variance-scaling rules).
  void apply(Tensor& t, int64_t fan_in, int64_t fan_out, Rng& rng) const;
};
// Parses "he", "xavier", "normal:0.01", "uniform:0.1", "zeros" (for the CLI and configs).
Init parse_init(const std::string& text);

struct ParameterSpec {
  std::string name;  // local to the layer ("weight", "bias")
  Shape shape;
  Init init;
  int64_t fan_in = 1, fan_out = 1;
};

// State a forward pass needs besides inputs and parameters.
struct ForwardContext {
  bool training = false;   // dropout on, batch statistics in BatchNorm
  Rng* rng = nullptr;      // dropout masks (required when training with dropout)
};

class Layer {
 public:
  virtual ~Layer() = default;
  // Short description, e.g. "Linear(784 -> 256)".
  virtual std::string describe() const = 0;
  // Given the input shape without the batch axis, appends this layer's parameters to
  // `params` and returns the output shape without the batch axis. Called once by Model.
  virtual Shape build(const Shape& input, std::vector<ParameterSpec>& params) = 0;
  // x has a leading batch axis; `params` holds the Vars of the parameters declared by build,
  // in the same order.
  virtual Var forward(const Var& x, std::span<const Var> params, ForwardContext& ctx) = 0;
  // Non-trained state saved with checkpoints (BatchNorm running statistics), by name.
  virtual std::vector<std::pair<std::string, Tensor*>> buffers() { return {}; }
  // Element type for buffers, set by Model before build.
  DType dtype = DType::f32;
};

using LayerPtr = std::unique_ptr<Layer>;

}  // namespace descent::nn
