#include "descent/blackbox/local_search.hpp"

#include "descent/blackbox/functions.hpp"
#include "descent/core/error.hpp"

namespace descent::blackbox {

LocalSearchProblem<std::vector<int>> n_queens_problem(int n) {
  DESCENT_CHECK(n >= 1, InputError, "n-queens: n must be >= 1, got {}", n);
  LocalSearchProblem<std::vector<int>> p;
  p.cost = [](const std::vector<int>& q) { return double(queens_attacking_pairs(q)); };
  p.neighbours = [n](const std::vector<int>& q, std::vector<std::vector<int>>& out) {
    for (int c = 0; c < n; ++c)
      for (int row = 0; row < n; ++row)
        if (row != q[c]) {
          out.push_back(q);
          out.back()[c] = row;
        }
  };
  p.random_neighbour = [n](const std::vector<int>& q, Rng& rng) {
    std::vector<int> y = q;
    const int c = static_cast<int>(rng.below(n));
    int row = static_cast<int>(rng.below(n - 1));
    if (row >= q[c]) ++row;
    y[c] = row;
    return y;
  };
  return p;
}

std::vector<int> random_queens(int n, Rng& rng) {
  std::vector<int> q(n);
  for (auto& v : q) v = static_cast<int>(rng.below(n));
  return q;
}

LocalSearchProblem<std::vector<uint8_t>> bit_string_problem(std::function<double(const std::vector<uint8_t>&)> cost) {
  LocalSearchProblem<std::vector<uint8_t>> p;
  p.cost = std::move(cost);
  p.neighbours = [](const std::vector<uint8_t>& b, std::vector<std::vector<uint8_t>>& out) {
    for (size_t i = 0; i < b.size(); ++i) {
      out.push_back(b);
      out.back()[i] ^= 1;
    }
  };
  p.random_neighbour = [](const std::vector<uint8_t>& b, Rng& rng) {
    auto y = b;
    y[rng.below(y.size())] ^= 1;
    return y;
  };
  return p;
}

LocalSearchProblem<Vector> continuous_problem(Function f, Bounds bounds, double step) {
  DESCENT_CHECK(step > 0, InputError, "continuous local search: step must be positive, got {}", step);
  LocalSearchProblem<Vector> p;
  p.cost = [f = std::move(f)](const Vector& x) {
    const Evaluation e = evaluate_one(f, x);
    return e.f;  // failures are +inf: never accepted
  };
  p.neighbours = [bounds, step](const Vector& x, std::vector<Vector>& out) {
    for (Eigen::Index i = 0; i < x.size(); ++i)
      for (double s : {step, -step}) {
        Vector y = x;
        y[i] += s;
        out.push_back(bounds.clip(y));
      }
  };
  p.random_neighbour = [bounds, step](const Vector& x, Rng& rng) {
    Vector y = x;
    for (auto& v : y) v += step * rng.normal();
    return bounds.clip(y);
  };
  return p;
}

}  // namespace descent::blackbox
