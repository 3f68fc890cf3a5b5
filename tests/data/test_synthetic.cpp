// Synthetic generators have the properties their documentation states.
#include <gtest/gtest.h>

#include <cmath>

#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/data/synthetic.hpp"

using namespace descent;
using namespace descent::data;

namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

double margin_along(const SeparableData& s, const std::vector<double>& u) {
  const int64_t n = s.data.size(), d = s.data.inputs.dim(1);
  double m = INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    double dot = 0;
    for (int64_t c = 0; c < d; ++c) dot += u[static_cast<size_t>(c)] * s.data.inputs.at(i * d + c);
    m = std::min(m, (2.0 * s.data.targets.at(i) - 1.0) * dot);
  }
  return m;
}

}  // namespace

TEST(TeacherStudent, LabelsAreTheTeachersArgmaxAndSeedsReproduce) {
  TeacherStudentOptions o{.num_examples = 500, .input_dim = 8, .hidden_widths = {16, 16},
                          .num_classes = 4, .activation = TeacherActivation::relu,
                          .dtype = DType::f64, .seed = 5};
  const TeacherStudentData t = teacher_student(o);
  validate_dataset(t.data, "teacher");
  EXPECT_EQ(t.teacher.weights.size(), 3u);
  const Tensor recomputed = argmax(t.teacher.forward(t.data.inputs), 1);
  EXPECT_TRUE(same_bits(recomputed, t.data.targets));
  std::vector<int64_t> counts(4, 0);
  for (int64_t i = 0; i < 500; ++i) ++counts[static_cast<size_t>(t.data.targets.at(i))];
  EXPECT_EQ(std::count(counts.begin(), counts.end(), 0), 0) << "a degenerate teacher uses one class";
  EXPECT_TRUE(same_bits(teacher_student(o).data.inputs, t.data.inputs));
  o.seed = 6;
  EXPECT_FALSE(same_bits(teacher_student(o).data.inputs, t.data.inputs));
}

TEST(TeacherStudent, RegressionTargetsAreTeacherOutputsPlusNoise) {
  const TeacherStudentOptions clean{.num_examples = 300, .input_dim = 5, .output_dim = 2,
                                    .dtype = DType::f64, .seed = 1};
  const TeacherStudentData t = teacher_student(clean);
  EXPECT_EQ(t.data.targets.shape(), Shape({300, 2}));
  EXPECT_LT(max_relative_difference(t.teacher.forward(t.data.inputs), t.data.targets), 1e-12);
  TeacherStudentOptions noisy = clean;
  noisy.noise_stddev = 0.5;
  const TeacherStudentData u = teacher_student(noisy);
  const Tensor residual = sub(u.data.targets, u.teacher.forward(u.data.inputs));
  const double sd = std::sqrt(sum_all(square(residual)) / 600.0);
  EXPECT_NEAR(sd, 0.5, 0.05);
}

TEST(OverparameterizedRegression, HasFewerExamplesThanDimensionsAndExactTargets) {
  const LinearRegressionData r = overparameterized_linear_regression(20, 100, 0.0, 3, DType::f64);
  EXPECT_EQ(r.data.inputs.shape(), Shape({20, 100}));
  EXPECT_EQ(r.true_weights.shape(), Shape({100}));
  const Tensor y = matmul(r.data.inputs, r.true_weights.reshape({100, 1})).reshape({20});
  EXPECT_LT(max_relative_difference(y, r.data.targets), 1e-12);
  EXPECT_NEAR(norm(r.true_weights), 1.0, 0.25);  // w* ~ N(0, I/d)
  EXPECT_THROW(overparameterized_linear_regression(100, 100, 0.0, 3), InputError);
}

TEST(GaussianMixture, BalancedClassesAroundMeansASeparationApart) {
  const double separation = 6.0, stddev = 0.5;
  const GaussianMixtureData g = gaussian_mixture(3000, 5, 3, separation, stddev, 2, DType::f64);
  validate_dataset(g.data, "mixture");
  for (int a = 0; a < 3; ++a)
    for (int b = a + 1; b < 3; ++b) {
      double d2 = 0;
      for (int c = 0; c < 5; ++c) d2 += std::pow(g.means.at(a * 5 + c) - g.means.at(b * 5 + c), 2);
      EXPECT_NEAR(std::sqrt(d2), separation, 1e-12);
    }
  std::vector<double> count(3, 0), sum(15, 0);
  for (int64_t i = 0; i < 3000; ++i) {
    const auto k = static_cast<size_t>(g.data.targets.at(i));
    ++count[k];
    for (int c = 0; c < 5; ++c) sum[k * 5 + static_cast<size_t>(c)] += g.data.inputs.at(i * 5 + c);
  }
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(count[k], 1000);
    for (size_t c = 0; c < 5; ++c)  // 5 standard errors of the class mean
      EXPECT_NEAR(sum[k * 5 + c] / 1000, g.means.at(static_cast<int64_t>(k * 5 + c)), 5 * stddev / std::sqrt(1000.0));
  }
}

TEST(TwoMoons, NoiselessPointsLieOnTheirHalfCircles) {
  const Dataset d = two_moons(201, 0.0, 4, DType::f64);
  int64_t ones = 0;
  for (int64_t i = 0; i < 201; ++i) {
    const double x = d.inputs.at(2 * i), y = d.inputs.at(2 * i + 1);
    if (d.targets.at(i) == 0) {
      EXPECT_NEAR(x * x + y * y, 1.0, 1e-12);
      EXPECT_GE(y, -1e-12);
    } else {
      ++ones;
      EXPECT_NEAR((x - 1) * (x - 1) + (y - 0.5) * (y - 0.5), 1.0, 1e-12);
      EXPECT_LE(y, 0.5 + 1e-12);
    }
  }
  EXPECT_EQ(ones, 101);  // scikit-learn's split: n // 2 outer, the rest inner
  double inner_among_first_hundred = 0;
  for (int64_t i = 0; i < 100; ++i) inner_among_first_hundred += d.targets.at(i);
  EXPECT_GT(inner_among_first_hundred, 25) << "rows are shuffled, not all outer moon first";
}

TEST(LinearlySeparable, DirectionIsTheMaxMarginSeparatorWithMarginGamma) {
  const double gamma = 0.3;
  const SeparableData s = linearly_separable(400, 10, gamma, 8, DType::f64);
  validate_dataset(s.data, "separable");
  EXPECT_NEAR(norm(s.direction), 1.0, 1e-12);
  std::vector<double> w = s.direction.to_vector();
  EXPECT_NEAR(margin_along(s, w), gamma, 1e-12) << "the margin along w* is exactly gamma";
  // Any other unit direction does worse: w* is the max-margin direction.
  Rng rng(1);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> u = w;
    double nu = 0;
    for (double& c : u) c += 0.05 * rng.normal(), nu += c * c;
    for (double& c : u) c /= std::sqrt(nu);
    EXPECT_LT(margin_along(s, u), gamma);
  }
  int64_t positives = 0;
  for (int64_t i = 0; i < 400; ++i) positives += s.data.targets.at(i) == 1;
  EXPECT_GT(positives, 150);
  EXPECT_LT(positives, 250);
}
