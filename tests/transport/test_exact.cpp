// Assignment and exact OT: brute force, the Birkhoff identity, LP optimality conditions,
// and refusal of bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "descent/core/error.hpp"
#include "descent/core/ops.hpp"
#include "descent/core/rng.hpp"
#include "descent/transport/assignment.hpp"
#include "descent/transport/cost.hpp"
#include "descent/transport/exact.hpp"

using namespace descent;
using namespace descent::transport;

namespace {

Tensor random_weights(Rng& rng, int64_t n, double total = 1.0) {
  Tensor w = rng.uniform_tensor({n}, DType::f64, 0.1, 1.0);
  return mul(w, total / sum_all(w));
}

// Murphy §6.8 (6.191) by enumerating all n! permutations.
double brute_force_assignment(const Tensor& C) {
  const int64_t n = C.dim(0);
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  double best = INFINITY;
  do {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += C.at(i * n + perm[i]);
    best = std::min(best, s);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

// Feasibility, dual feasibility and complementary slackness of an LP solution.
void expect_optimal(const ExactResult& r, const Tensor& a, const Tensor& b, const Tensor& C, double tol) {
  const int64_t n = C.dim(0), m = C.dim(1);
  const Tensor rows = sum(r.plan, {1}), cols = sum(r.plan, {0});
  for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(rows.at(i), a.at(i), tol);
  for (int64_t j = 0; j < m; ++j) EXPECT_NEAR(cols.at(j), b.at(j), tol);
  int64_t support = 0;
  double worst_violation = 0, worst_slack = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      const double p = r.plan.at(i * m + j), reduced = C.at(i * m + j) - r.f.at(i) - r.g.at(j);
      EXPECT_GE(p, 0.0);
      worst_violation = std::max(worst_violation, -reduced);
      if (p > 0) {
        ++support;
        worst_slack = std::max(worst_slack, std::abs(reduced));
      }
    }
  EXPECT_LE(worst_violation, tol) << "dual infeasible: f_i + g_j > C_ij";
  EXPECT_LE(worst_slack, tol) << "complementary slackness fails where P_ij > 0";
  EXPECT_LE(support, n + m - 1) << "a basic solution has at most n + m - 1 nonzeros";
  EXPECT_NEAR(dot(r.f, a) + dot(r.g, b), r.cost, tol) << "no duality gap";
  EXPECT_NEAR(dot(r.plan, C), r.cost, tol);
}

}  // namespace

TEST(Assignment, EqualsBruteForceForSmallN) {
  Rng rng(1);
  for (int64_t n = 1; n <= 8; ++n)
    for (int rep = 0; rep < 5; ++rep) {
      const Tensor C = rng.uniform_tensor({n, n}, DType::f64, 0.0, 10.0);
      const Assignment s = linear_assignment(C);
      EXPECT_NEAR(s.cost, brute_force_assignment(C), 1e-12) << "n = " << n;
      std::vector<int64_t> cols = s.col_of_row;
      std::sort(cols.begin(), cols.end());
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(cols[i], i) << "not a permutation";
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          EXPECT_LE(s.u[i] + s.v[j], C.at(i * n + j) + 1e-12);
          if (s.col_of_row[i] == j) { EXPECT_NEAR(s.u[i] + s.v[j], C.at(i * n + j), 1e-12); }
        }
      }
    }
}

TEST(Assignment, RectangularBothWays) {
  Rng rng(2);
  const Tensor C = rng.uniform_tensor({4, 7}, DType::f64);
  const Assignment wide = linear_assignment(C), tall = linear_assignment(transpose(C));
  EXPECT_NEAR(wide.cost, tall.cost, 1e-12);
  int64_t unassigned = 0;
  for (int64_t c : tall.col_of_row) unassigned += c < 0;
  EXPECT_EQ(unassigned, 3);
  // Brute force over injections of 4 rows into 7 columns.
  std::vector<int64_t> cols(7);
  std::iota(cols.begin(), cols.end(), 0);
  double best = INFINITY;
  do {
    double s = 0;
    for (int i = 0; i < 4; ++i) s += C.at(i * 7 + cols[i]);
    best = std::min(best, s);
  } while (std::next_permutation(cols.begin(), cols.end()));
  EXPECT_NEAR(wide.cost, best, 1e-12);
}

TEST(ExactOT, UniformWeightsEqualAssignmentOverN) {
  // Birkhoff: with a = b = 1/n the LP has a permutation matrix / n among its optima.
  Rng rng(3);
  for (int64_t n : {1, 2, 5, 30, 120}) {
    const Tensor x = rng.normal_tensor({n, 2}, DType::f64), y = rng.normal_tensor({n, 2}, DType::f64, 1.0);
    const Tensor C = cost_matrix(x, y);
    const ExactResult lp = exact_ot(Tensor(), Tensor(), C);
    EXPECT_TRUE(lp.converged);
    EXPECT_NEAR(lp.cost, linear_assignment(C).cost / double(n), 1e-12) << "n = " << n;
    const Tensor u = Tensor::full({n}, 1.0 / double(n), DType::f64);
    expect_optimal(lp, u, u, C, 1e-12);
  }
}

TEST(ExactOT, WeightedProblemsSatisfyOptimalityConditions) {
  Rng rng(4);
  for (auto [n, m] : std::vector<std::pair<int64_t, int64_t>>{{1, 6}, {6, 1}, {7, 13}, {40, 25}, {200, 300}}) {
    const Tensor a = random_weights(rng, n, 3.0), b = random_weights(rng, m, 3.0);
    const Tensor C = rng.uniform_tensor({n, m}, DType::f64, -1.0, 5.0);  // negative costs are fine
    const ExactResult r = exact_ot(a, b, C);
    EXPECT_TRUE(r.converged);
    expect_optimal(r, a, b, C, 1e-10);
  }
}

TEST(ExactOT, DegenerateAndZeroWeights) {
  // Integer costs and equal weights give many ties; zero weights leave points unused.
  Rng rng(5);
  const int64_t n = 30;
  Tensor C = Tensor::empty({n, n}, DType::f64);
  for (int64_t k = 0; k < n * n; ++k) C.set(k, double(rng.below(4)));
  Tensor a = Tensor::full({n}, 1.0, DType::f64), b = Tensor::full({n}, 1.0, DType::f64);
  a.set(3, 0.0);
  a.set(4, 2.0);
  b.set(0, 0.0);
  b.set(1, 2.0);
  const ExactResult r = exact_ot(a, b, C);
  expect_optimal(r, a, b, C, 1e-10);
  for (int64_t j = 0; j < n; ++j) EXPECT_EQ(r.plan.at(3 * n + j), 0.0);
}

TEST(ExactOT, RefusesBadInput) {
  const Tensor C = Tensor::ones({2, 3}, DType::f64);
  const Tensor a = Tensor::from_vector(std::vector<double>{0.5, 0.5}, {2});
  const Tensor b = Tensor::from_vector(std::vector<double>{0.2, 0.2, 0.2}, {3});
  try {
    exact_ot(a, b, C);
    FAIL() << "unbalanced marginals accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("differ by 0.4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(exact_ot(Tensor::from_vector(std::vector<double>{1.5, -0.5}, {2}), Tensor(), C), InputError);
  Tensor bad = C.clone();
  bad.set(4, NAN);
  EXPECT_THROW(exact_ot(Tensor(), Tensor(), bad), InputError);
  bad.set(4, INFINITY);
  EXPECT_THROW(exact_ot(Tensor(), Tensor(), bad), InputError);
  EXPECT_THROW(exact_ot(Tensor(), Tensor(), Tensor::zeros({0, 3}, DType::f64)), InputError);
  EXPECT_THROW(exact_ot(a, Tensor(), Tensor::ones({3, 3}, DType::f64)), InputError);
  EXPECT_THROW(linear_assignment(bad), InputError);
  EXPECT_THROW(linear_assignment(Tensor::zeros({0, 0}, DType::f64)), InputError);
  EXPECT_THROW(cost_matrix(Tensor::zeros({0, 2}, DType::f64), Tensor::ones({3, 2}, DType::f64)), InputError);
  EXPECT_THROW(cost_matrix(Tensor::ones({2, 2}, DType::f64), Tensor::ones({3, 3}, DType::f64)), InputError);
}
