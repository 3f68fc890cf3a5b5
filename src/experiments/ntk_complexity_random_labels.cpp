// Arora §9.2, Theorem 9.2.1 and Fig. 9.2: the data-dependent complexity
// √(2 yᵀH⁻¹y · tr H)/n (the bound √(2yᵀH⁻¹y/n) made invariant to the kernel's scale) grows
// with the fraction of random labels, as the test error does.
#include <algorithm>

#include "descent/core/rng.hpp"
#include "descent/experiments/experiment.hpp"
#include "descent/probe/empirical_ntk.hpp"
#include "descent/probe/kernel_regression.hpp"
#include "ntk_common.hpp"
#include "output.hpp"

namespace descent::experiments {
namespace {

Result run_ntk_complexity_random_labels(const RunOptions& opt) {
  const int64_t n = opt.quick ? 200 : 1000, n_test = opt.quick ? 200 : 1000, width = opt.quick ? 2000 : 8000;
  const std::vector<double> fractions = {0.0, 0.2, 0.4, 0.6, 0.8, 1.0};
  const ntk::TwoClassData d = ntk::two_class_fashion_mnist(n, n_test);
  nn::Model model = ntk::two_layer_relu(196, width, opt.seed);
  const probe::EmpiricalNtkOptions o{.dtype = DType::f64};
  const Tensor H = probe::empirical_ntk(model, d.X, o), cross = probe::empirical_ntk(model, d.X_test, d.X, o);
  double trace = 0;
  for (int64_t i = 0; i < n; ++i) trace += H.at(i * n + i);
  Rng rng(opt.seed);
  std::vector<double> random_sign(n), order(n);
  for (int64_t i = 0; i < n; ++i) random_sign[i] = rng.uniform() < 0.5 ? 1.0 : -1.0, order[i] = rng.uniform();
  json per_fraction = json::array();
  std::vector<double> complexity, test_error;
  auto csv = open_output(opt.output_dir, "ntk_complexity_random_labels.csv");
  if (csv.is_open()) csv << "random_fraction,complexity,test_error\n";
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
    complexity.push_back(c);
    test_error.push_back(errors / n_test);
    per_fraction.push_back({{"random_fraction", p}, {"complexity", c}, {"test_error", errors / n_test}});
    if (csv.is_open()) csv << p << "," << c << "," << errors / n_test << "\n";
  }
  if (csv.is_open()) {
    csv.close();
    render_plot({.csv_path = opt.output_dir + "/ntk_complexity_random_labels.csv",
                 .png_path = opt.output_dir + "/ntk_complexity_random_labels.png",
                 .title = "complexity sqrt(2 y^T H^-1 y tr H)/n and test error vs random-label fraction",
                 .x_label = "fraction of random labels", .y_label = "value",
                 .series = {{"random_fraction", "complexity", "complexity", true},
                            {"random_fraction", "test_error", "test error", true}},
                 .log_y = false, .extra = ""});
  }
  bool complexity_rises = true, error_rises = true;
  for (size_t i = 1; i < fractions.size(); ++i) {
    // Near p = 1 both saturate (a random sign is right half the time): 2% slack.
    complexity_rises = complexity_rises && complexity[i] >= 0.98 * complexity[i - 1];
    error_rises = error_rises && test_error[i] >= test_error[i - 1] - 0.03;  // sampling noise of n_test labels
  }
  const double error_gap = test_error.back() - test_error.front();
  Result r;
  r.measured = {{"per_fraction", per_fraction}, {"trace_H", trace}, {"n", n}, {"n_test", n_test}, {"width", width},
                {"test_error_gap_random_minus_true", error_gap}};
  r.expected = {{"complexity_nondecreasing_within_2_percent", true}, {"complexity_at_1_over_complexity_at_0", ">= 2"}, {"test_error_nondecreasing_within_0.03", true},
                {"test_error_gap_random_minus_true", ">= 0.3"}};
  r.tolerance = {{"test_error_step", 0.03}};
  r.passed = complexity_rises && complexity.back() >= 2 * complexity.front() && error_rises && error_gap >= 0.3;
  r.notes = "H is the empirical NTK Gram (probe::empirical_ntk) of a wide two-layer ReLU net at initialization; the "
            "test error is that of the kernel interpolant f = Θ(x, X) H⁻¹ y, the limit of GD on the wide net (Arora "
            "§9.1), not of a trained finite net. T-shirt vs Trouser, 14×14 pooled unit-norm images.";
  return r;
}

}  // namespace

void register_ntk_complexity_random_labels(Registry& reg) {
  reg.add({"ntk_complexity_random_labels",
           {"001 (Arora, ch. 9)", "§9.2, Theorem 9.2.1, Fig. 9.2"},
           "the complexity √(2 yᵀH⁻¹y · tr H)/n rises with the fraction of random labels, as the test error does",
           run_ntk_complexity_random_labels});
}

}  // namespace descent::experiments
