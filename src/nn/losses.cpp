#include "descent/nn/losses.hpp"

#include <cmath>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"

namespace descent::nn {
namespace {

// Labels for margin losses as ±1 in the scores' dtype and shape [B]: 0/1 labels map to
// −1/+1 so that the same data serves logistic regression and the exponential loss.
Tensor signed_labels(const Tensor& labels, const Var& scores, const char* op) {
  const int64_t b = scores.shape()[0];
  DESCENT_CHECK(scores.numel() == b, ShapeError, "{}: expects one score per example ([{}] or [{}, 1]), got {}", op,
                b, b, scores.shape());
  DESCENT_CHECK(labels.numel() == b, ShapeError, "{}: {} labels for {} examples", op, labels.numel(), b);
  Tensor y = Tensor::empty({b}, scores.dtype());
  for (int64_t i = 0; i < b; ++i) {
    const double v = labels.at(i);
    DESCENT_CHECK(v == 1.0 || v == -1.0 || v == 0.0, InputError,
                  "{}: label {} of example {} is not ±1 (or 0/1)", op, v, i);
    y.set(i, v == 0.0 ? -1.0 : v);
  }
  return y;
}

Var margins(const Var& scores, const Tensor& labels, const char* op) {
  Tensor y = signed_labels(labels, scores, op);
  return reshape(scores, Shape{scores.shape()[0]}) * Var(y);
}

}  // namespace

Loss parse_loss(const std::string& name) {
  for (Loss l : {Loss::softmax_cross_entropy, Loss::mean_squared_error, Loss::binary_logistic, Loss::exponential,
                 Loss::hinge})
    if (name == loss_name(l)) return l;
  if (name == "cross_entropy" || name == "ce") return Loss::softmax_cross_entropy;
  if (name == "mse") return Loss::mean_squared_error;
  if (name == "logistic") return Loss::binary_logistic;
  fail<InputError>("unknown loss '{}' (choose softmax_cross_entropy, mean_squared_error, binary_logistic, "
                   "exponential, hinge)",
                   name);
}

const char* loss_name(Loss loss) {
  switch (loss) {
    case Loss::softmax_cross_entropy: return "softmax_cross_entropy";
    case Loss::mean_squared_error: return "mean_squared_error";
    case Loss::binary_logistic: return "binary_logistic";
    case Loss::exponential: return "exponential";
    case Loss::hinge: return "hinge";
  }
  return "?";
}

Var softmax_cross_entropy(const Var& logits, const Tensor& labels) {
  DESCENT_CHECK(logits.rank() == 2, ShapeError, "softmax_cross_entropy: logits must be [batch, classes], got {}",
                logits.shape());
  const int64_t b = logits.shape()[0], k = logits.shape()[1];
  DESCENT_CHECK(labels.dtype() == DType::i64 && labels.numel() == b, ShapeError,
                "softmax_cross_entropy: needs {} int64 labels, got {} {}", b, dtype_name(labels.dtype()),
                labels.shape());
  const int64_t* y = labels.data<int64_t>();
  for (int64_t i = 0; i < b; ++i)
    DESCENT_CHECK(y[i] >= 0 && y[i] < k, InputError, "softmax_cross_entropy: label {} of example {} is not in [0, {})",
                  y[i], i, k);
  // −log softmax(z)_y = logsumexp(z) − z_y.
  Var picked = gather(log_softmax(logits, 1), 1, labels.reshape({b, 1}));
  return neg(reshape(picked, Shape{b}));
}

Var squared_error(const Var& output, const Tensor& targets) {
  DESCENT_CHECK(output.numel() == targets.numel(), ShapeError,
                "mean_squared_error: outputs {} and targets {} differ in size", output.shape(), targets.shape());
  const int64_t b = output.shape()[0];
  Tensor t = targets.dtype() == output.dtype() ? targets : targets.astype(output.dtype());
  Var diff = reshape(output, Shape{b, output.numel() / b}) - Var(t.reshape({b, output.numel() / b}));
  return sum(square(diff), {1}) * 0.5;
}

Var logistic_loss(const Var& scores, const Tensor& labels) {
  return softplus(neg(margins(scores, labels, "binary_logistic")));
}

Var exponential_loss(const Var& scores, const Tensor& labels) {
  return exp(neg(margins(scores, labels, "exponential")));
}

Var hinge_loss(const Var& scores, const Tensor& labels) {
  return relu(1.0 - margins(scores, labels, "hinge"));
}

Var per_example_loss(Loss loss, const Var& output, const Tensor& targets) {
  switch (loss) {
    case Loss::softmax_cross_entropy: return softmax_cross_entropy(output, targets);
    case Loss::mean_squared_error: return squared_error(output, targets);
    case Loss::binary_logistic: return logistic_loss(output, targets);
    case Loss::exponential: return exponential_loss(output, targets);
    case Loss::hinge: return hinge_loss(output, targets);
  }
  fail<InputError>("unknown loss");
}

Var mean_loss(Loss loss, const Var& output, const Tensor& targets) {
  return mean(per_example_loss(loss, output, targets));
}

int64_t count_correct(const Tensor& output, const Tensor& targets) {
  const int64_t b = output.dim(0);
  int64_t correct = 0;
  if (output.rank() == 2 && output.dim(1) > 1) {
    Tensor predicted = argmax(output, 1);
    const int64_t* p = predicted.data<int64_t>();
    for (int64_t i = 0; i < b; ++i) correct += p[i] == static_cast<int64_t>(targets.at(i));
    return correct;
  }
  for (int64_t i = 0; i < b; ++i) {
    const double y = targets.at(i) == 0.0 ? -1.0 : targets.at(i);
    correct += output.at(i) * y > 0;
  }
  return correct;
}

}  // namespace descent::nn
