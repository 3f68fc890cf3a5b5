// `descent transport`: optimal transport between two point clouds read from CSV or NPY
// (one point per row), with optional weights; prints the cost and writes the plan.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>

#include <fmt/core.h>

#include "commands.hpp"
#include "contract.hpp"
#include "descent/core/error.hpp"
#include "descent/core/file_io.hpp"
#include "descent/core/ops.hpp"
#include "descent/data/readers.hpp"
#include "descent/transport/closed_form.hpp"
#include "descent/transport/cost.hpp"
#include "descent/transport/exact.hpp"
#include "descent/transport/sinkhorn.hpp"
#include "descent/transport/sliced.hpp"

namespace descent::cli {
namespace {

struct TransportArgs {
  std::string x_path, y_path, a_path, b_path, plan_path, method = "exact";
  double epsilon = 0.01, p = 2.0, tolerance = 1e-9;
  int64_t max_iterations = 100'000, projections = 100;
  uint64_t seed = 0;
  bool overwrite = false;
  Output output;
  CLI::Option *epsilon_opt = nullptr, *tolerance_opt = nullptr, *max_iterations_opt = nullptr,
              *projections_opt = nullptr, *seed_opt = nullptr, *p_opt = nullptr;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Tensor read_array(const std::string& path) {
  if (ends_with(path, ".npy")) return data::read_npy(path).astype(DType::f64);
  return data::read_csv(path).values;
}

Tensor read_weights(const std::string& path, int64_t n, const char* what) {
  if (path.empty()) return Tensor();
  const Tensor w = read_array(path);
  DESCENT_CHECK(w.numel() == n, InputError, "{} '{}': {} weights for {} points (one weight per point)", what, path,
                w.numel(), n);
  return w.reshape({n});
}

// Atomically (core/file_io.hpp): a crash never leaves half a plan.
void write_plan(const std::string& path, const Tensor& plan) {
  if (ends_with(path, ".npy")) {
    data::save_npy(path, plan);
    return;
  }
  const int64_t n = plan.dim(0), m = plan.dim(1);
  const double* p = plan.data<double>();
  std::string csv;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) csv += fmt::format("{:.17g}{}", p[i * m + j], j + 1 == m ? '\n' : ',');
  write_file_atomically(path, csv);
}

void run_transport(const TransportArgs& args) {
  const std::vector<std::string> methods{"exact", "sinkhorn", "sinkhorn-log", "1d", "sliced", "gaussian"};
  DESCENT_CHECK(std::find(methods.begin(), methods.end(), args.method) != methods.end(), InputError,
                "--method '{}' is unknown; use exact, sinkhorn, sinkhorn-log, 1d, sliced or gaussian", args.method);
  const bool sinkhorn = args.method == "sinkhorn" || args.method == "sinkhorn-log";
  const std::string to_method = fmt::format("to --method {}", args.method);
  refuse_unless(args.epsilon_opt, sinkhorn, to_method + " (it is used by sinkhorn and sinkhorn-log)");
  refuse_unless(args.tolerance_opt, sinkhorn, to_method + " (it is used by sinkhorn and sinkhorn-log)");
  refuse_unless(args.max_iterations_opt, sinkhorn, to_method + " (it is used by sinkhorn and sinkhorn-log)");
  refuse_unless(args.projections_opt, args.method == "sliced", to_method + " (it is used by sliced)");
  refuse_unless(args.seed_opt, args.method == "sliced", to_method + " (it is used by sliced)");
  refuse_unless(args.p_opt, args.method != "gaussian", "to --method gaussian (its closed form is for p = 2)");
  if (!args.plan_path.empty()) {
    DESCENT_CHECK(args.method != "sliced" && args.method != "gaussian", InputError,
                  "--plan: method '{}' has no plan (use exact, sinkhorn, sinkhorn-log or 1d)", args.method);
    check_output_file(args.plan_path, "--plan", args.overwrite);
  }
  const Tensor x = read_array(args.x_path), y = read_array(args.y_path);
  const Tensor xs = transport::checked_points(x, "x"), ys = transport::checked_points(y, "y");
  const Tensor a = read_weights(args.a_path, xs.dim(0), "--weights-x");
  const Tensor b = read_weights(args.b_path, ys.dim(0), "--weights-y");
  const Output& out = args.output;
  nlohmann::json j = {{"method", args.method}, {"n", xs.dim(0)}, {"m", ys.dim(0)}, {"dimension", xs.dim(1)},
                      {"p", args.p}};
  out.say("method {}\nn {}\nm {}\ndimension {}\np {}\n", args.method, xs.dim(0), ys.dim(0), xs.dim(1), args.p);
  Tensor plan;
  if (args.method == "exact") {
    const transport::ExactResult r = transport::exact_ot(a, b, transport::cost_matrix(xs, ys, args.p));
    out.say("cost {:.17g}\nwasserstein {:.17g}\npivots {}\nconverged {}\n", r.cost, std::pow(r.cost, 1 / args.p),
            r.iterations, r.converged);
    j.update({{"cost", r.cost}, {"wasserstein", std::pow(r.cost, 1 / args.p)}, {"pivots", r.iterations},
              {"converged", r.converged}});
    plan = r.plan;
  } else if (args.method == "sinkhorn" || args.method == "sinkhorn-log") {
    transport::SinkhornOptions o;
    o.epsilon = args.epsilon;
    o.tolerance = args.tolerance;
    o.max_iterations = args.max_iterations;
    const Tensor C = transport::cost_matrix(xs, ys, args.p);
    const transport::SinkhornResult r =
        args.method == "sinkhorn" ? transport::sinkhorn(a, b, C, o) : transport::sinkhorn_log(a, b, C, o);
    out.say("epsilon {}\ncost {:.17g}\nregularized_objective {:.17g}\niterations {}\nmarginal_error {:.3g}\nconverged {}\n",
            args.epsilon, r.cost, r.objective, r.iterations, r.marginal_error, r.converged);
    j.update({{"epsilon", args.epsilon}, {"cost", r.cost}, {"regularized_objective", r.objective},
              {"iterations", r.iterations}, {"marginal_error", r.marginal_error}, {"converged", r.converged}});
    if (!r.converged) out.warn("Sinkhorn stopped at --max-iterations before the tolerance");
    plan = r.plan;
  } else if (args.method == "1d") {
    const transport::Transport1D r = transport::transport_1d(xs, ys, a, b, args.p);
    out.say("cost {:.17g}\nwasserstein {:.17g}\n", r.cost, r.distance);
    j.update({{"cost", r.cost}, {"wasserstein", r.distance}});
    plan = Tensor::zeros({xs.dim(0), ys.dim(0)}, DType::f64);
    for (size_t k = 0; k < r.mass.size(); ++k)
      plan.set(r.source[k] * ys.dim(0) + r.target[k], plan.at(r.source[k] * ys.dim(0) + r.target[k]) + r.mass[k]);
  } else if (args.method == "sliced") {
    const Tensor dirs = transport::random_directions(args.projections, xs.dim(1), args.seed);
    const double sw = transport::sliced_wasserstein(xs, ys, dirs, a, b, args.p);
    out.say("projections {}\nseed {}\nsliced_wasserstein {:.17g}\n", args.projections, args.seed, sw);
    j.update({{"projections", args.projections}, {"seed", args.seed}, {"sliced_wasserstein", sw}});
  } else {  // gaussian
    DESCENT_CHECK(!a.defined() && !b.defined(), InputError, "--method gaussian fits unweighted moments; drop the weights");
    auto moments = [](const Tensor& pts) {
      const Tensor mu = mean(pts, {0});
      const Tensor centered = sub(pts, mean(pts, {0}, true));
      return std::pair{mu, mul(matmul(centered, centered, true, false), 1.0 / double(pts.dim(0)))};
    };
    const auto [m1, S1] = moments(xs);
    const auto [m2, S2] = moments(ys);
    const double w2 = transport::gaussian_w2_squared(m1, S1, m2, S2);
    out.say("gaussian_w2_squared {:.17g}\nwasserstein {:.17g}\n", w2, std::sqrt(w2));
    j.update({{"gaussian_w2_squared", w2}, {"wasserstein", std::sqrt(w2)}});
  }
  if (!args.plan_path.empty()) {
    write_plan(args.plan_path, plan);
    out.say("plan {}\n", args.plan_path);
    j["plan"] = args.plan_path;
  }
  out.result(j);
}

}  // namespace

void register_transport(CLI::App& app) {
  auto a = std::make_shared<TransportArgs>();
  auto* cmd = add_command(app, "transport", "optimal transport between two point clouds (CSV or NPY, one point per row)",
                          {"descent transport x.csv y.csv --method sinkhorn --epsilon 0.05 --plan plan.npy"});
  cmd->add_option("x", a->x_path, "source points: .csv or .npy, [n, d]")->required();
  cmd->add_option("y", a->y_path, "target points: .csv or .npy, [m, d]")->required();
  cmd->add_option("--weights-x", a->a_path, "source weights (n values; default uniform)");
  cmd->add_option("--weights-y", a->b_path, "target weights (m values, same total; default uniform)");
  cmd->add_option("--method", a->method, "exact (network simplex), sinkhorn, sinkhorn-log, 1d, sliced, gaussian");
  a->epsilon_opt = cmd->add_option("--epsilon", a->epsilon, "entropic regularization (sinkhorn, sinkhorn-log)");
  a->p_opt = cmd->add_option("-p,--p", a->p, "ground cost ||x - y||^p");
  a->tolerance_opt = cmd->add_option("--tolerance", a->tolerance, "Sinkhorn stopping rule on the L1 marginal error");
  a->max_iterations_opt = cmd->add_option("--max-iterations", a->max_iterations, "Sinkhorn iteration limit");
  a->projections_opt = cmd->add_option("--projections", a->projections, "sliced: number of random directions");
  a->seed_opt = add_seed(cmd, a->seed, "sliced: random seed of the directions");
  add_path(cmd, "--plan", a->plan_path, "write the [n, m] plan here (.npy or .csv)");
  add_overwrite(cmd, a->overwrite);
  add_output_flags(cmd, a->output);
  cmd->callback([a] { run_transport(*a); });
}

}  // namespace descent::cli
