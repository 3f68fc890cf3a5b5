// `descent demo`: the gradient and a Hessian-vector product of an MLP's softmax
// cross-entropy loss, each checked against central finite differences in float64. Exits
// non-zero when either check fails.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "commands.hpp"
#include "contract.hpp"
#include "descent/autodiff/autodiff.hpp"
#include "descent/core/error.hpp"
#include "descent/core/rng.hpp"

namespace descent::cli {
namespace {

struct DemoOptions {
  int64_t inputs = 8, hidden = 16, classes = 4, batch = 32;
  uint64_t seed = 0;
  double tolerance = 1e-6;
  Output output;
};

void run_demo(const DemoOptions& o) {
  Rng rng(o.seed);
  const Tensor x = rng.normal_tensor({o.batch, o.inputs}, DType::f64);
  std::vector<int64_t> y;
  for (int64_t i = 0; i < o.batch; ++i) y.push_back(static_cast<int64_t>(rng.below(static_cast<uint64_t>(o.classes))));
  const Tensor labels = Tensor::from_vector(y, {o.batch, 1});
  std::vector<Tensor> params;
  auto layer = [&](int64_t a, int64_t b) {
    params.push_back(rng.normal_tensor({a, b}, DType::f64, 0.0, 1.0 / std::sqrt(double(a))));
    params.push_back(rng.normal_tensor({b}, DType::f64, 0.0, 0.1));
  };
  layer(o.inputs, o.hidden);
  layer(o.hidden, o.hidden);
  layer(o.hidden, o.classes);
  int64_t n = 0;
  for (const Tensor& p : params) n += p.numel();

  // Loss: mean softmax cross-entropy of a tanh MLP (smooth, so the Hessian is informative).
  const Function loss = [&](const VarList& p) {
    Var h = tanh(matmul(Var(x), p[0]) + p[1]);
    h = tanh(matmul(h, p[2]) + p[3]);
    Var logits = matmul(h, p[4]) + p[5];
    return -mean(gather(log_softmax(logits, -1), 1, labels));
  };

  o.output.say("MLP {}-{}-{}-{} (tanh), batch {}, {} parameters, float64, seed {}\n", o.inputs, o.hidden, o.hidden,
             o.classes, o.batch, n, o.seed);
  auto [value, g] = value_and_grad(loss, params);
  double gnorm = 0;
  for (const Tensor& t : g) gnorm += dot(t, t);
  o.output.say("loss {:.10f}   |grad| {:.6e}\n", value.item(), std::sqrt(gnorm));

  // Gradient against central finite differences (five-point stencil).
  GradientCheckOptions opt;
  opt.tolerance = o.tolerance;
  const GradientCheckReport gr = check_gradients(loss, params, opt);
  o.output.say("gradient vs finite differences: {}\n", gr.str());

  // H v (forward over reverse, the default) against a central difference of gradients
  // along v, and against reverse over reverse.
  std::vector<Tensor> v;
  for (const Tensor& p : params) v.push_back(rng.normal_tensor(p.shape(), DType::f64));
  const auto hv = hessian_vector_product(loss, params, v);
  const auto hv_rr = hessian_vector_product(loss, params, v, HvpMode::reverse_over_reverse);
  const double h = 1e-4;
  auto grad_at = [&](double t) {
    std::vector<Tensor> pt;
    for (size_t i = 0; i < params.size(); ++i) pt.push_back(add(params[i], mul(v[i], t)));
    return grad(loss, pt);
  };
  const auto gp = grad_at(h), gm = grad_at(-h), gp2 = grad_at(2 * h), gm2 = grad_at(-2 * h);
  double worst = 0, worst_modes = 0, hvnorm = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor fd = mul(sub(mul(sub(gp[i], gm[i]), 8.0), sub(gp2[i], gm2[i])), 1.0 / (12 * h));
    worst = std::max(worst, max_relative_difference(hv[i], fd, 1e-6));
    worst_modes = std::max(worst_modes, max_relative_difference(hv[i], hv_rr[i], 1e-6));
    hvnorm += dot(hv[i], hv[i]);
  }
  const bool hvp_ok = worst <= o.tolerance && worst_modes <= o.tolerance;
  o.output.say("|Hv| {:.6e}\n", std::sqrt(hvnorm));
  o.output.say("HVP vs finite differences of gradients: {}: max relative error {:.3e} "
             "(forward-over-reverse vs reverse-over-reverse: {:.3e})\n",
             hvp_ok ? "passed" : "FAILED", worst, worst_modes);
  o.output.result({{"parameters", n},
                   {"loss", value.item()},
                   {"gradient_max_relative_error", gr.max_relative_error},
                   {"hvp_max_relative_error", worst},
                   {"hvp_modes_max_relative_error", worst_modes},
                   {"tolerance", o.tolerance},
                   {"passed", gr.passed && hvp_ok}});
  if (!gr.passed || !hvp_ok)
    fail<Error>("demo: derivative check failed (gradient {:.3e}, HVP {:.3e}; tolerance {:.1e})",
                gr.max_relative_error, worst, o.tolerance);
  o.output.say("all checks passed (tolerance {:.1e})\n", o.tolerance);
}

}  // namespace

void register_demo(CLI::App& app) {
  auto opt = std::make_shared<DemoOptions>();
  auto* cmd = add_command(app, "demo",
                          "gradient and Hessian-vector product of an MLP loss, checked against finite differences",
                          {"descent demo --hidden 32 --examples 64 --seed 1"});
  cmd->add_option("--inputs", opt->inputs, "input features")->check(CLI::Range(1, 4096));
  cmd->add_option("--hidden", opt->hidden, "hidden units per layer")->check(CLI::Range(1, 4096));
  cmd->add_option("--classes", opt->classes, "classes")->check(CLI::Range(2, 1024));
  cmd->add_option("--examples", opt->batch, "examples in the loss")->check(CLI::Range(1, 65536));
  add_seed(cmd, opt->seed);
  cmd->add_option("--tolerance", opt->tolerance, "largest accepted relative error")->check(CLI::PositiveNumber);
  add_output_flags(cmd, opt->output);
  cmd->callback([opt] { run_demo(*opt); });
}

}  // namespace descent::cli
