// `descent transport`: optimal transport between two point clouds read from CSV or NPY
// (one point per row), with optional weights; prints the cost and writes the plan.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>

#include <fmt/core.h>

#include "commands.hpp"
#include "descent/core/error.hpp"
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

void write_plan(const std::string& path, const Tensor& plan) {
  if (ends_with(path, ".npy")) {
    data::save_npy(path, plan);
    return;
  }
  std::FILE* f = std::fopen(path.c_str(), "w");
  DESCENT_CHECK(f != nullptr, InputError, "--plan '{}': cannot open for writing", path);
  const int64_t n = plan.dim(0), m = plan.dim(1);
  const double* p = plan.data<double>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) std::fprintf(f, "%.17g%c", p[i * m + j], j + 1 == m ? '\n' : ',');
  DESCENT_CHECK(std::fclose(f) == 0, InputError, "--plan '{}': write failed", path);
}

void run_transport(const TransportArgs& args) {
  const std::vector<std::string> methods{"exact", "sinkhorn", "sinkhorn-log", "1d", "sliced", "gaussian"};
  DESCENT_CHECK(std::find(methods.begin(), methods.end(), args.method) != methods.end(), InputError,
                "--method '{}' is unknown; use exact, sinkhorn, sinkhorn-log, 1d, sliced or gaussian", args.method);
  const Tensor x = read_array(args.x_path), y = read_array(args.y_path);
  const Tensor xs = transport::checked_points(x, "x"), ys = transport::checked_points(y, "y");
  const Tensor a = read_weights(args.a_path, xs.dim(0), "--weights-x");
  const Tensor b = read_weights(args.b_path, ys.dim(0), "--weights-y");
  fmt::print("method {}\nn {}\nm {}\ndimension {}\np {}\n", args.method, xs.dim(0), ys.dim(0), xs.dim(1), args.p);
  Tensor plan;
  if (args.method == "exact") {
    const transport::ExactResult r = transport::exact_ot(a, b, transport::cost_matrix(xs, ys, args.p));
    fmt::print("cost {:.17g}\nwasserstein {:.17g}\npivots {}\nconverged {}\n", r.cost, std::pow(r.cost, 1 / args.p),
               r.iterations, r.converged);
    plan = r.plan;
  } else if (args.method == "sinkhorn" || args.method == "sinkhorn-log") {
    transport::SinkhornOptions o;
    o.epsilon = args.epsilon;
    o.tolerance = args.tolerance;
    o.max_iterations = args.max_iterations;
    const Tensor C = transport::cost_matrix(xs, ys, args.p);
    const transport::SinkhornResult r =
        args.method == "sinkhorn" ? transport::sinkhorn(a, b, C, o) : transport::sinkhorn_log(a, b, C, o);
    fmt::print("epsilon {}\ncost {:.17g}\nregularized_objective {:.17g}\niterations {}\nmarginal_error {:.3g}\nconverged {}\n",
               args.epsilon, r.cost, r.objective, r.iterations, r.marginal_error, r.converged);
    if (!r.converged) fmt::print(stderr, "descent: warning: Sinkhorn stopped at --max-iterations before the tolerance\n");
    plan = r.plan;
  } else if (args.method == "1d") {
    const transport::Transport1D r = transport::transport_1d(xs, ys, a, b, args.p);
    fmt::print("cost {:.17g}\nwasserstein {:.17g}\n", r.cost, r.distance);
    plan = Tensor::zeros({xs.dim(0), ys.dim(0)}, DType::f64);
    for (size_t k = 0; k < r.mass.size(); ++k)
      plan.set(r.source[k] * ys.dim(0) + r.target[k], plan.at(r.source[k] * ys.dim(0) + r.target[k]) + r.mass[k]);
  } else if (args.method == "sliced") {
    const Tensor dirs = transport::random_directions(args.projections, xs.dim(1), args.seed);
    fmt::print("projections {}\nseed {}\nsliced_wasserstein {:.17g}\n", args.projections, args.seed,
               transport::sliced_wasserstein(xs, ys, dirs, a, b, args.p));
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
    fmt::print("gaussian_w2_squared {:.17g}\nwasserstein {:.17g}\n", w2, std::sqrt(w2));
  }
  if (!args.plan_path.empty()) {
    DESCENT_CHECK(plan.defined(), InputError, "--plan: method '{}' has no plan (use exact, sinkhorn, sinkhorn-log or 1d)",
                  args.method);
    write_plan(args.plan_path, plan);
    fmt::print("plan {}\n", args.plan_path);
  }
}

}  // namespace

void register_transport(CLI::App& app) {
  auto a = std::make_shared<TransportArgs>();
  auto* cmd = app.add_subcommand("transport", "optimal transport between two point clouds (CSV or NPY, one point per row)");
  cmd->add_option("x", a->x_path, "source points: .csv or .npy, [n, d]")->required();
  cmd->add_option("y", a->y_path, "target points: .csv or .npy, [m, d]")->required();
  cmd->add_option("--weights-x", a->a_path, "source weights (n values; default uniform)");
  cmd->add_option("--weights-y", a->b_path, "target weights (m values, same total; default uniform)");
  cmd->add_option("--method", a->method, "exact (network simplex), sinkhorn, sinkhorn-log, 1d, sliced, gaussian");
  cmd->add_option("--epsilon", a->epsilon, "entropic regularization (sinkhorn, sinkhorn-log)");
  cmd->add_option("-p,--p", a->p, "ground cost ||x - y||^p");
  cmd->add_option("--tolerance", a->tolerance, "Sinkhorn stopping rule on the L1 marginal error");
  cmd->add_option("--max-iterations", a->max_iterations, "Sinkhorn iteration limit");
  cmd->add_option("--projections", a->projections, "sliced: number of random directions");
  cmd->add_option("--seed", a->seed, "sliced: random seed of the directions");
  cmd->add_option("--plan", a->plan_path, "write the [n, m] plan here (.npy or .csv)");
  cmd->callback([a] { run_transport(*a); });
}

}  // namespace descent::cli
