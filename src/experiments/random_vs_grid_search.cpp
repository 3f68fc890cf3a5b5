// Murphy §6.7.1, Fig. 6.12 (Bergstra & Bengio 2012): with the same budget, random search
// beats grid search when only a few of the dimensions matter, because a grid tries only
// m distinct values of each important coordinate while random search tries as many as it
// has points. f(x) = sum over the k important coordinates of (x_i - c_i)^2 plus a 1e-3
// weighted term in the others; c ~ U[0,1]^k drawn per repetition.
#include <cmath>

#include <fmt/format.h>

#include "descent/blackbox/population.hpp"
#include "descent/experiments/experiment.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(random_vs_grid_search, "004 (Murphy, PML2 ch. 6)", "§6.7.1, Fig. 6.12",
                   "with few important dimensions, random search finds better points than grid search at equal "
                   "budget") {
  using namespace blackbox;
  struct Setting { int dims, important, per_dim; };
  const Setting settings[] = {{2, 1, 3}, {4, 1, 3}, {5, 2, 3}};
  const int reps = ctx.pick(200, 2000);
  Rng rng(ctx.seed);
  Table& t = ctx.table("random_vs_grid",
                       {"dims", "important", "budget", "grid_mean_regret", "random_mean_regret", "random_win_fraction"});
  for (const auto& s : settings) {
    const Bounds box = Bounds::cube(s.dims, 0.0, 1.0);
    double grid_sum = 0.0, random_sum = 0.0;
    int wins = 0;
    int64_t budget = 0;
    for (int r = 0; r < reps; ++r) {
      Vector c(s.dims);
      for (auto& v : c) v = rng.uniform();
      auto f = [&](const Vector& x) {
        double v = 0.0;
        for (int i = 0; i < s.dims; ++i) v += (i < s.important ? 1.0 : 1e-3) * (x[i] - c[i]) * (x[i] - c[i]);
        return v;
      };
      GridSearch grid(box, s.per_dim, 1 << 20);
      budget = grid.size();
      RandomSearch random(box, static_cast<int>(budget), rng.next_u64());
      double g = INFINITY, rr = INFINITY;
      for (const auto& x : grid.ask()) g = std::min(g, f(x));
      for (const auto& x : random.ask()) rr = std::min(rr, f(x));
      grid_sum += g;
      random_sum += rr;
      wins += rr < g;
    }
    const double gm = grid_sum / reps, rm = random_sum / reps;
    t.add_row({s.dims, s.important, budget, gm, rm, double(wins) / reps});
    ctx.check.below(fmt::format("random_mean_regret_over_grid_{}d_{}important", s.dims, s.important), rm / gm, 1.0);
  }
  ctx.measure("repetitions", reps);
  ctx.note("Regret = min f over the budget (f* = 0). Grid: cell-centred, m points per axis, budget m^D; random "
           "search gets the same budget.");
}

}  // namespace descent::experiments
