#pragma once
// Local search (Murphy §6.7.1) and simulated annealing (§6.7.2) over any state type:
// steepest descent with sideways moves, first-choice and stochastic hill climbing, tabu
// search, random restarts, annealing with standard cooling schedules. Murphy writes hill
// *climbing* on a utility; here every problem has a cost to minimize (8-queens: attacking
// pairs), so "ascent" on -cost is "descent" on cost.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <vector>

#include "descent/blackbox/problem.hpp"

namespace descent::blackbox {

template <class State>
struct LocalSearchProblem {
  std::function<double(const State&)> cost;
  // The whole neighbourhood of a state (for steepest descent and tabu search).
  std::function<void(const State&, std::vector<State>&)> neighbours;
  // One uniformly random neighbour (for first-choice search and annealing).
  std::function<State(const State&, Rng&)> random_neighbour;
};

struct LocalSearchOptions {
  int64_t max_steps = 10000;
  int max_sideways = 0;   // consecutive moves to an equal-cost neighbour allowed (RN10 §4.1.1)
  double target = -std::numeric_limits<double>::infinity();  // solved when cost <= target
  int max_tries = 100;    // first-choice: random neighbours tried before giving up
  int tabu_tenure = 10;   // tabu search: how many recent states are forbidden
};

template <class State>
struct LocalSearchResult {
  State state;
  double cost = 0.0;
  int64_t steps = 0;        // moves made
  int64_t evaluations = 0;  // cost evaluations
  bool solved = false;      // cost <= target
};

// Steepest descent (eq. 6.187 on -cost): move to the best neighbour, ties broken uniformly
// at random; stop at a local minimum, or after max_sideways consecutive equal-cost moves.
template <class State>
LocalSearchResult<State> steepest_descent(const LocalSearchProblem<State>& p, State x, const LocalSearchOptions& o,
                                          Rng& rng) {
  LocalSearchResult<State> r;
  double fx = p.cost(x);
  r.evaluations = 1;
  std::vector<State> nb;
  std::vector<size_t> best_idx;
  int sideways = 0;
  while (r.steps < o.max_steps && fx > o.target) {
    nb.clear();
    p.neighbours(x, nb);
    double best = std::numeric_limits<double>::infinity();
    best_idx.clear();
    for (size_t i = 0; i < nb.size(); ++i) {
      const double f = p.cost(nb[i]);
      ++r.evaluations;
      if (f < best) {
        best = f;
        best_idx.assign(1, i);
      } else if (f == best) {
        best_idx.push_back(i);
      }
    }
    if (best_idx.empty() || best > fx) break;
    if (best == fx) {
      if (sideways >= o.max_sideways) break;
      ++sideways;
    } else {
      sideways = 0;
    }
    x = nb[best_idx[rng.below(best_idx.size())]];
    fx = best;
    ++r.steps;
  }
  r.state = std::move(x);
  r.cost = fx;
  r.solved = fx <= o.target;
  return r;
}

// First-choice hill climbing: take the first random neighbour that is better; stop after
// max_tries consecutive non-improving draws.
template <class State>
LocalSearchResult<State> first_choice(const LocalSearchProblem<State>& p, State x, const LocalSearchOptions& o, Rng& rng) {
  LocalSearchResult<State> r;
  double fx = p.cost(x);
  r.evaluations = 1;
  int fails = 0;
  while (r.steps < o.max_steps && fx > o.target && fails < o.max_tries) {
    State y = p.random_neighbour(x, rng);
    const double fy = p.cost(y);
    ++r.evaluations;
    if (fy < fx) {
      x = std::move(y);
      fx = fy;
      ++r.steps;
      fails = 0;
    } else {
      ++fails;
    }
  }
  r.state = std::move(x);
  r.cost = fx;
  r.solved = fx <= o.target;
  return r;
}

// Stochastic hill climbing: among improving neighbours, pick one with probability
// proportional to its improvement (Murphy §6.7.1).
template <class State>
LocalSearchResult<State> stochastic_hill_climbing(const LocalSearchProblem<State>& p, State x,
                                                  const LocalSearchOptions& o, Rng& rng) {
  LocalSearchResult<State> r;
  double fx = p.cost(x);
  r.evaluations = 1;
  std::vector<State> nb;
  std::vector<double> gain;
  while (r.steps < o.max_steps && fx > o.target) {
    nb.clear();
    p.neighbours(x, nb);
    gain.assign(nb.size(), 0.0);
    double total = 0.0;
    for (size_t i = 0; i < nb.size(); ++i) {
      gain[i] = std::max(0.0, fx - p.cost(nb[i]));
      total += gain[i];
      ++r.evaluations;
    }
    if (total <= 0.0) break;
    double u = rng.uniform() * total;
    size_t pick = 0;
    while (pick + 1 < nb.size() && (u -= gain[pick]) > 0.0) ++pick;
    while (gain[pick] == 0.0) --pick;  // never land on a zero-gain move
    fx -= gain[pick];
    x = nb[pick];
    ++r.steps;
  }
  r.state = std::move(x);
  r.cost = fx;
  r.solved = fx <= o.target;
  return r;
}

// Tabu search (Glover & Laguna 1997): move to the best neighbour not among the last
// `tabu_tenure` states, even when it is worse; keep the best state seen.
template <class State>
LocalSearchResult<State> tabu_search(const LocalSearchProblem<State>& p, State x, const LocalSearchOptions& o, Rng& rng) {
  LocalSearchResult<State> r;
  double fx = p.cost(x);
  r.evaluations = 1;
  r.state = x;
  r.cost = fx;
  std::deque<State> tabu{x};
  std::vector<State> nb;
  std::vector<size_t> best_idx;
  while (r.steps < o.max_steps && r.cost > o.target) {
    nb.clear();
    p.neighbours(x, nb);
    double best = std::numeric_limits<double>::infinity();
    best_idx.clear();
    for (size_t i = 0; i < nb.size(); ++i) {
      if (std::find(tabu.begin(), tabu.end(), nb[i]) != tabu.end()) continue;
      const double f = p.cost(nb[i]);
      ++r.evaluations;
      if (f < best) {
        best = f;
        best_idx.assign(1, i);
      } else if (f == best) {
        best_idx.push_back(i);
      }
    }
    if (best_idx.empty()) break;
    x = nb[best_idx[rng.below(best_idx.size())]];
    fx = best;
    ++r.steps;
    tabu.push_back(x);
    if (static_cast<int>(tabu.size()) > o.tabu_tenure) tabu.pop_front();
    if (fx < r.cost) {
      r.cost = fx;
      r.state = x;
    }
  }
  r.solved = r.cost <= o.target;
  return r;
}

// Random-restart wrapper: runs `search` from fresh random states until solved or out of
// restarts. Returns the last run, with steps and evaluations summed over all runs.
template <class State>
LocalSearchResult<State> random_restarts(
    const std::function<State(Rng&)>& random_state,
    const std::function<LocalSearchResult<State>(State, Rng&)>& search, int max_restarts, Rng& rng,
    int* restarts_used = nullptr) {
  LocalSearchResult<State> total;
  for (int k = 0; k <= max_restarts; ++k) {
    auto r = search(random_state(rng), rng);
    r.steps += total.steps;
    r.evaluations += total.evaluations;
    total = std::move(r);
    if (restarts_used) *restarts_used = k;
    if (total.solved) break;
  }
  return total;
}

// Cooling schedules T_t for simulated annealing.
struct CoolingSchedule {
  enum class Kind { geometric, linear, logarithmic, inverse } kind = Kind::geometric;
  double initial_temperature = 1.0;
  double rate = 0.995;      // geometric: T0 rate^t; linear: T0 max(0, 1 - t rate); inverse: T0/(1 + rate t)
  double temperature(int64_t t) const {
    switch (kind) {
      case Kind::geometric: return initial_temperature * std::pow(rate, double(t));
      case Kind::linear: return initial_temperature * std::max(0.0, 1.0 - rate * double(t));
      case Kind::logarithmic: return initial_temperature / std::log(double(t) + 2.0);  // Geman & Geman
      case Kind::inverse: return initial_temperature / (1.0 + rate * double(t));
    }
    return initial_temperature;
  }
};

// Simulated annealing: Metropolis acceptance of a random neighbour with probability
// min(1, exp(-(E(x') - E(x)) / T_t)) (spec §6.7.2 [EXT]); keeps the best state seen.
template <class State>
LocalSearchResult<State> simulated_annealing(const LocalSearchProblem<State>& p, State x, const CoolingSchedule& s,
                                             const LocalSearchOptions& o, Rng& rng) {
  LocalSearchResult<State> r;
  double fx = p.cost(x);
  r.evaluations = 1;
  r.state = x;
  r.cost = fx;
  for (int64_t t = 0; t < o.max_steps && r.cost > o.target; ++t) {
    State y = p.random_neighbour(x, rng);
    const double fy = p.cost(y);
    ++r.evaluations;
    const double T = s.temperature(t);
    if (fy <= fx || (T > 0 && rng.uniform() < std::exp(-(fy - fx) / T))) {
      x = std::move(y);
      fx = fy;
      ++r.steps;
      if (fx < r.cost) {
        r.cost = fx;
        r.state = x;
      }
    }
  }
  r.solved = r.cost <= o.target;
  return r;
}

// Ready-made problems.
// n-queens, one queen per column: cost = attacking pairs; neighbours move one queen within
// its column (n (n - 1) of them).
LocalSearchProblem<std::vector<int>> n_queens_problem(int n);
std::vector<int> random_queens(int n, Rng& rng);
// Bit strings with a cost; neighbours flip one bit.
LocalSearchProblem<std::vector<uint8_t>> bit_string_problem(std::function<double(const std::vector<uint8_t>&)> cost);
// Continuous: neighbours are +-step along each axis (clipped to the box); a random
// neighbour is a Gaussian step of scale `step` per coordinate, clipped.
LocalSearchProblem<Vector> continuous_problem(Function f, Bounds bounds, double step);

}  // namespace descent::blackbox
