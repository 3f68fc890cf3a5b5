#pragma once
// OutputMap: a model seen from outside — its outputs on a batch as a function of θ, with the
// derivatives that curvature methods need, and the loss it is trained with in output space.
//
//   z = f(x; θ) ∈ R^{b×C}        outputs of a batch x (C outputs per example)
//   J v                          forward mode (JVP), v ∈ R^P → R^{b×C}
//   Jᵀ u                         reverse mode (VJP), u ∈ R^{b×C} → R^P
//   ℓ(z_i, y_i), ∇_z, ∇²_z · u   the loss per example, its gradient and Hessian product in z
//
// From these alone: the generalized Gauss–Newton G = (1/n) Σ_i J_iᵀ H_i J_i (Martens 2020 §6),
// the Fisher (= G for the negative log-likelihood of an exponential family in its natural
// parameters, Martens 2020 §9.2), the empirical NTK Θ = J Jᵀ (Jacot et al. 2018), and, with
// the optional dense-layer statistics below, K-FAC (Martens & Grosse 2015). Any model that
// implements this interface — an MLP, a CNN, an attention or an interatomic-potential model —
// gets all of them; nothing above core needs to know its layers. θ may be of another floating
// dtype than the model's own (float64 probes of a float32 model); x must then match θ.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "descent/core/parameter_layout.hpp"
#include "descent/core/rng.hpp"
#include "descent/core/tensor.hpp"

namespace descent {

// An affine layer y = s_w a Wᵀ + s_b b inside a model: W [out, in] and b [out] are slices of
// θ (bias_offset −1 without a bias). K-FAC's Kronecker factors are built from its input a and
// its output's back-propagated signal δ = ∂(·)/∂y.
struct DenseLayer {
  int64_t in = 0, out = 0;
  int64_t weight_offset = 0, bias_offset = -1;
  double weight_scale = 1.0, bias_scale = 0.0;  // s_w, s_b (0 without bias)
  int64_t num_parameters() const { return in * out + (bias_offset >= 0 ? out : 0); }
};

// The forward values and back-propagated signals of every dense layer on one batch.
struct DenseActivity {
  Tensor outputs;                             // z [b, C]
  std::vector<Tensor> inputs;                 // a_ℓ [b, in_ℓ], per dense layer
  std::vector<std::vector<Tensor>> signals;   // signals[k][ℓ] = δ_ℓ for cotangent k, [b, out_ℓ]
};

class OutputMap {
 public:
  virtual ~OutputMap() = default;

  virtual const ParameterLayout& layout() const = 0;
  int64_t dimension() const { return layout().size(); }
  // The model's own parameter dtype.
  virtual DType dtype() const = 0;
  // One example's input shape (no batch axis) and the number of outputs per example.
  virtual const Shape& input_shape() const = 0;
  virtual int64_t num_outputs() const = 0;
  virtual std::string describe() const = 0;

  // ---- the function and its derivatives ----
  // z = f(x; θ): [b, C] for x [b, input_shape...].
  virtual Tensor outputs(const Tensor& theta, const Tensor& x) = 0;
  // (z, J v), both [b, C]; v is [P] like θ.
  virtual std::pair<Tensor, Tensor> jvp(const Tensor& theta, const Tensor& x, const Tensor& v) = 0;
  // Jᵀ u, [P]; u is [b, C].
  virtual Tensor vjp(const Tensor& theta, const Tensor& x, const Tensor& u) = 0;
  // The Jacobian rows [b, C, P]. The default takes one VJP per (example, output); models
  // override it to share one forward pass per example.
  virtual Tensor jacobian(const Tensor& theta, const Tensor& x);

  // ---- the loss in output space (targets y as the loss expects them) ----
  virtual std::string loss_name() const = 0;
  // ℓ(z_i, y_i) per example, [b].
  virtual Tensor loss_values(const Tensor& z, const Tensor& y) = 0;
  // ∂/∂z Σ_i ℓ(z_i, y_i), [b, C]: row i is example i's own gradient.
  virtual Tensor loss_gradient(const Tensor& z, const Tensor& y) = 0;
  // (∂²/∂z² Σ_i ℓ(z_i, y_i)) u, [b, C]: block diagonal over examples, so each row is H_i u_i.
  virtual Tensor loss_hessian_product(const Tensor& z, const Tensor& y, const Tensor& u) = 0;
  // Whether the loss is the negative log-likelihood of an exponential family in natural
  // parameters z, so that the Fisher equals the Gauss–Newton matrix (Martens 2020 §9.2).
  virtual bool loss_is_natural_likelihood() const = 0;
  // Whether sample_targets can draw from the model's predictive distribution p(y | z).
  virtual bool can_sample_targets() const { return false; }
  // Targets ŷ ∼ p(· | z_i) shaped like `like` (the true Fisher's labels). InputError by default.
  virtual Tensor sample_targets(const Tensor& z, const Tensor& like, Rng& rng);

  // ---- optional structure: affine layers (K-FAC, the structured NTK) ----
  // The model's dense layers in θ order; empty when it states none.
  virtual std::vector<DenseLayer> dense_layers() const { return {}; }
  // One forward pass of x, then for each cotangent c_k = cotangents(z)[k] ([b, C]) the
  // signals δ_ℓ = (∂z/∂y_ℓ)ᵀ c_k of every dense layer (one backward pass per cotangent).
  // InputError by default.
  virtual DenseActivity dense_activity(const Tensor& theta, const Tensor& x,
                                       const std::function<std::vector<Tensor>(const Tensor& z)>& cotangents);
  // Whether the dense layers hold every parameter (the structured NTK and K-FAC need it).
  bool dense_layers_cover_parameters() const;
};

}  // namespace descent
