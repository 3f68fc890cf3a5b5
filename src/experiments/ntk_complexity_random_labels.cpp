// Arora §9.2, Theorem 9.2.1 and Fig. 9.2: the data-dependent complexity
// √(2 yᵀH⁻¹y · tr H)/n (the bound √(2yᵀH⁻¹y/n) made invariant to the kernel's scale) grows
// with the fraction of random labels, as the test error does.
#include <algorithm>

#include "descent/core/rng.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/probe/empirical_ntk.hpp"
#include "descent/probe/kernel_regression.hpp"
#include "ntk_common.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(ntk_complexity_random_labels, "001 (Arora, ch. 9)", "§9.2, Theorem 9.2.1, Fig. 9.2",
                   "the complexity √(2 yᵀH⁻¹y · tr H)/n rises with the fraction of random labels, as the test error "
                   "does") {
  const int64_t n = ctx.pick(200, 1000), n_test = ctx.pick(200, 1000), width = ctx.pick(2000, 8000);
  const std::vector<double> fractions = {0.0, 0.2, 0.4, 0.6, 0.8, 1.0};
  const ntk::TwoClassData d = ntk::two_class_fashion_mnist(n, n_test);
  nn::Model model = ntk::two_layer_relu(196, width, ctx.seed);
  const probe::EmpiricalNtkOptions o{.dtype = DType::f64};
  const Tensor H = probe::empirical_ntk(model, d.X, o), cross = probe::empirical_ntk(model, d.X_test, d.X, o);
  double trace = 0;
  for (int64_t i = 0; i < n; ++i) trace += H.at(i * n + i);
  Rng rng(ctx.seed);
  std::vector<double> random_sign(n), order(n);
  for (int64_t i = 0; i < n; ++i) random_sign[i] = rng.uniform() < 0.5 ? 1.0 : -1.0, order[i] = rng.uniform();
  Table& t = ctx.table("ntk_complexity_random_labels", {"random_fraction", "complexity", "test_error"});
  for (double p : fractions) {
    // The same examples are relabelled at every fraction: those with order < p.
    Tensor y = d.y.clone();
    for (int64_t i = 0; i < n; ++i)
      if (order[i] < p) y.set(i, random_sign[i]);
    const probe::KernelRidge interpolant(H, y);  // the GD-trained wide net's limit (Arora §9.1)
    const double quadratic = matmul(y, interpolant.dual_weights(), true, false).item();  // yᵀH⁻¹y
    const double c = std::sqrt(2.0 * quadratic * trace) / n;
    const Tensor f = interpolant.predict(cross);
    double errors = 0;
    for (int64_t i = 0; i < n_test; ++i) errors += (f.at(i) > 0) != (d.y_test.at(i) > 0);
    t.add_row({p, c, errors / n_test});
  }
  t.plot({.title = "complexity sqrt(2 y^T H^-1 y tr H)/n and test error vs random-label fraction",
          .x_label = "fraction of random labels", .y_label = "value",
          .series = {{"random_fraction", "complexity", "complexity", true},
                     {"random_fraction", "test_error", "test error", true}}});
  const auto complexity = t.column("complexity"), test_error = t.column("test_error");
  double smallest_complexity_ratio = INFINITY, smallest_error_step = INFINITY;
  for (size_t i = 1; i < complexity.size(); ++i) {
    smallest_complexity_ratio = std::min(smallest_complexity_ratio, complexity[i] / complexity[i - 1]);
    smallest_error_step = std::min(smallest_error_step, test_error[i] - test_error[i - 1]);
  }
  ctx.measure("trace_H", trace);
  ctx.measure("n", n);
  ctx.measure("n_test", n_test);
  ctx.measure("width", width);
  // Near p = 1 both saturate (a random sign is right half the time): 2% slack on the
  // complexity's rise; 0.03 on the test error's, the sampling noise of n_test labels.
  ctx.check.at_least("complexity_smallest_ratio_between_consecutive_fractions", smallest_complexity_ratio, 0.98);
  ctx.check.at_least("complexity_at_1_over_complexity_at_0", complexity.back() / complexity.front(), 2.0);
  ctx.check.at_least("test_error_smallest_step_between_consecutive_fractions", smallest_error_step, -0.03);
  ctx.check.at_least("test_error_gap_random_minus_true", test_error.back() - test_error.front(), 0.3);
  ctx.note("H is the empirical NTK Gram (probe::empirical_ntk) of a wide two-layer ReLU net at initialization; the "
           "test error is that of the kernel interpolant f = Θ(x, X) H⁻¹ y, the limit of GD on the wide net (Arora "
           "§9.1), not of a trained finite net. T-shirt vs Trouser, 14×14 pooled unit-norm images.");
}

}  // namespace descent::experiments
