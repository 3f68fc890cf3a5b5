// Population methods: each solves a problem whose optimum is known, and each handles its
// bad input. (Local search and annealing: test_local_search.cpp.)
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "descent/blackbox/functions.hpp"
#include "descent/blackbox/population.hpp"

using namespace descent::blackbox;

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

TEST(Population, ThreadPoolEvaluatesABatchOnSeveralThreadsInInputOrder) {
  descent::ThreadPool pool(2);
  std::mutex m;
  std::set<std::thread::id> threads;
  const Function f = [&](const Vector& x) {
    {
      std::lock_guard<std::mutex> lock(m);
      threads.insert(std::this_thread::get_id());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (x[0] == 3.0) throw std::runtime_error("no value at 3");
    return x[0] * 10.0;
  };
  std::vector<Vector> xs;
  for (int i = 0; i < 8; ++i) xs.push_back(Vector::Constant(1, double(i)));
  const auto evals = evaluate_all(f, xs, &pool);
  EXPECT_GE(threads.size(), 2u);
  ASSERT_EQ(evals.size(), 8u);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(evals[i].x[0], double(i));
    EXPECT_EQ(evals[i].ok, i != 3);
    EXPECT_EQ(evals[i].f, i == 3 ? INFINITY : 10.0 * i);
  }
  EXPECT_EQ(evals[3].error, "no value at 3");
}
