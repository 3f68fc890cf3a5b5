// Local search and simulated annealing (Murphy §6.7.1-6.7.2): each rule is checked on a
// tiny problem where what it must do is known exactly (which move, how many sideways
// steps, which acceptance probability), then on 8-queens and a continuous box.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "descent/blackbox/functions.hpp"
#include "descent/blackbox/local_search.hpp"

using namespace descent::blackbox;

namespace {
// States 0..costs.size()-1 on a line; neighbours i-1 and i+1 (only i+1 when forward_only).
LocalSearchProblem<int> line_problem(std::vector<double> costs, bool forward_only = false) {
  LocalSearchProblem<int> p;
  const int n = static_cast<int>(costs.size());
  p.cost = [costs](int i) { return costs[i]; };
  p.neighbours = [n, forward_only](int i, std::vector<int>& out) {
    if (i > 0 && !forward_only) out.push_back(i - 1);
    if (i + 1 < n) out.push_back(i + 1);
  };
  p.random_neighbour = [n, forward_only](int i, descent::Rng& rng) {
    if (forward_only || i == 0) return std::min(i + 1, n - 1);
    if (i + 1 == n) return i - 1;
    return rng.bernoulli(0.5) ? i - 1 : i + 1;
  };
  return p;
}
}  // namespace

TEST(LocalSearch, SteepestDescentStopsAtLocalMinimaOfEightQueens) {
  const auto p = n_queens_problem(8);
  descent::Rng rng(1);
  LocalSearchOptions o;
  o.target = 0;
  std::vector<std::vector<int>> nb;
  int solved = 0;
  for (int t = 0; t < 200; ++t) {
    const auto r = steepest_descent(p, random_queens(8, rng), o, rng);
    // The final state is a local minimum: no neighbour is strictly better.
    nb.clear();
    p.neighbours(r.state, nb);
    EXPECT_EQ(nb.size(), 56u);
    for (const auto& y : nb) EXPECT_GE(p.cost(y), r.cost);
    EXPECT_EQ(r.solved, queens_attacking_pairs(r.state) == 0);
    EXPECT_EQ(r.evaluations, 1 + 56 * (r.steps + (r.solved ? 0 : 1)));  // one scan per move, one more to stop
    solved += r.solved;
  }
  // Plain steepest descent solves about 14% (the full figures are the experiment's).
  EXPECT_GT(solved, 10);
  EXPECT_LT(solved, 50);
}

TEST(LocalSearch, SidewaysMovesCrossAPlateauOfExactlyThatLength) {
  // cost: 5 5 5 5 5 5 0 on a one-way line; from 0 the plateau takes 5 equal-cost moves.
  const auto p = line_problem({5, 5, 5, 5, 5, 5, 0}, true);
  descent::Rng rng(1);
  LocalSearchOptions o;
  o.target = 0;
  for (int k : {0, 4, 5, 6}) {
    o.max_sideways = k;
    const auto r = steepest_descent(p, 0, o, rng);
    EXPECT_EQ(r.solved, k >= 5) << k;
    EXPECT_EQ(r.state, k >= 5 ? 6 : k) << k;
  }
}

TEST(LocalSearch, SteepestBreaksTiesUniformlyAndFirstChoiceTakesAnyImprovement) {
  // From 1, both neighbours cost 0: steepest picks each about half the time.
  const auto p = line_problem({0, 3, 0});
  descent::Rng rng(2);
  LocalSearchOptions o;
  int left = 0;
  const int runs = 4000;
  for (int t = 0; t < runs; ++t) left += steepest_descent(p, 1, o, rng).state == 0;
  EXPECT_NEAR(left / double(runs), 0.5, 0.03);  // 4 standard errors
  // First choice from 0 on an increasing-then-decreasing line stops at the start after
  // max_tries failed draws, having spent exactly 1 + max_tries evaluations.
  const auto q = line_problem({1, 2, 3});
  o.max_tries = 7;
  const auto r = first_choice(q, 0, o, rng);
  EXPECT_EQ(r.state, 0);
  EXPECT_EQ(r.evaluations, 8);
}

TEST(LocalSearch, StochasticHillClimbingPicksMovesInProportionToImprovement) {
  // From state 1 (cost 10): state 0 improves by 1, state 2 by 3. Murphy §6.7.1: pick an
  // improving move with probability proportional to its improvement, so P(2) = 3/4.
  const auto p = line_problem({9, 10, 7});
  descent::Rng rng(3);
  LocalSearchOptions o;
  o.max_steps = 1;
  int right = 0;
  const int runs = 8000;
  for (int t = 0; t < runs; ++t) right += stochastic_hill_climbing(p, 1, o, rng).state == 2;
  EXPECT_NEAR(right / double(runs), 0.75, 0.02);  // sd 0.0048: 4 standard errors
  // Never a worsening or zero-gain move: on 8-queens it ends at a local minimum.
  const auto q = n_queens_problem(8);
  LocalSearchOptions oq;
  oq.target = 0;
  std::vector<std::vector<int>> nb;
  for (int t = 0; t < 50; ++t) {
    const auto start = random_queens(8, rng);
    const auto r = stochastic_hill_climbing(q, start, oq, rng);
    EXPECT_EQ(r.cost, q.cost(r.state));
    EXPECT_LE(r.cost, q.cost(start));
    nb.clear();
    q.neighbours(r.state, nb);
    for (const auto& y : nb) EXPECT_GE(q.cost(y), r.cost);
  }
}

TEST(LocalSearch, TabuSearchEscapesTheLocalMinimumThatStopsSteepestDescent) {
  // Local minimum at 1 (cost 1), a hump at 2-3, the global minimum at 5.
  const auto p = line_problem({3, 1, 2, 4, 2, 0, 3});
  descent::Rng rng(4);
  LocalSearchOptions o;
  o.target = 0;
  o.max_steps = 50;
  EXPECT_EQ(steepest_descent(p, 0, o, rng).state, 1);
  o.tabu_tenure = 3;  // forbids going back to 1 and 2 while climbing the hump
  const auto r = tabu_search(p, 0, o, rng);
  EXPECT_TRUE(r.solved);
  EXPECT_EQ(r.state, 5);
  // With tenure 1 only the current state is tabu: it oscillates between 1 and 2.
  o.tabu_tenure = 1;
  EXPECT_FALSE(tabu_search(p, 0, o, rng).solved);
}

TEST(LocalSearch, AnnealingAcceptsAWorseMoveWithMetropolisProbability) {
  // A worse move by 1 at constant temperature T = 2 is accepted with probability exp(-1/2).
  const auto p = line_problem({0, 1}, true);
  const CoolingSchedule constant{CoolingSchedule::Kind::inverse, 2.0, 0.0};
  descent::Rng rng(5);
  LocalSearchOptions o;
  o.max_steps = 1;
  int accepted = 0;
  const int runs = 20000;
  for (int t = 0; t < runs; ++t) accepted += simulated_annealing(p, 0, constant, o, rng).steps;
  EXPECT_NEAR(accepted / double(runs), std::exp(-0.5), 0.014);  // sd 0.0034
  // At T = 0 a worse move is never taken.
  const CoolingSchedule frozen{CoolingSchedule::Kind::geometric, 0.0, 0.9};
  o.max_steps = 200;
  EXPECT_EQ(simulated_annealing(p, 0, frozen, o, rng).steps, 0);
}

TEST(LocalSearch, CoolingSchedulesFollowTheirFormulas) {
  EXPECT_DOUBLE_EQ((CoolingSchedule{CoolingSchedule::Kind::geometric, 2.0, 0.9}).temperature(3), 2.0 * 0.729);
  EXPECT_DOUBLE_EQ((CoolingSchedule{CoolingSchedule::Kind::linear, 1.0, 0.25}).temperature(2), 0.5);
  EXPECT_EQ((CoolingSchedule{CoolingSchedule::Kind::linear, 1.0, 0.5}).temperature(3), 0.0);
  EXPECT_DOUBLE_EQ((CoolingSchedule{CoolingSchedule::Kind::logarithmic, 3.0, 0.0}).temperature(1), 3.0 / std::log(3.0));
  EXPECT_DOUBLE_EQ((CoolingSchedule{CoolingSchedule::Kind::inverse, 4.0, 0.5}).temperature(6), 1.0);
}

TEST(LocalSearch, RandomRestartsTabuAndAnnealingSolveEightQueens) {
  const auto p = n_queens_problem(8);
  descent::Rng rng(2);
  LocalSearchOptions o;
  o.target = 0;
  int64_t restarts_total = 0;
  for (int t = 0; t < 20; ++t) {
    int used = -1;
    const auto r = random_restarts<std::vector<int>>(
        [](descent::Rng& g) { return random_queens(8, g); },
        [&](std::vector<int> s, descent::Rng& g) { return steepest_descent(p, std::move(s), o, g); }, 1000, rng,
        &used);
    EXPECT_TRUE(r.solved);
    EXPECT_EQ(queens_attacking_pairs(r.state), 0);
    restarts_total += used;
  }
  // Success probability ~0.14 per start: about 1/p - 1 = 6 restarts on average.
  EXPECT_GT(restarts_total / 20.0, 2.0);
  EXPECT_LT(restarts_total / 20.0, 14.0);
  LocalSearchOptions to = o;
  to.max_steps = 2000;
  to.tabu_tenure = 20;
  int tabu_solved = 0, sa_solved = 0;
  for (int t = 0; t < 10; ++t) {
    tabu_solved += tabu_search(p, random_queens(8, rng), to, rng).solved;
    CoolingSchedule s{CoolingSchedule::Kind::geometric, 2.0, 0.999};
    LocalSearchOptions so = o;
    so.max_steps = 20000;
    sa_solved += simulated_annealing(p, random_queens(8, rng), s, so, rng).solved;
  }
  EXPECT_GE(tabu_solved, 9);
  EXPECT_GE(sa_solved, 9);
}

TEST(LocalSearch, ContinuousNeighbourhoodsDescendOnSphere) {
  const auto p = continuous_problem(sphere, Bounds::cube(3, -2, 2), 0.05);
  descent::Rng rng(3);
  LocalSearchOptions o;
  o.max_steps = 1000;
  o.max_tries = 200;
  const Vector x0 = Vector::Constant(3, 1.5);
  EXPECT_LT(steepest_descent(p, x0, o, rng).cost, 3 * 0.025 * 0.025 + 1e-12);  // within half a step
  EXPECT_LT(first_choice(p, x0, o, rng).cost, 0.05);
  // Neighbours stay in the box; a failing f (NaN) is never moved to.
  std::vector<Vector> nb;
  p.neighbours(Vector::Constant(3, 2.0), nb);
  for (const auto& y : nb) EXPECT_TRUE(Bounds::cube(3, -2, 2).contains(y));
  const auto q = continuous_problem([](const Vector& x) { return x[0] < 1.0 ? std::nan("") : sphere(x); },
                                    Bounds::cube(1, -2, 2), 0.25);
  const auto r = steepest_descent(q, Vector(Vector::Constant(1, 1.5)), o, rng);
  EXPECT_DOUBLE_EQ(r.state[0], 1.0);
  EXPECT_THROW(continuous_problem(sphere, Bounds::cube(1, 0, 1), 0.0), descent::InputError);
  EXPECT_THROW(n_queens_problem(0), descent::InputError);
}
