// `descent optimize`: minimize a built-in benchmark or an external command (x on stdin,
// f(x) on stdout) with any black-box method; failed evaluations are recorded, not fatal.
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "contract.hpp"
#include "descent/blackbox/bayesopt.hpp"
#include "descent/blackbox/cmaes.hpp"
#include "descent/blackbox/external.hpp"
#include "descent/blackbox/functions.hpp"
#include "descent/blackbox/population.hpp"
#include "descent/core/error.hpp"
#include "descent/core/file_io.hpp"

namespace descent::cli {
namespace {

using blackbox::Bounds;
using blackbox::Vector;

double parse_number(const std::string& s, const std::string& what) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != s.size()) fail<InputError>("{}: '{}' is not a number", what, s);
  return v;
}

// "lo:hi,lo:hi,..." or "lo:hi" repeated `dim` times.
Bounds parse_bounds(const std::string& text, Eigen::Index dim) {
  std::vector<double> lo, hi;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto colon = item.find(':');
    if (colon == std::string::npos) fail<InputError>("--bounds: '{}' should be lower:upper", item);
    lo.push_back(parse_number(item.substr(0, colon), "--bounds"));
    hi.push_back(parse_number(item.substr(colon + 1), "--bounds"));
  }
  if (lo.empty()) fail<InputError>("--bounds is empty; give lower:upper per dimension, comma-separated");
  if (lo.size() == 1 && dim > 1) {
    lo.assign(dim, lo[0]);
    hi.assign(dim, hi[0]);
  }
  return Bounds(Eigen::Map<Vector>(lo.data(), Eigen::Index(lo.size())), Eigen::Map<Vector>(hi.data(), Eigen::Index(hi.size())));
}

struct OptimizeArgs {
  std::string function, command, bounds, method = "cmaes", acquisition = "ei", out;
  int dim = 2, threads = 1, batch = 1;
  int64_t budget = 1000;
  uint64_t seed = 0;
  double timeout = 60.0, sigma0 = 0.0;
  double target = -INFINITY;
  bool overwrite = false;
  Output output;
  // Given flags, to refuse those that do not apply to the method.
  CLI::Option *acquisition_opt = nullptr, *batch_opt = nullptr, *sigma0_opt = nullptr, *timeout_opt = nullptr;
};

std::unique_ptr<blackbox::AskTell> make_method(const OptimizeArgs& a, const Bounds& box) {
  using namespace blackbox;
  Rng rng(a.seed);
  const Vector x0 = box.sample(rng);
  const double sigma = a.sigma0 > 0 ? a.sigma0 : 0.3 * box.width().mean();
  if (a.method == "cmaes" || a.method == "ipop" || a.method == "bipop") {
    CmaesOptions o;
    o.seed = a.seed;
    o.bounds = box;
    if (a.method == "cmaes") return std::make_unique<Cmaes>(x0, sigma, o);
    CmaesRestartOptions r;
    r.strategy = a.method == "ipop" ? CmaesRestartOptions::Strategy::ipop : CmaesRestartOptions::Strategy::bipop;
    return std::make_unique<CmaesWithRestarts>(x0, sigma, o, r);
  }
  if (a.method == "bo") {
    BayesOptOptions o;
    o.seed = a.seed;
    o.acquisition = parse_acquisition(a.acquisition);
    o.batch_size = a.batch;
    return std::make_unique<BayesianOptimizer>(box, o);
  }
  if (a.method == "random") return std::make_unique<RandomSearch>(box, std::max(1, a.batch), a.seed);
  if (a.method == "cem") {
    CrossEntropyOptions o;
    o.seed = a.seed;
    return std::make_unique<CrossEntropyMethod>(x0, sigma, o);
  }
  if (a.method == "nes") {
    NesOptions o;
    o.seed = a.seed;
    return std::make_unique<SeparableNes>(x0, sigma, o);
  }
  if (a.method == "ga") {
    GeneticOptions o;
    o.seed = a.seed;
    return std::make_unique<GeneticAlgorithm>(box, o);
  }
  fail<InputError>("unknown --method '{}' (use cmaes, ipop, bipop, bo, random, cem, nes or ga)", a.method);
}

void run_optimize(const OptimizeArgs& a) {
  using namespace blackbox;
  if (a.function.empty() == a.command.empty())
    fail<InputError>("give exactly one of --function NAME (a built-in benchmark) or --command CMD (an external program)");
  if (a.budget <= 0) fail<InputError>("--budget must be positive, got {}", a.budget);
  if (a.threads < 1) fail<InputError>("--threads must be >= 1, got {}", a.threads);
  refuse_unless(a.acquisition_opt, a.method == "bo", fmt::format("to --method {} (it is used by bo)", a.method));
  refuse_unless(a.batch_opt, a.method == "bo" || a.method == "random",
                fmt::format("to --method {} (it is used by bo and random)", a.method));
  refuse_unless(a.sigma0_opt, a.method != "bo" && a.method != "random" && a.method != "ga",
                fmt::format("to --method {} (it is used by cmaes, ipop, bipop, cem and nes)", a.method));
  refuse_unless(a.timeout_opt, !a.command.empty(), "to a built-in --function (it limits each --command run)");
  if (a.sigma0_opt->count() > 0 && !(a.sigma0 > 0)) fail<InputError>("--sigma0 must be positive, got {}", a.sigma0);
  if (!(a.timeout > 0)) fail<InputError>("--timeout must be a positive number of seconds, got {}", a.timeout);
  if (!a.out.empty()) check_output_file(a.out, "--out", a.overwrite);
  Function f;
  Bounds box;
  double f_star = NAN;
  std::string what;
  if (!a.function.empty()) {
    const Benchmark b = make_benchmark(a.function, a.dim);
    f = b.f;
    box = a.bounds.empty() ? b.bounds : parse_bounds(a.bounds, b.bounds.dim());
    if (box.dim() != b.bounds.dim())
      fail<InputError>("--bounds has {} dimensions but {} takes {}", box.dim(), a.function, b.bounds.dim());
    f_star = b.f_star;
    what = a.function;
  } else {
    if (a.bounds.empty()) fail<InputError>("--command needs --bounds lower:upper,... (one pair per coordinate)");
    box = parse_bounds(a.bounds, a.dim);
    f = external_command(a.command, a.timeout);
    what = a.command;
  }
  auto method = make_method(a, box);
  std::unique_ptr<ThreadPool> pool;
  if (a.threads > 1) pool = std::make_unique<ThreadPool>(a.threads);
  MinimizeOptions mo;
  mo.max_evaluations = a.budget;
  mo.target = a.target;
  mo.pool = pool.get();
  const auto r = minimize(*method, f, mo);

  if (!a.out.empty()) {
    std::ofstream csv(a.out);
    if (!csv.good()) fail<InputError>("--out: cannot write '{}'", a.out);
    csv << "evaluation,ok,f,best";
    for (Eigen::Index i = 0; i < box.dim(); ++i) csv << ",x" << i;
    csv << ",error\n";
    for (size_t i = 0; i < r.history.size(); ++i) {
      const auto& e = r.history[i];
      csv << i + 1 << "," << e.ok << "," << fmt::format("{:.17g}", e.f) << "," << fmt::format("{:.17g}", r.best_so_far[i]);
      for (double v : e.x) csv << "," << fmt::format("{:.17g}", v);
      std::string err = e.error;
      for (auto& c : err)
        if (c == ',' || c == '\n') c = ';';
      csv << "," << err << "\n";
    }
  }
  nlohmann::json j{{"problem", what},       {"method", method->name()}, {"evaluations", r.evaluations},
                   {"failures", r.failures}, {"stopped", r.reason}};
  if (r.x.size() > 0) {
    j["best_f"] = r.f;
    j["best_x"] = std::vector<double>(r.x.data(), r.x.data() + r.x.size());
    if (std::isfinite(f_star)) j["regret"] = r.f - f_star;
  } else {
    j["best_f"] = nullptr;
    j["note"] = "every evaluation failed";
  }
  if (r.failures > 0) {
    for (const auto& e : r.history)
      if (!e.ok) {
        j["first_failure"] = e.error;
        break;
      }
  }
  a.output.result(j);
  if (r.x.size() > 0)
    a.output.say("{}: best f {:.10g} after {} evaluations ({} failed) with {}; stopped: {}\n", what, r.f,
                 r.evaluations, r.failures, method->name(), r.reason);
  if (r.x.size() == 0)
    fail<Error>("optimize: all {} evaluations failed, no finite value found (first failure: {})", r.evaluations,
                j.value("first_failure", std::string("unknown")));
}

}  // namespace

void register_optimize(CLI::App& app) {
  auto* cmd = add_command(app, "optimize", "minimize a benchmark or an external command with a black-box method",
                          {"descent optimize --function rosenbrock --dim 4 --method cmaes --budget 2000",
                           "descent optimize --command ./f.sh --bounds -5:5,0:1 --method bo --budget 50 --out evals.csv"});
  auto a = std::make_shared<OptimizeArgs>();
  cmd->add_option("--function", a->function, "built-in benchmark: sphere, ellipsoid, rosenbrock, rastrigin, ackley, "
                                             "styblinski_tang, branin, hartmann6");
  cmd->add_option("--command", a->command, "external program: reads x (one line, space-separated), prints f(x)");
  cmd->add_option("--dim", a->dim, "dimension (benchmarks; and for --bounds given once)");
  cmd->add_option("--bounds", a->bounds, "box as lower:upper,lower:upper,... (or one pair for every coordinate)");
  cmd->add_option("--method", a->method, "cmaes, ipop, bipop, bo, random, cem, nes, ga");
  a->acquisition_opt = cmd->add_option("--acquisition", a->acquisition, "bo: ei, pi, ucb, thompson, kg, wei");
  a->batch_opt = cmd->add_option("--batch-size", a->batch, "bo: points per batch (constant liar); random: batch size");
  cmd->add_option("--budget", a->budget, "maximum number of evaluations");
  cmd->add_option("--target", a->target, "stop once f <= target");
  add_seed(cmd, a->seed);
  a->sigma0_opt = cmd->add_option("--sigma0", a->sigma0, "initial step size for cmaes/cem/nes (default 0.3 x mean box width)");
  a->timeout_opt = cmd->add_option("--timeout", a->timeout, "seconds per external evaluation (a hang is killed and recorded)");
  cmd->add_option("--threads", a->threads, "evaluate each batch on this many threads");
  add_path(cmd, "--out", a->out, "CSV of every evaluation");
  add_overwrite(cmd, a->overwrite);
  add_output_flags(cmd, a->output);
  cmd->callback([a] { run_optimize(*a); });
}

}  // namespace descent::cli
