#pragma once
// Losses as autodiff functions of the model output. Each has a per-example form (one value
// per row, shape [B]) and its mean; targets are constants (Tensors), never differentiated.
#include <string>

#include "descent/autodiff/var.hpp"

namespace descent::nn {

enum class Loss {
  softmax_cross_entropy,  // logits [B, K], labels int64 [B]
  mean_squared_error,     // outputs [B, K] (or [B]), targets same shape; ½‖f − y‖² per example
  binary_logistic,        // scores [B] or [B,1], labels ±1 (or 0/1): log(1 + e^{−y f})
  exponential,            // scores, labels ±1 (or 0/1): e^{−y f}
  hinge,                  // scores, labels ±1 (or 0/1): max(0, 1 − y f)
};
Loss parse_loss(const std::string& name);  // throws InputError naming the choices
const char* loss_name(Loss loss);

// Per-example loss values, [B].
Var per_example_loss(Loss loss, const Var& output, const Tensor& targets);
// Their mean, a scalar.
Var mean_loss(Loss loss, const Var& output, const Tensor& targets);

// Individual losses (per example, [B]).
// −log softmax(z)_y, computed as logsumexp(z) − z_y (stable for any logits).
Var softmax_cross_entropy(const Var& logits, const Tensor& labels);
Var squared_error(const Var& output, const Tensor& targets);
// log(1 + e^{−y f}) = softplus(−y f), stable for large |f|.
Var logistic_loss(const Var& scores, const Tensor& signed_labels);
Var exponential_loss(const Var& scores, const Tensor& signed_labels);
Var hinge_loss(const Var& scores, const Tensor& signed_labels);

// Number of correct predictions: argmax of logits [B, K] against int64 labels, or the sign
// of scores [B] against ±1 labels.
int64_t count_correct(const Tensor& output, const Tensor& targets);

}  // namespace descent::nn
