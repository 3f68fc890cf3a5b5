// Finite-width random networks in the NTK parameterization and their empirical NNGP and
// NTK, computed from the layer structure (kernels.hpp), for Monte Carlo checks of the
// infinite-width limits.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/probe/kernels.hpp"

namespace descent::probe {
namespace {

double erf_derivative(double z) { return 2.0 / std::sqrt(std::numbers::pi) * std::exp(-z * z); }

// φ and φ' of the spec, element-wise on a float64 tensor.
Tensor apply(const KernelSpec& spec, const Tensor& z, bool derivative) {
  Tensor out = Tensor::empty(z.shape(), DType::f64);
  const double* in = z.data<double>();
  double* o = out.data<double>();
  const int64_t n = z.numel();
  switch (spec.activation) {
    case Activation::relu:
      for (int64_t i = 0; i < n; ++i) o[i] = derivative ? (in[i] > 0.0 ? 1.0 : 0.0) : std::max(in[i], 0.0);
      break;
    case Activation::erf:
      for (int64_t i = 0; i < n; ++i) o[i] = derivative ? erf_derivative(in[i]) : std::erf(in[i]);
      break;
    case Activation::tanh:
      for (int64_t i = 0; i < n; ++i) {
        const double t = std::tanh(in[i]);
        o[i] = derivative ? 1.0 - t * t : t;
      }
      break;
    case Activation::custom: {
      const auto& f = derivative ? spec.custom_derivative : spec.custom_activation;
      DESCENT_CHECK(static_cast<bool>(f), InputError, "RandomNetwork: custom activation needs custom_{}",
                    derivative ? "derivative" : "activation");
      for (int64_t i = 0; i < n; ++i) o[i] = f(in[i]);
      break;
    }
  }
  return out;
}

// Z = (σ_w/√fan_in) H Wᵀ + σ_b 1 bᵀ.
Tensor dense(const KernelSpec& spec, const Tensor& H, const Tensor& W, const Tensor& b) {
  Tensor Z = Tensor::empty({H.dim(0), W.dim(0)}, DType::f64);
  gemm_into(Z, H, W, false, true, std::sqrt(spec.weight_variance / double(H.dim(1))), 0.0);
  const double sb = std::sqrt(spec.bias_variance);
  double* z = Z.data<double>();
  const double* bias = b.data<double>();
  for (int64_t i = 0; i < Z.dim(0); ++i)
    for (int64_t j = 0; j < Z.dim(1); ++j) z[i * Z.dim(1) + j] += sb * bias[j];
  return Z;
}

// Adds (A Aᵀ) ⊙ (σ_w² H Hᵀ / fan_in + σ_b²) to ntk.
void add_layer_contribution(const KernelSpec& spec, const Tensor& delta, const Tensor& H, Tensor& ntk) {
  const Tensor dd = matmul(delta, delta, false, true);
  const Tensor hh = matmul(H, H, false, true);
  const double scale = spec.weight_variance / double(H.dim(1));
  double* k = ntk.data<double>();
  const double* a = dd.data<double>();
  const double* h = hh.data<double>();
  for (int64_t i = 0; i < ntk.numel(); ++i) k[i] += a[i] * (scale * h[i] + spec.bias_variance);
}

}  // namespace

RandomNetwork::RandomNetwork(const KernelSpec& spec, int64_t input_dim, int64_t width, Rng& rng) : spec_(spec) {
  DESCENT_CHECK(spec.depth >= 0 && input_dim >= 1 && width >= 1, InputError,
                "RandomNetwork: needs depth >= 0, input_dim >= 1, width >= 1 (got {}, {}, {})", spec.depth,
                input_dim, width);
  for (int m = 0; m <= spec.depth; ++m) {
    const int64_t fan_in = m == 0 ? input_dim : width, fan_out = m == spec.depth ? 1 : width;
    weights_.push_back(rng.normal_tensor({fan_out, fan_in}, DType::f64));
    biases_.push_back(rng.normal_tensor({fan_out}, DType::f64));
  }
}

int64_t RandomNetwork::parameter_count() const {
  int64_t p = 0;
  for (size_t m = 0; m < weights_.size(); ++m) p += weights_[m].numel() + biases_[m].numel();
  return p;
}

Tensor RandomNetwork::outputs(const Tensor& X) const {
  Tensor H = X.astype(DType::f64);
  for (int m = 0; m <= spec_.depth; ++m) {
    Tensor Z = dense(spec_, H, weights_[m], biases_[m]);
    H = m == spec_.depth ? Z : apply(spec_, Z, false);
  }
  return H.reshape({X.dim(0)});
}

NngpAndNtk RandomNetwork::empirical_kernels(const Tensor& X) const {
  DESCENT_CHECK(X.rank() == 2 && X.dim(1) == weights_[0].dim(1), ShapeError,
                "RandomNetwork: input {} does not match input_dim {}", X.shape(), weights_[0].dim(1));
  const int L = spec_.depth;
  const int64_t n = X.dim(0);
  // Forward: H[m] is the input of layer m (H[0] = X), Z[m] its pre-activation output.
  std::vector<Tensor> H{X.astype(DType::f64)}, Z;
  for (int m = 0; m <= L; ++m) {
    Z.push_back(dense(spec_, H[m], weights_[m], biases_[m]));
    if (m < L) H.push_back(apply(spec_, Z[m], false));
  }
  NngpAndNtk out;
  out.nngp = matmul(H[L], H[L], false, true);
  scale_inplace(out.nngp, spec_.weight_variance / double(H[L].dim(1)));
  out.nngp = add(out.nngp, spec_.bias_variance);
  // Backward: delta = ∂f/∂Z[m], starting from ∂f/∂f = 1.
  out.ntk = Tensor::zeros({n, n}, DType::f64);
  Tensor delta = Tensor::ones({n, 1}, DType::f64);
  for (int m = L; m >= 0; --m) {
    add_layer_contribution(spec_, delta, H[m], out.ntk);
    if (m == 0) break;
    Tensor back = matmul(delta, weights_[m]);  // [n, fan_in of layer m]
    scale_inplace(back, std::sqrt(spec_.weight_variance / double(H[m].dim(1))));
    delta = mul(back, apply(spec_, Z[m - 1], true));
  }
  return out;
}

}  // namespace descent::probe
