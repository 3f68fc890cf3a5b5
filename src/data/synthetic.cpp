#include "descent/data/synthetic.hpp"

#include <cmath>
#include <numbers>

#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"

namespace descent::data {
namespace {

void require_float(DType dtype, const char* generator) {
  DESCENT_CHECK(is_floating(dtype), InputError, "{}: inputs dtype must be float32 or float64, got {}",
                generator, dtype_name(dtype));
}

// Gram–Schmidt on Gaussian rows: k orthonormal rows in R^dim (k <= dim), float64.
Tensor orthonormal_rows(int64_t k, int64_t dim, Rng& rng) {
  Tensor q = rng.normal_tensor({k, dim}, DType::f64);
  double* p = q.data<double>();
  for (int64_t i = 0; i < k; ++i) {
    double* row = p + i * dim;
    for (int pass = 0; pass < 2; ++pass)  // twice is enough (Giraud et al. 2005)
      for (int64_t j = 0; j < i; ++j) {
        const double* other = p + j * dim;
        double d = 0;
        for (int64_t c = 0; c < dim; ++c) d += row[c] * other[c];
        for (int64_t c = 0; c < dim; ++c) row[c] -= d * other[c];
      }
    double norm = 0;
    for (int64_t c = 0; c < dim; ++c) norm += row[c] * row[c];
    norm = std::sqrt(norm);
    for (int64_t c = 0; c < dim; ++c) row[c] /= norm;
  }
  return q;
}

}  // namespace

Tensor Teacher::forward(const Tensor& inputs) const {
  Tensor h = inputs.astype(DType::f64);
  for (size_t l = 0; l < weights.size(); ++l) {
    h = add(matmul(h, weights[l]), biases[l]);
    if (l + 1 < weights.size()) h = activation == TeacherActivation::relu ? relu(h) : tanh(h);
  }
  return h;
}

TeacherStudentData teacher_student(const TeacherStudentOptions& o) {
  require_float(o.dtype, "teacher_student");
  const int64_t out_dim = o.num_classes > 0 ? o.num_classes : o.output_dim;
  DESCENT_CHECK(o.num_examples > 0 && o.input_dim > 0 && out_dim > 0 && o.num_classes != 1 &&
                    o.num_classes >= 0,
                InputError,
                "teacher_student: need num_examples, input_dim and outputs > 0 and num_classes 0 "
                "(regression) or >= 2; got n={}, d={}, classes={}, outputs={}",
                o.num_examples, o.input_dim, o.num_classes, o.output_dim);
  Rng rng(o.seed);
  TeacherStudentData out;
  out.teacher.activation = o.activation;
  std::vector<int64_t> widths{o.input_dim};
  widths.insert(widths.end(), o.hidden_widths.begin(), o.hidden_widths.end());
  widths.push_back(out_dim);
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    DESCENT_CHECK(widths[l + 1] > 0, InputError, "teacher_student: hidden width {} must be positive",
                  widths[l + 1]);
    out.teacher.weights.push_back(rng.normal_tensor({widths[l], widths[l + 1]}, DType::f64, 0.0,
                                                    1.0 / std::sqrt(static_cast<double>(widths[l]))));
    out.teacher.biases.push_back(rng.normal_tensor({widths[l + 1]}, DType::f64, 0.0, 0.1));
  }
  const Tensor x = rng.normal_tensor({o.num_examples, o.input_dim}, DType::f64);
  const Tensor y = out.teacher.forward(x);
  out.data.inputs = x.astype(o.dtype);
  out.data.num_classes = o.num_classes;
  if (o.num_classes > 0) {
    out.data.targets = argmax(y, 1);
  } else {
    Tensor t = y.clone();
    if (o.noise_stddev > 0) {
      double* p = t.data<double>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] += o.noise_stddev * rng.normal();
    }
    out.data.targets = t.astype(o.dtype);
  }
  return out;
}

LinearRegressionData overparameterized_linear_regression(int64_t n, int64_t d, double noise_stddev,
                                                         uint64_t seed, DType dtype) {
  require_float(dtype, "overparameterized_linear_regression");
  DESCENT_CHECK(0 < n && n < d, InputError,
                "overparameterized_linear_regression: needs fewer examples than dimensions "
                "(n < d), got n={}, d={}",
                n, d);
  Rng rng(seed);
  LinearRegressionData out;
  out.true_weights = rng.normal_tensor({d}, DType::f64, 0.0, 1.0 / std::sqrt(static_cast<double>(d)));
  const Tensor x = rng.normal_tensor({n, d}, DType::f64);
  Tensor y = matmul(x, out.true_weights.reshape({d, 1})).reshape({n});
  for (int64_t i = 0; i < n && noise_stddev > 0; ++i) y.data<double>()[i] += noise_stddev * rng.normal();
  out.data = {x.astype(dtype), y.astype(dtype), 0};
  return out;
}

GaussianMixtureData gaussian_mixture(int64_t n, int64_t dim, int64_t k, double separation,
                                     double stddev, uint64_t seed, DType dtype) {
  require_float(dtype, "gaussian_mixture");
  DESCENT_CHECK(n > 0 && dim > 0 && k >= 2 && separation >= 0 && stddev >= 0, InputError,
                "gaussian_mixture: need n, dim > 0, at least 2 classes and non-negative "
                "separation and stddev; got n={}, dim={}, k={}, separation={}, stddev={}",
                n, dim, k, separation, stddev);
  Rng rng(seed);
  GaussianMixtureData out;
  out.means = k <= dim ? mul(orthonormal_rows(k, dim, rng), separation / std::numbers::sqrt2)
                       : rng.normal_tensor({k, dim}, DType::f64, 0.0,
                                           separation / std::sqrt(2.0 * static_cast<double>(dim)));
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = i % k;
  rng.shuffle(labels);
  Tensor x = Tensor::empty({n, dim}, DType::f64);
  const double* mu = out.means.data<double>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < dim; ++c)
      x.data<double>()[i * dim + c] = mu[labels[static_cast<size_t>(i)] * dim + c] + stddev * rng.normal();
  out.data = {x.astype(dtype), Tensor::from_vector(labels, {n}), k};
  return out;
}

Dataset two_moons(int64_t n, double noise_stddev, uint64_t seed, DType dtype) {
  require_float(dtype, "two_moons");
  DESCENT_CHECK(n >= 2 && noise_stddev >= 0, InputError,
                "two_moons: need at least 2 examples and noise >= 0, got n={}, noise={}", n,
                noise_stddev);
  Rng rng(seed);
  const int64_t n_outer = n / 2, n_inner = n - n_outer;
  const std::vector<int64_t> order = rng.permutation(n);
  Tensor x = Tensor::empty({n, 2}, DType::f64);
  std::vector<int64_t> labels(static_cast<size_t>(n));
  auto spaced = [](int64_t i, int64_t count) {  // numpy.linspace(0, pi, count)[i]
    return count == 1 ? 0.0 : std::numbers::pi * static_cast<double>(i) / static_cast<double>(count - 1);
  };
  for (int64_t i = 0; i < n; ++i) {
    const bool outer = i < n_outer;
    const double t = outer ? spaced(i, n_outer) : spaced(i - n_outer, n_inner);
    const int64_t row = order[static_cast<size_t>(i)];
    x.data<double>()[2 * row] = outer ? std::cos(t) : 1.0 - std::cos(t);
    x.data<double>()[2 * row + 1] = outer ? std::sin(t) : 0.5 - std::sin(t);
    labels[static_cast<size_t>(row)] = outer ? 0 : 1;
  }
  for (int64_t i = 0; i < 2 * n && noise_stddev > 0; ++i) x.data<double>()[i] += noise_stddev * rng.normal();
  return {x.astype(dtype), Tensor::from_vector(labels, {n}), 2};
}

SeparableData linearly_separable(int64_t n, int64_t dim, double margin, uint64_t seed, DType dtype) {
  require_float(dtype, "linearly_separable");
  DESCENT_CHECK(n >= 2 && dim >= 1 && margin > 0, InputError,
                "linearly_separable: need n >= 2 (the support pair), dim >= 1 and margin > 0; "
                "got n={}, dim={}, margin={}",
                n, dim, margin);
  Rng rng(seed);
  SeparableData out;
  out.margin = margin;
  out.direction = orthonormal_rows(1, dim, rng).reshape({dim});
  const double* w = out.direction.data<double>();
  Tensor x = rng.normal_tensor({n, dim}, DType::f64);
  std::vector<int64_t> labels(static_cast<size_t>(n));
  // Two random rows hold the support pair.
  const std::vector<int64_t> order = rng.permutation(n);
  const int64_t positive_support = order[0], negative_support = order[1];
  for (int64_t i = 0; i < n; ++i) {
    double* row = x.data<double>() + i * dim;
    double along = 0;
    for (int64_t c = 0; c < dim; ++c) along += row[c] * w[c];
    for (int64_t c = 0; c < dim; ++c) row[c] -= along * w[c];  // z_perp
    double signed_distance;
    if (i == positive_support) signed_distance = margin;
    else if (i == negative_support) signed_distance = -margin;
    else signed_distance = (rng.bernoulli(0.5) ? 1.0 : -1.0) * (margin + std::abs(rng.normal()));
    labels[static_cast<size_t>(i)] = signed_distance > 0 ? 1 : 0;
    for (int64_t c = 0; c < dim; ++c) row[c] += signed_distance * w[c];
  }
  // The pair shares its orthogonal part v: gamma w* + v and -gamma w* + v.
  const double* a = x.data<double>() + positive_support * dim;
  double* b = x.data<double>() + negative_support * dim;
  for (int64_t c = 0; c < dim; ++c) b[c] = a[c] - 2.0 * margin * w[c];
  out.data = {x.astype(dtype), Tensor::from_vector(labels, {n}), 2};
  return out;
}

}  // namespace descent::data
