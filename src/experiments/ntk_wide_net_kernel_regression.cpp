// Arora §9.3 (Theorem 9.3.1, "a wide net is a kernel regressor"): a net trained by GD from
// an initialization whose output is removed (g = f − f_0, so g_0 = 0) predicts on test
// points what infinite-width NTK regression predicts, f_t(x*) = Θ∞(x*, X) Θ∞^{-1}
// (I − e^{−ηΘ∞t}) y, and the gap closes as the width grows.
#include "descent/experiments/experiment.hpp"
#include "descent/probe/kernel_regression.hpp"
#include "descent/probe/kernels.hpp"
#include "ntk_common.hpp"

namespace descent::experiments {

DESCENT_EXPERIMENT(ntk_wide_net_kernel_regression, "001 (Arora, ch. 9)", "§9.3, Theorem 9.3.1",
                   "a GD-trained wide net's test predictions approach the infinite-width NTK regression's as the "
                   "width grows") {
  const int64_t n = ctx.pick(60, 200), n_test = ctx.pick(60, 200), steps = ctx.pick(80, 300);
  const auto widths = ctx.pick<std::vector<int64_t>>({100, 800, 6400}, {100, 400, 1600, 6400, 25600});
  const ntk::TwoClassData d = ntk::two_class_fashion_mnist(n, n_test);
  // Θ∞ of the same network (kernels.hpp: depth 1, σ_w² = 2, no bias).
  const probe::KernelSpec spec{.depth = 1, .weight_variance = 2.0};
  const Tensor gram = probe::ntk_kernel(spec, d.X), cross = probe::ntk_kernel(spec, d.X_test, d.X);
  const probe::GradientFlow flow(gram, d.y);
  const double lr = 0.25 * double(n) / flow.spectrum().eigenvalues.at(0);
  const double t = lr * double(steps) / double(n);  // GD on the mean loss: flow time ηk/n
  const Tensor kernel_test = flow.test_predictions(cross, t);
  Table& table = ctx.table("ntk_wide_net_kernel_regression",
                           {"width", "relative_test_gap", "net_test_error", "kernel_test_error"});
  auto error_rate = [&](const Tensor& f) {
    double e = 0;
    for (int64_t i = 0; i < f.numel(); ++i) e += (f.at(i) > 0) != (d.y_test.at(i) > 0);
    return e / f.numel();
  };
  for (int64_t m : widths) {
    nn::Model model = ntk::two_layer_relu(196, m, ctx.seed);
    const Tensor f0_train = model.predict(d.X), f0_test = model.predict(d.X_test);
    // Training f on y + f_0(X) is training g = f − f_0 on y from g_0 = 0.
    ntk::gradient_descent(model, d.X, add(d.y, f0_train), lr, steps);
    const Tensor net_test = sub(model.predict(d.X_test), f0_test).reshape(kernel_test.shape());
    const double rel = ntk::frobenius(sub(net_test, kernel_test)) / ntk::frobenius(kernel_test);
    table.add_row({m, rel, error_rate(net_test), error_rate(kernel_test)});
  }
  table.plot({.title = "GD-trained net vs infinite-width NTK regression on test points", .x_label = "width m",
              .y_label = "||f_net - f_ntk|| / ||f_ntk|| (test)",
              .series = {{"width", "relative_test_gap", "relative gap", true}}, .log_y = true,
              .extra = "set logscale x"});
  const auto gap = table.column("relative_test_gap");
  ctx.measure("flow_time", t);
  ctx.measure("n", n);
  ctx.measure("n_test", n_test);
  ctx.measure("steps", steps);
  ctx.check.decreasing("relative_test_gap", gap);
  ctx.check.within("gap_slope_vs_width_loglog", ntk::loglog_slope(table.column("width"), gap), -0.5, 0.25);
  ctx.check.at_most("largest_width_gap", gap.back(), 0.1);
  ctx.note("Two-layer ReLU net in the NTK parameterization (both layers trained), T-shirt vs Trouser, 14×14 pooled "
           "unit-norm images; Θ∞ from probe::ntk_kernel; kernel predictions from probe::GradientFlow at the GD's "
           "flow time (the remaining gap at large width includes GD's discretization, ηλ_max/n = 1/4).");
}

}  // namespace descent::experiments
