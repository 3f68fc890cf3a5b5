#pragma once
// Shared by the empirical-NTK experiments (Arora ch. 9): two Fashion-MNIST classes with
// ±1 labels, inputs 2×2-average-pooled to 14×14 = 196 pixels and scaled to unit norm
// (Arora §9.1 assumes ‖x‖ = 1), the two-layer ReLU network in the NTK parameterization,
// f(x) = (√2/√m) aᵀ relu((√2/√d) W x) with both layers trained, and full-batch GD on
// (1/n) Σ ½ (f(x_i) − y_i)², whose function-space flow is du/dt = −(η/n) H (u − y).
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "descent/core/ops.hpp"
#include "descent/core/plot.hpp"
#include "descent/data/fashion_mnist.hpp"
#include "descent/nn/model.hpp"
#include "descent/nn/objective.hpp"

namespace descent::experiments::ntk {

struct TwoClassData {
  Tensor X, y;          // [n, 196] float64 unit rows, [n, 1] ±1
  Tensor X_test, y_test;
};

inline Tensor pooled_unit_rows(const Tensor& images, const std::vector<int64_t>& rows) {
  Tensor X = Tensor::zeros({int64_t(rows.size()), 196}, DType::f64);
  double* x = X.data<double>();
  for (size_t r = 0; r < rows.size(); ++r) {
    for (int64_t i = 0; i < 28; ++i)
      for (int64_t j = 0; j < 28; ++j) x[r * 196 + (i / 2) * 14 + j / 2] += images.at(rows[r] * 784 + i * 28 + j) / 4;
    double s = 0;
    for (int64_t k = 0; k < 196; ++k) s += x[r * 196 + k] * x[r * 196 + k];
    for (int64_t k = 0; k < 196; ++k) x[r * 196 + k] /= std::sqrt(s);
  }
  return X;
}

// The first n (n_test) examples of classes c0 (label +1) and c1 (label −1) of the training
// (test) split.
inline TwoClassData two_class_fashion_mnist(int64_t n, int64_t n_test, int64_t c0 = 0, int64_t c1 = 1) {
  TwoClassData d;
  auto take = [&](const char* split, int64_t count, Tensor& X, Tensor& y) {
    const data::Dataset ds = data::load_fashion_mnist(split);
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < ds.size() && int64_t(rows.size()) < count; ++i) {
      const int64_t label = int64_t(ds.targets.at(i));
      if (label == c0 || label == c1) rows.push_back(i);
    }
    X = pooled_unit_rows(ds.inputs, rows);
    y = Tensor::zeros({int64_t(rows.size()), 1}, DType::f64);
    for (size_t r = 0; r < rows.size(); ++r) y.set(r, ds.targets.at(rows[r]) == c0 ? 1.0 : -1.0);
  };
  take("train", n, d.X, d.y);
  if (n_test > 0) take("test", n_test, d.X_test, d.y_test);
  return d;
}

inline nn::Model two_layer_relu(int64_t input_dim, int64_t width, uint64_t seed,
                                nn::Parameterization p = nn::Parameterization::ntk) {
  nn::Model m = nn::mlp(input_dim, 1,
                        nn::MlpOptions{.hidden = {width}, .parameterization = p, .weight_std = std::sqrt(2.0)},
                        DType::f64);
  m.initialize(seed);
  return m;
}

// `steps` full-batch GD steps θ ← θ − η ∇(1/n) Σ ½ (f − y)²; after_step(k) after step k (and k = 0 before).
inline void gradient_descent(nn::Model& model, const Tensor& X, const Tensor& targets, double learning_rate,
                             int64_t steps, const std::function<void(int64_t)>& after_step = {}) {
  nn::ModelObjective objective(model, nn::Loss::mean_squared_error, X, targets);
  Tensor g = Tensor::zeros({model.num_parameters()}, model.dtype());
  if (after_step) after_step(0);
  for (int64_t k = 1; k <= steps; ++k) {
    objective.value_and_gradient(model.parameters(), g);
    axpy(model.parameters(), -learning_rate, g);
    if (after_step) after_step(k);
  }
}

inline double frobenius(const Tensor& a) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += a.at(i) * a.at(i);
  return std::sqrt(s);
}

// Least-squares slope of log y against log x.
inline double loglog_slope(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += std::log(x[i]) / x.size(), my += std::log(y[i]) / y.size();
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double dx = std::log(x[i]) - mx;
    sxy += dx * (std::log(y[i]) - my), sxx += dx * dx;
  }
  return sxy / sxx;
}

}  // namespace descent::experiments::ntk
