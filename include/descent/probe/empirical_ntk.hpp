#pragma once
// The empirical neural tangent kernel of a model at its current parameters θ:
//   Θ(x, x') = J(x) J(x')ᵀ,   J(x) = ∂f(x)/∂θ ∈ R^{C×P}   (Arora §9.1, eq. 9.3; Jacot et al. 2018),
// for C outputs either as full per-class blocks Θ_{cc'}(x, x') or as their trace
// Σ_c Θ_cc(x, x') (neural-tangents' trace_axes=(-1,)). The n×P Jacobian is never held.
//
// Any model that provides core's OutputMap (core/output_map.hpp) works; the nn::Model overloads
// go through nn::ModelOutputMap. Two paths, the same kernel:
//   structured — models whose dense (Linear) layers hold every parameter, with any
//     parameter-free layers between them (the MLPs of nn::mlp), through
//     OutputMap::dense_activity. For a Linear layer y = s_w a Wᵀ + s_b b with input a and
//     back-propagated signal δ^c = ∂f_c/∂y, ∂f_c/∂W = s_w δ^cᵀ a and ∂f_c/∂b = s_b δ^c, so
//       Θ_{cc'}(x_i, x_j) = Σ_layers (s_w² a_i·a_j + s_b²) (δ_i^c·δ_j^{c'}):
//     GEMMs of size n×n×width (A Aᵀ, and D Dᵀ with D the δ's of every class side by side),
//     never n×P. The δ^c of a chunk come from one backward pass per output.
//   generic — any model: per-example Jacobian rows (OutputMap::jacobian: reverse mode, one
//     sweep per output and example), accumulated as J_I J_Jᵀ chunk by chunk.
//
// Memory: the result ([n1, n2], or [n1, C, n2, C] for full blocks — row-major, so it is
// the [n1·C, n2·C] Gram of vec(Y) for Y [n, C]) plus two chunks' work: per example
// Σ_l (in_l + C·out_l) numbers for the structured path, C·P for the generic one, with the
// chunk length chosen so that both chunks fit `memory_budget`. Time: the Gram needs
// k(k+1)/2 chunk pairs for k chunks; the chunk's features are recomputed for each pair it
// is in (nothing beyond the budget is cached).
#include <cstddef>
#include <cstdint>

#include "descent/core/output_map.hpp"
#include "descent/core/tensor.hpp"
#include "descent/nn/model.hpp"

namespace descent::probe {

enum class NtkOutputs {
  trace,  // Σ_c Θ_cc(x, x'): [n1, n2]
  full,   // Θ_{cc'}(x, x'): [n1, C, n2, C]
};

enum class NtkMethod {
  automatic,   // structured when the model allows it, else generic
  structured,  // per-layer activations and signals (throws InputError for other models)
  generic,     // per-example Jacobian rows
};

struct EmpiricalNtkOptions {
  NtkOutputs outputs = NtkOutputs::trace;
  NtkMethod method = NtkMethod::automatic;
  // Element type of the computation and of the result. float64 on a float32 model
  // converts θ and the inputs first (the model itself is not changed).
  DType dtype = DType::f32;
  // Examples per chunk; 0 = as many as fit memory_budget (at least 1).
  int64_t chunk_size = 0;
  // Bytes for the two chunks' features or Jacobian rows (the result is not counted).
  size_t memory_budget = size_t{256} << 20;
};

// Whether the structured path applies: every parameter is in a Linear layer (activations,
// Flatten, pooling and Dropout — the identity in evaluation mode — may sit between them).
bool has_linear_structure(const nn::Model& model);

// Θ(X1, X2) of any model at θ ([P]; converted to options.dtype): X1 [n1, input_shape...],
// X2 [n2, input_shape...].
Tensor empirical_ntk(OutputMap& map, const Tensor& theta, const Tensor& X1, const Tensor& X2,
                     const EmpiricalNtkOptions& options = {});
Tensor empirical_ntk(OutputMap& map, const Tensor& theta, const Tensor& X, const EmpiricalNtkOptions& options = {});

// Θ(X1, X2) at the model's θ: X1 [n1, input_shape...], X2 [n2, input_shape...].
Tensor empirical_ntk(nn::Model& model, const Tensor& X1, const Tensor& X2, const EmpiricalNtkOptions& options = {});
// The Gram matrix Θ(X, X): the upper block triangle is computed and mirrored.
Tensor empirical_ntk(nn::Model& model, const Tensor& X, const EmpiricalNtkOptions& options = {});

// The examples per chunk the options give for this model (what the functions above use).
int64_t empirical_ntk_chunk_size(const nn::Model& model, const EmpiricalNtkOptions& options);
int64_t empirical_ntk_chunk_size(const OutputMap& map, const EmpiricalNtkOptions& options);

}  // namespace descent::probe
