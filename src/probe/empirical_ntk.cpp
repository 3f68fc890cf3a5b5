#include "descent/probe/empirical_ntk.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/nn/output_map.hpp"

namespace descent::probe {
namespace {

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

std::vector<LayerFeatures> structured_features(OutputMap& map, const Tensor& theta, const Tensor& x) {
  const int64_t b = x.dim(0), C = map.num_outputs();
  // Cotangent c is e_c in every row: its backward pass gives δ^c of every example at once.
  const DenseActivity act = map.dense_activity(theta, x, [&](const Tensor& z) {
    DESCENT_CHECK(z.numel() == b * C, ShapeError, "empirical_ntk: model output {} is not [{}, {}]", z.shape(), b, C);
    std::vector<Tensor> basis;
    for (int64_t c = 0; c < C; ++c) {
      Tensor e = Tensor::zeros(z.shape(), z.dtype());
      for (int64_t i = 0; i < b; ++i) e.set(i * C + c, 1.0);
      basis.push_back(std::move(e));
    }
    return basis;
  });
  const std::vector<DenseLayer> dense = map.dense_layers();
  std::vector<LayerFeatures> features(dense.size());
  const size_t elem = dtype_size(x.dtype());
  for (size_t k = 0; k < dense.size(); ++k) {
    LayerFeatures& f = features[k];
    f.inputs = act.inputs[k];
    f.weight_scale2 = dense[k].weight_scale * dense[k].weight_scale;
    f.bias_scale2 = dense[k].bias_offset >= 0 ? dense[k].bias_scale * dense[k].bias_scale : 0.0;
    const int64_t out = dense[k].out;
    f.signals = Tensor::zeros({b, C, out}, x.dtype());
    char* dst = static_cast<char*>(f.signals.raw());
    for (int64_t c = 0; c < C; ++c) {
      const Tensor d = contiguous_copy(act.signals[size_t(c)][k]);
      const char* src = static_cast<const char*>(d.raw());
      for (int64_t i = 0; i < b; ++i)
        std::memcpy(dst + ((i * C + c) * out) * elem, src + i * out * elem, out * elem);
    }
  }
  return features;
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

bool use_structure(const OutputMap& map, NtkMethod method) {
  if (method == NtkMethod::generic) return false;
  const bool structured = map.dense_layers_cover_parameters();
  DESCENT_CHECK(structured || method == NtkMethod::automatic, InputError,
                "empirical_ntk: the structured method needs a model whose Linear layers hold every parameter, "
                "got '{}'; use NtkMethod::generic (or automatic)",
                map.describe());
  return structured;
}

void check_inputs(const OutputMap& map, const Tensor& X, const char* which) {
  const Shape& input = map.input_shape();
  DESCENT_CHECK(X.defined() && X.rank() == input.rank() + 1, ShapeError, "empirical_ntk: {} must be [n, {}], got {}",
                which, input.str(), X.defined() ? X.shape().str() : std::string("undefined"));
  for (int i = 0; i < input.rank(); ++i)
    DESCENT_CHECK(X.dim(i + 1) == input[i], ShapeError, "empirical_ntk: {} must be [n, {}], got {}", which,
                  input.str(), X.shape());
  DESCENT_CHECK(is_floating(X.dtype()), InputError, "empirical_ntk: {} must be float32 or float64, got {}", which,
                dtype_name(X.dtype()));
}

// Whether dense layers hold all P parameters (the structured path applies).
bool covers(const std::vector<DenseLayer>& dense, int64_t parameters) {
  int64_t covered = 0;
  for (const DenseLayer& d : dense) covered += d.num_parameters();
  return !dense.empty() && covered == parameters;
}

int64_t chunk_size_for(const std::vector<DenseLayer>& dense, int64_t C, int64_t P, const EmpiricalNtkOptions& o) {
  DESCENT_CHECK(o.chunk_size >= 0, InputError, "empirical_ntk: chunk_size must be >= 0 (0 = automatic), got {}",
                o.chunk_size);
  if (o.chunk_size > 0) return o.chunk_size;
  const double elem = static_cast<double>(dtype_size(o.dtype));
  const int64_t m = o.outputs == NtkOutputs::full ? C : 1;
  double per_example = 0;  // numbers held per example of a chunk
  if (covers(dense, P) && o.method != NtkMethod::generic) {
    for (const DenseLayer& d : dense)
      // A_l, D_l and the C signals it is assembled from, and the forward/backward values of
      // the graph (about 3 per unit).
      per_example += static_cast<double>(d.in + (2 * C + 3) * d.out);
  } else {
    per_example = static_cast<double>(C) * static_cast<double>(P);
  }
  const double budget = static_cast<double>(o.memory_budget);
  const double by_features = budget / (2.0 * per_example * elem);
  // The [b·m, b·m] block and its two GEMM temporaries also fit the budget.
  const double by_block = std::sqrt(budget / (3.0 * elem)) / m;
  return std::max<int64_t>(1, static_cast<int64_t>(std::min(by_features, by_block)));
}

Tensor compute(OutputMap& map, const Tensor& theta_in, const Tensor& X1, const Tensor* X2,
               const EmpiricalNtkOptions& o) {
  check_inputs(map, X1, "X1");
  if (X2) check_inputs(map, *X2, "X2");
  DESCENT_CHECK(is_floating(o.dtype), InputError, "empirical_ntk: dtype must be float32 or float64, got {}",
                dtype_name(o.dtype));
  DESCENT_CHECK(theta_in.numel() == map.dimension(), ShapeError, "empirical_ntk: θ has {} values, the model {}",
                theta_in.numel(), map.dimension());
  const bool structured = use_structure(map, o.method);
  // θ in the compute dtype (float64 on a float32 model converts it; the model is unchanged).
  const Tensor theta = theta_in.dtype() == o.dtype ? theta_in : theta_in.astype(o.dtype);
  const int64_t C = map.num_outputs(), m = o.outputs == NtkOutputs::full ? C : 1;
  const int64_t chunk = empirical_ntk_chunk_size(map, o);
  const Tensor& Y = X2 ? *X2 : X1;
  const int64_t n1 = X1.dim(0), n2 = Y.dim(0);
  Tensor result = Tensor::zeros({n1 * m, n2 * m}, o.dtype);

  auto features = [&](const Tensor& X, int64_t start) {
    ChunkFeatures f;
    f.start = start;
    f.rows = std::min(chunk, X.dim(0) - start);
    const Tensor x = chunk_inputs(X, start, start + f.rows, o.dtype);
    if (structured) f.layers = structured_features(map, theta, x);
    else f.jacobian = map.jacobian(theta, x);
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
  return covers(nn::dense_layers(model), model.num_parameters());
}

int64_t empirical_ntk_chunk_size(const nn::Model& model, const EmpiricalNtkOptions& o) {
  return chunk_size_for(nn::dense_layers(model), model.output_shape().numel(), model.num_parameters(), o);
}

int64_t empirical_ntk_chunk_size(const OutputMap& map, const EmpiricalNtkOptions& o) {
  return chunk_size_for(map.dense_layers(), map.num_outputs(), map.dimension(), o);
}

Tensor empirical_ntk(OutputMap& map, const Tensor& theta, const Tensor& X1, const Tensor& X2,
                     const EmpiricalNtkOptions& options) {
  return compute(map, theta, X1, &X2, options);
}

Tensor empirical_ntk(OutputMap& map, const Tensor& theta, const Tensor& X, const EmpiricalNtkOptions& options) {
  return compute(map, theta, X, nullptr, options);
}

Tensor empirical_ntk(nn::Model& model, const Tensor& X1, const Tensor& X2, const EmpiricalNtkOptions& options) {
  nn::ModelOutputMap map(model);
  return compute(map, model.parameters(), X1, &X2, options);
}

Tensor empirical_ntk(nn::Model& model, const Tensor& X, const EmpiricalNtkOptions& options) {
  nn::ModelOutputMap map(model);
  return compute(map, model.parameters(), X, nullptr, options);
}

}  // namespace descent::probe
