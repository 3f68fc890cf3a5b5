#pragma once
// Seeded synthetic data for theory work, each with the ground truth it was drawn from so
// that experiments can measure against it (the teacher, the true weights, the means, the
// max-margin direction). The same seed gives the same data bit for bit.
#include <cstdint>
#include <vector>

#include "descent/data/dataset.hpp"

namespace descent::data {

// ---- teacher-student ----
enum class TeacherActivation { relu, tanh };

struct TeacherStudentOptions {
  int64_t num_examples = 1000;
  int64_t input_dim = 10;
  std::vector<int64_t> hidden_widths = {32};
  int64_t num_classes = 0;  // > 0: label = argmax of the teacher's num_classes outputs
  int64_t output_dim = 1;   // regression outputs, used when num_classes == 0
  TeacherActivation activation = TeacherActivation::tanh;
  double noise_stddev = 0.0;  // Gaussian noise added to regression targets
  DType dtype = DType::f32;
  uint64_t seed = 0;
};

// A fully connected network f(x) = W_L^T a(... a(W_1^T x + b_1) ...) + b_L with
// W_l ~ N(0, 1/fan_in) (so pre-activations stay O(1) at any width) and b_l ~ N(0, 0.1^2).
struct Teacher {
  std::vector<Tensor> weights;  // [fan_in, fan_out], float64
  std::vector<Tensor> biases;   // [fan_out], float64
  TeacherActivation activation = TeacherActivation::tanh;
  // Outputs [n, out] in float64 for inputs [n, input_dim].
  Tensor forward(const Tensor& inputs) const;
};

struct TeacherStudentData {
  Dataset data;  // inputs ~ N(0, I)
  Teacher teacher;
};
TeacherStudentData teacher_student(const TeacherStudentOptions& options);

// ---- over-parameterized linear regression ----
struct LinearRegressionData {
  Dataset data;          // inputs [n, d] ~ N(0, 1); targets [n] = X w* + noise
  Tensor true_weights;   // w* [d] ~ N(0, 1/d), float64
};
// Requires num_examples < dim: infinitely many interpolating solutions, which is what
// implicit-bias experiments (minimum-norm solution of gradient descent from 0) study.
LinearRegressionData overparameterized_linear_regression(int64_t num_examples, int64_t dim,
                                                         double noise_stddev, uint64_t seed,
                                                         DType dtype = DType::f32);

// ---- Gaussian-mixture classification ----
struct GaussianMixtureData {
  Dataset data;  // x = means[y] + stddev * N(0, I); classes balanced (n / k each, ± 1)
  Tensor means;  // [k, dim], float64
};
// The means are `separation` apart pairwise: separation/sqrt(2) times orthonormal
// directions when num_classes <= dim; with more classes than dimensions they are
// Gaussian, N(0, separation^2 / (2 dim)), and `separation` is the expected distance.
GaussianMixtureData gaussian_mixture(int64_t num_examples, int64_t dim, int64_t num_classes,
                                     double separation, double stddev, uint64_t seed,
                                     DType dtype = DType::f32);

// ---- two moons ----
// scikit-learn's make_moons: the upper half circle (cos t, sin t), label 0, and the lower
// one (1 - cos t, 1/2 - sin t), label 1, at t evenly spaced in [0, pi], plus
// N(0, noise_stddev^2) noise; rows in a seeded random order.
Dataset two_moons(int64_t num_examples, double noise_stddev, uint64_t seed,
                  DType dtype = DType::f32);

// ---- linearly separable data with a known margin ----
struct SeparableData {
  Dataset data;      // labels 0/1 (use y = 2 label - 1 for the +-1 convention)
  Tensor direction;  // w*, unit norm [dim], float64
  double margin;     // gamma
};
// Every example has y <w*, x> >= gamma, and two of them (a support pair at gamma w* + v
// and -gamma w* + v, v orthogonal to w*) have exactly gamma. For any unit u, the pair's
// margins average to gamma <u, w*> <= gamma, so w* is THE max-margin direction among
// linear separators through the origin and gamma is its margin: the hard-margin SVM
// solution that gradient descent on the logistic loss converges to in direction.
// Elsewhere x = z_perp + y (gamma + |g|) w*, z ~ N(0, I), g ~ N(0, 1).
// (With dtype f32 the stored inputs round the margin at the 1e-7 relative level.)
SeparableData linearly_separable(int64_t num_examples, int64_t dim, double margin, uint64_t seed,
                                 DType dtype = DType::f32);

}  // namespace descent::data
