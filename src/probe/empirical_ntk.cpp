#include "descent/probe/empirical_ntk.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "descent/autodiff/autodiff.hpp"
#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/nn/layers.hpp"

namespace descent::probe {
namespace {

int64_t output_count(const nn::Model& model) { return model.output_shape().numel(); }

// θ (in the compute dtype) cut into one Var per parameter, and where each layer's start.
struct ParameterVars {
  std::vector<Var> vars;
  std::vector<size_t> first_of_layer;  // size layers + 1
  std::span<const Var> of_layer(size_t l) const {
    return std::span<const Var>(vars).subspan(first_of_layer[l], first_of_layer[l + 1] - first_of_layer[l]);
  }
};

ParameterVars parameter_vars(const nn::Model& model, DType dtype, bool requires_grad) {
  ParameterVars p;
  const Tensor theta = model.dtype() == dtype ? model.parameters() : model.parameters().astype(dtype);
  for (const auto& info : model.parameters_info()) p.vars.emplace_back(theta.view(info.offset, info.shape), requires_grad);
  p.first_of_layer.assign(model.layers().size() + 1, 0);
  for (const auto& info : model.parameters_info()) p.first_of_layer[info.layer + 1]++;
  for (size_t l = 0; l < model.layers().size(); ++l) p.first_of_layer[l + 1] += p.first_of_layer[l];
  return p;
}

Tensor chunk_inputs(const Tensor& X, int64_t start, int64_t stop, DType dtype) {
  Tensor x = X.rows(start, stop);
  return x.dtype() == dtype ? x : x.astype(dtype);
}

// ---- structured path: per-layer inputs A_l [b, in_l] and signals D_l [b, C, out_l] ----
struct LayerFeatures {
  Tensor inputs;   // A_l
  Tensor signals;  // D_l: row (i, c) is δ_i^c = ∂f_c(x_i)/∂y_l
  double weight_scale2 = 1.0, bias_scale2 = 0.0;  // s_w², and s_b² (0 without a bias)
};

std::vector<LayerFeatures> structured_features(nn::Model& model, const ParameterVars& params, const Tensor& x) {
  const int64_t b = x.dim(0), C = output_count(model);
  nn::ForwardContext ctx;  // evaluation mode
  std::vector<LayerFeatures> features;
  VarList outputs;  // each Linear layer's y, in the graph from the first one on
  Var h(x);
  for (size_t l = 0; l < model.layers().size(); ++l) {
    nn::Layer& layer = *model.layers()[l];
    if (const auto* linear = dynamic_cast<const nn::Linear*>(&layer)) {
      LayerFeatures f;
      f.inputs = h.value();
      f.weight_scale2 = linear->weight_scale() * linear->weight_scale();
      f.bias_scale2 = linear->has_bias() ? linear->bias_scale() * linear->bias_scale() : 0.0;
      features.push_back(std::move(f));
      h = layer.forward(h, params.of_layer(l), ctx);
      // The first y is a leaf: nothing before it is differentiated (no ∂f/∂x is computed).
      if (outputs.empty()) h = Var(h.value(), true);
      outputs.push_back(h);
    } else {
      h = layer.forward(h, params.of_layer(l), ctx);
    }
  }
  const Var f = h;
  DESCENT_CHECK(f.numel() == b * C, ShapeError, "empirical_ntk: model output {} is not [{}, {}]", f.shape(), b, C);
  for (size_t k = 0; k < features.size(); ++k)
    features[k].signals = Tensor::zeros({b, C, outputs[k].shape()[1]}, x.dtype());
  const size_t elem = dtype_size(x.dtype());
  for (int64_t c = 0; c < C; ++c) {
    Tensor e = Tensor::zeros(f.shape(), f.dtype());
    for (int64_t i = 0; i < b; ++i) e.set(i * C + c, 1.0);
    const VarList deltas = vjp(f, outputs, Var(e));
    for (size_t k = 0; k < features.size(); ++k) {
      const Tensor d = contiguous_copy(deltas[k].value());
      const int64_t out = d.dim(1);
      char* dst = static_cast<char*>(features[k].signals.raw());
      const char* src = static_cast<const char*>(d.raw());
      for (int64_t i = 0; i < b; ++i)
        std::memcpy(dst + ((i * C + c) * out) * elem, src + i * out * elem, out * elem);
    }
  }
  return features;
}

// ---- generic path: Jacobian rows J [b, C, P] ----
Tensor jacobian_rows(nn::Model& model, const ParameterVars& params, const Tensor& x) {
  const int64_t b = x.dim(0), C = output_count(model), P = model.num_parameters();
  Tensor J = Tensor::zeros({b, C, P}, x.dtype());
  const size_t elem = dtype_size(x.dtype());
  char* dst = static_cast<char*>(J.raw());
  nn::ForwardContext ctx;
  for (int64_t i = 0; i < b; ++i) {
    const Var f = model.forward(Var(x.rows(i, i + 1)), params.vars, ctx);
    for (int64_t c = 0; c < C; ++c) {
      Tensor e = Tensor::zeros(f.shape(), f.dtype());
      e.set(c, 1.0);
      const VarList g = vjp(f, params.vars, Var(e));
      int64_t col = 0;
      for (const Var& gi : g) {
        const Tensor v = contiguous_copy(gi.value());
        std::memcpy(dst + ((i * C + c) * P + col) * elem, v.raw(), v.numel() * elem);
        col += v.numel();
      }
    }
  }
  return J;
}

struct ChunkFeatures {
  int64_t start = 0, rows = 0;
  std::vector<LayerFeatures> layers;  // structured
  Tensor jacobian;                    // generic
};

template <class T>
void hadamard_accumulate(T* block, const T* gram_inputs, const T* signals, int64_t rows, int64_t cols, int64_t m,
                         double s_w2, double s_b2) {
  // block[(i c), (j c')] += (s_w² a_i·a_j + s_b²) · (δ_i^c · δ_j^c'), for m = 1 (trace) or C.
  const int64_t width = cols * m;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t c = 0; c < m; ++c) {
      T* out = block + (i * m + c) * width;
      const T* s = signals + (i * m + c) * width;
      for (int64_t j = 0; j < cols; ++j) {
        const T factor = static_cast<T>(s_w2 * gram_inputs[i * cols + j] + s_b2);
        for (int64_t c2 = 0; c2 < m; ++c2) out[j * m + c2] += factor * s[j * m + c2];
      }
    }
}

// The [rows·m, cols·m] block Θ(chunk I, chunk J), m = 1 (trace) or C (full).
Tensor kernel_block(const ChunkFeatures& I, const ChunkFeatures& J, int64_t C, NtkOutputs outputs, DType dtype) {
  const int64_t m = outputs == NtkOutputs::full ? C : 1;
  Tensor block = Tensor::zeros({I.rows * m, J.rows * m}, dtype);
  if (I.jacobian.defined()) {
    const int64_t P = I.jacobian.dim(2);
    // trace: rows of C·P (Σ_c J^c J'^cᵀ in one GEMM); full: rows of P, one per (example, class).
    const Shape sI = m == 1 ? Shape{I.rows, C * P} : Shape{I.rows * C, P};
    const Shape sJ = m == 1 ? Shape{J.rows, C * P} : Shape{J.rows * C, P};
    gemm_into(block, I.jacobian.reshape(sI), J.jacobian.reshape(sJ), false, true);
    return block;
  }
  for (size_t l = 0; l < I.layers.size(); ++l) {
    const LayerFeatures& a = I.layers[l];
    const LayerFeatures& b = J.layers[l];
    const int64_t out = a.signals.dim(2);
    Tensor gram_inputs = matmul(a.inputs, b.inputs, false, true);
    const Shape sI = m == 1 ? Shape{I.rows, C * out} : Shape{I.rows * C, out};
    const Shape sJ = m == 1 ? Shape{J.rows, C * out} : Shape{J.rows * C, out};
    Tensor signals = matmul(a.signals.reshape(sI), b.signals.reshape(sJ), false, true);
    if (dtype == DType::f64)
      hadamard_accumulate(block.data<double>(), gram_inputs.data<double>(), signals.data<double>(), I.rows, J.rows, m,
                          a.weight_scale2, a.bias_scale2);
    else
      hadamard_accumulate(block.data<float>(), gram_inputs.data<float>(), signals.data<float>(), I.rows, J.rows, m,
                          a.weight_scale2, a.bias_scale2);
  }
  return block;
}

// Writes block (or its transpose) into result [R1, R2] at (row0, col0).
void place_block(Tensor& result, const Tensor& block, int64_t row0, int64_t col0, bool transposed) {
  const Tensor b = transposed ? contiguous_copy(transpose(block)) : block;
  const int64_t rows = b.dim(0), cols = b.dim(1), width = result.dim(1);
  const size_t elem = dtype_size(result.dtype());
  char* dst = static_cast<char*>(result.raw());
  const char* src = static_cast<const char*>(b.raw());
  for (int64_t i = 0; i < rows; ++i)
    std::memcpy(dst + ((row0 + i) * width + col0) * elem, src + i * cols * elem, cols * elem);
}

bool use_structure(const nn::Model& model, NtkMethod method) {
  if (method == NtkMethod::generic) return false;
  const bool structured = has_linear_structure(model);
  DESCENT_CHECK(structured || method == NtkMethod::automatic, InputError,
                "empirical_ntk: the structured method needs a model of Linear, activation, Flatten and Dropout layers, "
                "got '{}'; use NtkMethod::generic (or automatic)",
                model.describe());
  return structured;
}

void check_inputs(const nn::Model& model, const Tensor& X, const char* which) {
  DESCENT_CHECK(X.defined() && X.rank() == model.input_shape().rank() + 1, ShapeError,
                "empirical_ntk: {} must be [n, {}], got {}", which, model.input_shape().str(),
                X.defined() ? X.shape().str() : std::string("undefined"));
  for (int i = 0; i < model.input_shape().rank(); ++i)
    DESCENT_CHECK(X.dim(i + 1) == model.input_shape()[i], ShapeError, "empirical_ntk: {} must be [n, {}], got {}",
                  which, model.input_shape().str(), X.shape());
  DESCENT_CHECK(is_floating(X.dtype()), InputError, "empirical_ntk: {} must be float32 or float64, got {}", which,
                dtype_name(X.dtype()));
}

Tensor compute(nn::Model& model, const Tensor& X1, const Tensor* X2, const EmpiricalNtkOptions& o) {
  check_inputs(model, X1, "X1");
  if (X2) check_inputs(model, *X2, "X2");
  DESCENT_CHECK(is_floating(o.dtype), InputError, "empirical_ntk: dtype must be float32 or float64, got {}",
                dtype_name(o.dtype));
  const bool structured = use_structure(model, o.method);
  const ParameterVars params = parameter_vars(model, o.dtype, !structured);
  const int64_t C = output_count(model), m = o.outputs == NtkOutputs::full ? C : 1;
  const int64_t chunk = empirical_ntk_chunk_size(model, o);
  const Tensor& Y = X2 ? *X2 : X1;
  const int64_t n1 = X1.dim(0), n2 = Y.dim(0);
  Tensor result = Tensor::zeros({n1 * m, n2 * m}, o.dtype);

  auto features = [&](const Tensor& X, int64_t start) {
    ChunkFeatures f;
    f.start = start;
    f.rows = std::min(chunk, X.dim(0) - start);
    const Tensor x = chunk_inputs(X, start, start + f.rows, o.dtype);
    if (structured) f.layers = structured_features(model, params, x);
    else f.jacobian = jacobian_rows(model, params, x);
    return f;
  };
  for (int64_t i0 = 0; i0 < n1; i0 += chunk) {
    const ChunkFeatures I = features(X1, i0);
    // The Gram: blocks on and above the diagonal, each mirrored below it.
    for (int64_t j0 = X2 ? 0 : i0; j0 < n2; j0 += chunk) {
      const bool diagonal = !X2 && j0 == i0;
      const ChunkFeatures J = diagonal ? ChunkFeatures{} : features(Y, j0);
      const Tensor block = kernel_block(I, diagonal ? I : J, C, o.outputs, o.dtype);
      place_block(result, block, i0 * m, j0 * m, false);
      if (!X2 && !diagonal) place_block(result, block, j0 * m, i0 * m, true);
    }
  }
  return m == 1 ? result : result.reshape({n1, C, n2, C});
}

}  // namespace

bool has_linear_structure(const nn::Model& model) {
  bool any_linear = false;
  for (const auto& layer : model.layers()) {
    const nn::Layer* p = layer.get();
    if (dynamic_cast<const nn::Linear*>(p)) any_linear = true;
    else if (!dynamic_cast<const nn::ActivationLayer*>(p) && !dynamic_cast<const nn::Flatten*>(p) &&
             !dynamic_cast<const nn::Dropout*>(p))
      return false;
  }
  return any_linear;
}

int64_t empirical_ntk_chunk_size(const nn::Model& model, const EmpiricalNtkOptions& o) {
  DESCENT_CHECK(o.chunk_size >= 0, InputError, "empirical_ntk: chunk_size must be >= 0 (0 = automatic), got {}",
                o.chunk_size);
  if (o.chunk_size > 0) return o.chunk_size;
  const double elem = static_cast<double>(dtype_size(o.dtype));
  const int64_t C = output_count(model), m = o.outputs == NtkOutputs::full ? C : 1;
  double per_example = 0;  // numbers held per example of a chunk
  if (has_linear_structure(model) && o.method != NtkMethod::generic) {
    for (const auto& layer : model.layers())
      if (const auto* linear = dynamic_cast<const nn::Linear*>(layer.get()))
        // A_l, D_l, and the forward/backward values of the graph (about 3 per unit).
        per_example += linear->in_features() + (C + 3) * linear->out_features();
  } else {
    per_example = static_cast<double>(C) * model.num_parameters();
  }
  const double budget = static_cast<double>(o.memory_budget);
  const double by_features = budget / (2.0 * per_example * elem);
  // The [b·m, b·m] block and its two GEMM temporaries also fit the budget.
  const double by_block = std::sqrt(budget / (3.0 * elem)) / m;
  return std::max<int64_t>(1, static_cast<int64_t>(std::min(by_features, by_block)));
}

Tensor empirical_ntk(nn::Model& model, const Tensor& X1, const Tensor& X2, const EmpiricalNtkOptions& options) {
  return compute(model, X1, &X2, options);
}

Tensor empirical_ntk(nn::Model& model, const Tensor& X, const EmpiricalNtkOptions& options) {
  return compute(model, X, nullptr, options);
}

}  // namespace descent::probe
