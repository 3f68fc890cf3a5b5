// Local search, annealing and population methods: each solves a problem whose optimum is
// known, and each handles its bad input.
#include <gtest/gtest.h>

#include <set>

#include "descent/blackbox/functions.hpp"
#include "descent/blackbox/local_search.hpp"
#include "descent/blackbox/population.hpp"

using namespace descent::blackbox;

TEST(LocalSearch, SteepestDescentStopsAtLocalMinimaOfEightQueens) {
  const auto p = n_queens_problem(8);
  descent::Rng rng(1);
  LocalSearchOptions o;
  o.target = 0;
  std::vector<std::vector<int>> nb;
  for (int t = 0; t < 200; ++t) {
    const auto r = steepest_descent(p, random_queens(8, rng), o, rng);
    // The final state is a local minimum: no neighbour is strictly better.
    nb.clear();
    p.neighbours(r.state, nb);
    EXPECT_EQ(nb.size(), 56u);
    for (const auto& y : nb) EXPECT_GE(p.cost(y), r.cost);
    EXPECT_EQ(r.solved, queens_attacking_pairs(r.state) == 0);
  }
}

TEST(LocalSearch, RandomRestartsAndTabuAndAnnealingSolveEightQueens) {
  const auto p = n_queens_problem(8);
  descent::Rng rng(2);
  LocalSearchOptions o;
  o.target = 0;
  for (int t = 0; t < 10; ++t) {
    const auto r = random_restarts<std::vector<int>>(
        [](descent::Rng& g) { return random_queens(8, g); },
        [&](std::vector<int> s, descent::Rng& g) { return steepest_descent(p, std::move(s), o, g); }, 1000, rng);
    EXPECT_TRUE(r.solved);
    EXPECT_EQ(queens_attacking_pairs(r.state), 0);
  }
  LocalSearchOptions to = o;
  to.max_steps = 2000;
  to.tabu_tenure = 20;
  int tabu_solved = 0, sa_solved = 0, sh_solved = 0;
  for (int t = 0; t < 10; ++t) {
    tabu_solved += tabu_search(p, random_queens(8, rng), to, rng).solved;
    CoolingSchedule s{CoolingSchedule::Kind::geometric, 2.0, 0.999};
    LocalSearchOptions so = o;
    so.max_steps = 20000;
    sa_solved += simulated_annealing(p, random_queens(8, rng), s, so, rng).solved;
    sh_solved += stochastic_hill_climbing(p, random_queens(8, rng), o, rng).cost >= 0;
  }
  EXPECT_GE(tabu_solved, 9);
  EXPECT_GE(sa_solved, 9);
  EXPECT_EQ(sh_solved, 10);
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
  EXPECT_EQ(CoolingSchedule({CoolingSchedule::Kind::linear, 1.0, 0.5}).temperature(2), 0.0);
}

TEST(Population, EdasSolveOneMax) {
  for (auto kind : {BernoulliEdaOptions::Kind::umda, BernoulliEdaOptions::Kind::pbil}) {
    BernoulliEdaOptions o;
    o.kind = kind;
    o.seed = 5;
    o.learning_rate = 0.2;
    BernoulliEda eda(40, o);
    MinimizeOptions mo;
    mo.max_evaluations = 20000;
    mo.target = -40;
    const auto r = minimize(eda, [](const Vector& x) { return -x.sum(); }, mo);
    EXPECT_EQ(r.f, -40) << eda.name();
  }
}

TEST(Population, GeneticAlgorithmSolvesOneMaxAndSphere) {
  for (auto sel : {GeneticOptions::Selection::tournament, GeneticOptions::Selection::truncation,
                   GeneticOptions::Selection::proportional}) {
    GeneticOptions o;
    o.encoding = GeneticOptions::Encoding::binary;
    o.selection = sel;
    o.seed = 1;
    GeneticAlgorithm ga(Bounds::cube(30, 0, 1), o);
    MinimizeOptions mo;
    mo.max_evaluations = 30000;
    mo.target = -30;
    EXPECT_EQ(minimize(ga, [](const Vector& x) { return -x.sum(); }, mo).f, -30) << int(sel);
  }
  GeneticOptions o;
  o.crossover = GeneticOptions::Crossover::blend;
  o.mutation_scale = 0.02;
  GeneticAlgorithm ga(Bounds::cube(5, -5, 5), o);
  MinimizeOptions mo;
  mo.max_evaluations = 20000;
  EXPECT_LT(minimize(ga, sphere, mo).f, 1e-2);
}

TEST(Population, CemAndNesConvergeOnRotatedEllipsoid) {
  descent::Rng rng(4);
  const Function f = shifted_rotated([](const Vector& x) { return ellipsoid(x, 1e2); }, Vector::Constant(5, 0.7),
                                     random_rotation(5, rng));
  CrossEntropyOptions co;
  co.full_covariance = true;
  co.samples = 100;
  co.elite_fraction = 0.3;  // enough elite points for a 5-D covariance; fewer collapse it early
  CrossEntropyMethod cem(Vector::Zero(5), 2.0, co);
  MinimizeOptions mo;
  mo.max_evaluations = 20000;
  mo.target = 1e-8;
  EXPECT_LE(minimize(cem, f, mo).f, 1e-8);
  SeparableNes nes(Vector::Zero(5), 2.0);
  EXPECT_LE(minimize(nes, [](const Vector& x) { return ellipsoid(x, 1e2); }, mo).f, 1e-8);
}

TEST(Population, GridSearchVisitsEveryCellOnceAndRandomSearchStaysInTheBox) {
  GridSearch g(Bounds::cube(2, 0, 1), 4, 3);
  std::set<std::pair<double, double>> seen;
  while (!g.should_stop())
    for (const auto& x : g.ask()) seen.insert({x[0], x[1]});
  EXPECT_EQ(seen.size(), 16u);
  RandomSearch rs(Bounds(Vector{{-1.0, 2.0}}, Vector{{0.0, 3.0}}), 50, 1);
  const Bounds box(Vector{{-1.0, 2.0}}, Vector{{0.0, 3.0}});
  for (const auto& x : rs.ask()) EXPECT_TRUE(box.contains(x));
}

TEST(Population, ParallelEvaluationGivesTheSameResult) {
  descent::ThreadPool pool(2);
  auto run = [&](descent::ThreadPool* p) {
    CrossEntropyMethod cem(Vector::Constant(4, 1.0), 1.0, {});
    MinimizeOptions mo;
    mo.max_evaluations = 2000;
    mo.pool = p;
    return minimize(cem, rosenbrock, mo);
  };
  const auto a = run(nullptr), b = run(&pool);
  EXPECT_EQ(a.f, b.f);
  EXPECT_EQ(a.x, b.x);
}
