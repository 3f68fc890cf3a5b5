// NaN propagates through every primitive as in IEEE arithmetic and PyTorch (issue: relu mapped
// NaN to 0, so a model with Inf weights reported a finite loss). Values and gradients at NaN,
// ±inf and finite points are compared with PyTorch's (tests/autodiff/nan_peer.py), element by
// element, NaN matching NaN. Where descent's derivative rule differs from PyTorch's on
// purpose, the test says so and checks descent's rule.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "common/peer.hpp"
#include "descent/autodiff/autodiff.hpp"
#include "descent/core/ops.hpp"

using namespace descent;

namespace {

const std::vector<double> kX = {NAN, 1.5, -2.0, 0.0, INFINITY, -INFINITY};
const std::vector<double> kOther = {0.5, NAN, -3.0, 0.0, 1.0, NAN};

double decode(const nlohmann::json& v) {
  if (!v.is_string()) return v.get<double>();
  return v == "nan" ? NAN : v == "inf" ? INFINITY : -INFINITY;
}

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b || std::abs(a - b) <= 1e-15 * std::abs(b); }

TEST(NanPropagation, ValuesAndGradientsAgreeWithPyTorch) {
  DESCENT_RUN_PEER_SCRIPT(out, "torch", "tests/autodiff/nan_peer.py");
  const nlohmann::json peer = nlohmann::json::parse(out);
  const Tensor x = Tensor::from_vector(kX, {6});
  const Tensor y = Tensor::from_vector(kOther, {6});
  const std::map<std::string, std::function<Var(const Var&)>> ops = {
      {"relu", [](const Var& v) { return relu(v); }},
      {"abs", [](const Var& v) { return abs(v); }},
      {"clamp", [](const Var& v) { return clamp(v, -1.0, 1.0); }},
      {"maximum", [&](const Var& v) { return maximum(v, Var(y)); }},
      {"minimum", [&](const Var& v) { return minimum(v, Var(y)); }},
      {"tanh", [](const Var& v) { return tanh(v); }},
      {"sigmoid", [](const Var& v) { return sigmoid(v); }},
      {"softplus", [](const Var& v) { return softplus(v); }},
      {"exp", [](const Var& v) { return exp(v); }},
      {"square", [](const Var& v) { return square(v); }},
  };
  for (const auto& [name, op] : ops) {
    SCOPED_TRACE(name);
    Tensor value;
    const auto g = grad(
        [&](const VarList& p) {
          Var v = op(p[0]);
          value = v.value();
          return sum(v);
        },
        {x});
    const auto& want = peer.at(name);
    for (size_t i = 0; i < kX.size(); ++i) {
      EXPECT_TRUE(same(value.at(int64_t(i)), decode(want["value"][i])))
          << "value at " << kX[i] << ": " << value.at(int64_t(i)) << " vs torch " << want["value"][i];
      const double ours = g[0].at(int64_t(i)), torch = decode(want["grad"][i]);
      const bool x_nan = std::isnan(kX[i]), y_nan = std::isnan(kOther[i]);
      if (name == "abs" && x_nan) {
        // descent: d|x| = sign(x) = NaN at NaN (torch gives 0): a NaN input never yields a finite step.
        EXPECT_TRUE(std::isnan(ours));
      } else if ((name == "maximum" || name == "minimum") && (x_nan || y_nan || kX[i] == kOther[i])) {
        // descent routes the gradient to the selected operand: the NaN one, or the first at a tie
        // (torch splits ties in halves and passes x's gradient past a NaN y).
        EXPECT_EQ(ours, x_nan || (!y_nan && kX[i] == kOther[i]) ? 1.0 : 0.0) << "at " << kX[i];
      } else {
        EXPECT_TRUE(same(ours, torch)) << "gradient at " << kX[i] << ": " << ours << " vs torch " << torch;
      }
    }
  }
}

TEST(NanPropagation, ReductionsArgmaxAndSignKeepTheNan) {
  const Tensor x = Tensor::from_vector(std::vector<double>{1.0, NAN, 3.0, -1.0}, {2, 2});
  EXPECT_TRUE(std::isnan(max(x).item()));
  EXPECT_TRUE(std::isnan(min(x).item()));
  EXPECT_TRUE(std::isnan(max(x, {1}).at(0)));
  EXPECT_EQ(max(x, {1}).at(1), 3.0);
  EXPECT_TRUE(std::isnan(logsumexp(x, 1).at(0)));
  EXPECT_TRUE(std::isnan(log_softmax(x, 1).at(0)));
  EXPECT_EQ(argmax(x, 1).at(0), 1.0);  // the NaN, as torch.argmax
  EXPECT_EQ(argmax(Tensor::from_vector(std::vector<double>{NAN, 5.0}, {1, 2}), 1).at(0), 0.0);
  EXPECT_TRUE(std::isnan(sign(x).at(1)));  // IEEE / NumPy (torch.sign gives 0)
  EXPECT_EQ(sign(x).at(3), -1.0);
  const Tensor mask = isnan(x);
  EXPECT_EQ(mask.at(1), 1.0);
  EXPECT_EQ(mask.at(0), 0.0);
  EXPECT_TRUE(std::isnan(relu(x).at(1)));
  EXPECT_TRUE(std::isnan(maximum(Tensor::scalar(2.0, DType::f64), x).at(1)));
  EXPECT_TRUE(std::isnan(minimum(Tensor::scalar(2.0, DType::f64), x).at(1)));
  EXPECT_TRUE(std::isnan(clamp(x, 0, 1).at(1)));
  // float32 too.
  const Tensor xf = x.astype(DType::f32);
  EXPECT_TRUE(std::isnan(relu(xf).at(1)));
  EXPECT_TRUE(std::isnan(maximum(xf, xf).at(1)));
}

}  // namespace
