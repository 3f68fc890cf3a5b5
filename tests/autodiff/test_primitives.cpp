// Every primitive, in float64: gradients against central finite differences (max relative
// error ≤ 1e-6), the adjoint identity ⟨u, J v⟩ = ⟨Jᵀ u, v⟩ to 1e-10, and second order
// (both HVP modes against finite differences of gradients).
#include <functional>

#include "helpers.hpp"

using namespace descent;
using namespace descent::testing;

namespace {

struct Case {
  std::string name;
  Function f;
  std::vector<Tensor> x;
};

std::vector<Case> cases() {
  std::vector<Case> c;
  auto unary = [&](std::string name, std::function<Var(const Var&)> op, Tensor x) {
    c.push_back({std::move(name), [op](const VarList& v) { return op(v[0]); }, {std::move(x)}});
  };
  auto binary = [&](std::string name, std::function<Var(const Var&, const Var&)> op, Tensor a, Tensor b) {
    c.push_back({std::move(name), [op](const VarList& v) { return op(v[0], v[1]); }, {std::move(a), std::move(b)}});
  };
  const Shape s{3, 4};
  // element-wise, one input
  unary("neg", [](const Var& x) { return neg(x); }, uniform(s, -2, 2, 1));
  unary("exp", [](const Var& x) { return exp(x); }, uniform(s, -2, 2, 2));
  unary("log", [](const Var& x) { return log(x); }, uniform(s, 0.2, 3, 3));
  unary("sqrt", [](const Var& x) { return sqrt(x); }, uniform(s, 0.2, 3, 4));
  unary("abs", [](const Var& x) { return abs(x); }, away_from_zero(s, 5));
  unary("tanh", [](const Var& x) { return tanh(x); }, uniform(s, -2, 2, 6));
  unary("sigmoid", [](const Var& x) { return sigmoid(x); }, uniform(s, -3, 3, 7));
  unary("relu", [](const Var& x) { return relu(x); }, away_from_zero(s, 8));
  unary("softplus", [](const Var& x) { return softplus(x); }, uniform(s, -3, 3, 9));
  unary("erf", [](const Var& x) { return erf(x); }, uniform(s, -2, 2, 10));
  unary("square", [](const Var& x) { return square(x); }, uniform(s, -2, 2, 11));
  unary("pow_2.5", [](const Var& x) { return pow(x, 2.5); }, uniform(s, 0.2, 2, 12));
  unary("pow_-1.5", [](const Var& x) { return pow(x, -1.5); }, uniform(s, 0.3, 2, 13));
  unary("pow_3", [](const Var& x) { return pow(x, 3.0); }, uniform(s, -2, 2, 14));
  unary("add_scalar", [](const Var& x) { return x + 1.5; }, uniform(s, -2, 2, 15));
  unary("mul_scalar", [](const Var& x) { return x * -0.7; }, uniform(s, -2, 2, 16));
  unary("clamp", [](const Var& x) { return clamp(x, -0.5, 0.5); }, [] {
    Tensor t = away_from_zero({3, 4}, 17, 0.1, 1.0);
    for (int64_t i = 0; i < t.numel(); ++i)  // keep away from the bounds ±0.5
      if (std::abs(std::abs(t.at(i)) - 0.5) < 0.05) t.set(i, t.at(i) * 0.5);
    return t;
  }());
  // element-wise, two inputs, broadcasting
  binary("add", [](const Var& a, const Var& b) { return a + b; }, uniform(s, -2, 2, 20), uniform({4}, -2, 2, 21));
  binary("sub", [](const Var& a, const Var& b) { return a - b; }, uniform({3, 1}, -2, 2, 22), uniform({1, 4}, -2, 2, 23));
  binary("mul", [](const Var& a, const Var& b) { return a * b; }, uniform(s, -2, 2, 24), uniform({3, 1}, -2, 2, 25));
  binary("div", [](const Var& a, const Var& b) { return a / b; }, uniform(s, -2, 2, 26), uniform({4}, 0.5, 2, 27));
  binary("pow", [](const Var& a, const Var& b) { return pow(a, b); }, uniform(s, 0.3, 2, 28), uniform(s, -1.5, 2, 29));
  binary("maximum", [](const Var& a, const Var& b) { return maximum(a, b); }, distinct(s, 30),
         add(distinct(s, 31), 0.05));
  binary("minimum", [](const Var& a, const Var& b) { return minimum(a, b); }, distinct(s, 32),
         add(distinct(s, 33), 0.05));
  binary("where", [](const Var& a, const Var& b) {
    return where(greater(Tensor::from_vector(std::vector<double>{1, -1, 1, -1}, {4}), 0.0), a, b);
  }, uniform(s, -2, 2, 34), uniform({3, 1}, -2, 2, 35));
  // linear algebra
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      binary(fmt::format("matmul_{}{}", ta, tb), [ta, tb](const Var& a, const Var& b) { return matmul(a, b, ta, tb); },
             uniform(ta ? Shape{4, 3} : Shape{3, 4}, -1, 1, 40 + 2 * ta + tb),
             uniform(tb ? Shape{5, 4} : Shape{4, 5}, -1, 1, 50 + 2 * ta + tb));
  binary("matmul_batched", [](const Var& a, const Var& b) { return matmul(a, b, false, true); },
         uniform({2, 3, 4}, -1, 1, 60), uniform({2, 5, 4}, -1, 1, 61));
  binary("matmul_fold", [](const Var& a, const Var& b) { return matmul(a, b); }, uniform({2, 3, 4}, -1, 1, 62),
         uniform({4, 2}, -1, 1, 63));
  unary("transpose", [](const Var& x) { return transpose(x); }, uniform({2, 3, 4}, -1, 1, 64));
  unary("permute", [](const Var& x) { return permute(x, {2, 0, 1}); }, uniform({2, 3, 4}, -1, 1, 65));
  // shape
  unary("reshape", [](const Var& x) { return reshape(x, Shape{4, -1}); }, uniform(s, -1, 1, 70));
  unary("broadcast_to", [](const Var& x) { return broadcast_to(x, Shape{2, 3, 4}); }, uniform({3, 1}, -1, 1, 71));
  unary("sum_to", [](const Var& x) { return sum_to(x, Shape{3, 1}); }, uniform({2, 3, 4}, -1, 1, 72));
  // reductions
  unary("sum_all", [](const Var& x) { return sum(x); }, uniform(s, -1, 1, 80));
  unary("sum_axis", [](const Var& x) { return sum(x, {0, 2}); }, uniform({2, 3, 4}, -1, 1, 81));
  unary("sum_keepdims", [](const Var& x) { return sum(x, {1}, true); }, uniform({2, 3, 4}, -1, 1, 82));
  unary("mean", [](const Var& x) { return mean(x, {-1}); }, uniform({2, 3, 4}, -1, 1, 83));
  unary("max_all", [](const Var& x) { return max(x); }, distinct(s, 84));
  unary("max_axis", [](const Var& x) { return max(x, {1}, true); }, distinct({2, 3, 4}, 85));
  unary("logsumexp", [](const Var& x) { return logsumexp(x, 1); }, uniform({2, 3, 4}, -2, 2, 86));
  unary("logsumexp_keep", [](const Var& x) { return logsumexp(x, -1, true); }, uniform(s, -2, 2, 87));
  unary("softmax", [](const Var& x) { return softmax(x, -1); }, uniform(s, -2, 2, 88));
  unary("softmax_axis0", [](const Var& x) { return softmax(x, 0); }, uniform({3, 2, 2}, -2, 2, 89));
  unary("log_softmax", [](const Var& x) { return log_softmax(x, -1); }, uniform(s, -2, 2, 90));
  unary("log_softmax_axis1", [](const Var& x) { return log_softmax(x, 1); }, uniform({2, 3, 2}, -2, 2, 91));
  // indexing
  unary("slice", [](const Var& x) { return slice(x, 1, 1, 4, 2); }, uniform(s, -1, 1, 100));
  unary("slice_scatter", [](const Var& x) { return slice_scatter(x, Shape{3, 7}, 1, 1, 3); },
        uniform({3, 2}, -1, 1, 101));
  binary("concat", [](const Var& a, const Var& b) { return concat({a, b, a}, 1); }, uniform({2, 3}, -1, 1, 102),
         uniform({2, 1}, -1, 1, 103));
  unary("gather", [](const Var& x) { return gather(x, 1, index_tensor({0, 3, 3, 1, 2, 2}, {3, 2})); },
        uniform(s, -1, 1, 104));
  unary("scatter_add", [](const Var& x) {
    return scatter_add(x, Shape{3, 4}, 1, index_tensor({0, 3, 3, 1, 2, 2}, {3, 2}));
  }, uniform({3, 2}, -1, 1, 105));
  unary("index_select", [](const Var& x) { return index_select(x, 0, index_tensor({2, 0, 2}, {3})); },
        uniform(s, -1, 1, 106));
  unary("index_add", [](const Var& x) { return index_add(x, Shape{4, 3}, 1, index_tensor({2, 0, 2, 1}, {4})); },
        uniform({4, 4}, -1, 1, 107));
  // convolution pieces
  unary("im2col", [](const Var& x) { return im2col(x, Window2d{3, 2, 1, 2, 1, 1}); }, uniform({2, 2, 4, 5}, -1, 1, 110));
  unary("col2im", [](const Var& x) { return col2im(x, Shape{1, 2, 4, 4}, Window2d{2, 2, 2, 2, 0, 0}); },
        uniform({1, 8, 4}, -1, 1, 111));
  unary("max_pool2d", [](const Var& x) { return max_pool2d(x, Window2d{2, 2, 2, 2, 1, 1}); }, distinct({2, 1, 4, 5}, 112));
  unary("avg_pool2d", [](const Var& x) { return avg_pool2d(x, Window2d{2, 3, 1, 2, 1, 1}); },
        uniform({1, 2, 4, 5}, -1, 1, 113));
  return c;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class Primitive : public ::testing::TestWithParam<Case> {};

TEST_P(Primitive, GradientMatchesFiniteDifferences) { expect_gradients(GetParam().f, GetParam().x); }
TEST_P(Primitive, AdjointIdentity) { expect_adjoint(GetParam().f, GetParam().x); }
TEST_P(Primitive, SecondOrder) { expect_second_order(GetParam().f, GetParam().x); }

INSTANTIATE_TEST_SUITE_P(All, Primitive, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string n = info.param.name;
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

}  // namespace
