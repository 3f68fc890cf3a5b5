// `descent optimize`: minimize a built-in benchmark or an external command (x on stdin,
// f(x) on stdout) with any black-box method (blackbox/methods.hpp); failed evaluations are
// recorded, not fatal. With --out, each evaluation is appended to a CSV as it finishes
// (blackbox/evaluation_log.hpp), and --resume continues a study from that file.
#include <cmath>
#include <memory>
#include <sstream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "contract.hpp"
#include "descent/blackbox/evaluation_log.hpp"
#include "descent/blackbox/external.hpp"
#include "descent/blackbox/functions.hpp"
#include "descent/blackbox/methods.hpp"
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
  std::string function, command, bounds, out;
  blackbox::MethodOptions method;
  int dim = 2, threads = 1;
  int64_t budget = 1000;
  double timeout = 60.0;
  double target = -INFINITY;
  bool overwrite = false, resume = false;
  Output output;
  // Given flags, to refuse those that do not apply to the method.
  CLI::Option *acquisition_opt = nullptr, *batch_opt = nullptr, *sigma0_opt = nullptr, *timeout_opt = nullptr,
              *resume_opt = nullptr, *overwrite_opt = nullptr;
};

void run_optimize(const OptimizeArgs& a) {
  using namespace blackbox;
  if (a.function.empty() == a.command.empty())
    fail<InputError>("give exactly one of --function NAME (a built-in benchmark) or --command CMD (an external program)");
  if (a.budget <= 0) fail<InputError>("--budget must be positive, got {}", a.budget);
  if (a.threads < 1) fail<InputError>("--threads must be >= 1, got {}", a.threads);
  const std::string& m = a.method.name;
  DESCENT_CHECK(std::find(method_names().begin(), method_names().end(), m) != method_names().end(), InputError,
                "unknown --method '{}' (use cmaes, ipop, bipop, bo, random, cem, nes or ga)", m);
  refuse_unless(a.acquisition_opt, method_uses(m, "acquisition"),
                fmt::format("to --method {} (it is used by {})", m, methods_using("acquisition")));
  refuse_unless(a.batch_opt, method_uses(m, "batch_size"),
                fmt::format("to --method {} (it is used by {})", m, methods_using("batch_size")));
  refuse_unless(a.sigma0_opt, method_uses(m, "sigma0"),
                fmt::format("to --method {} (it is used by {})", m, methods_using("sigma0")));
  refuse_unless(a.timeout_opt, !a.command.empty(), "to a built-in --function (it limits each --command run)");
  refuse_unless(a.resume_opt, !a.out.empty(), "without --out FILE (the evaluations to continue from)");
  refuse_unless(a.overwrite_opt, !a.resume, "with --resume (the study continues in its own file)");
  if (a.sigma0_opt->count() > 0 && !(a.method.sigma0 > 0))
    fail<InputError>("--sigma0 must be positive, got {}", a.method.sigma0);
  if (a.batch_opt->count() > 0 && a.method.batch_size < 1)
    fail<InputError>("--batch-size must be at least 1, got {}", a.method.batch_size);
  if (!(a.timeout > 0)) fail<InputError>("--timeout must be a positive number of seconds, got {}", a.timeout);
  // The output is checked before any evaluation: a long study is never lost to a bad path.
  if (!a.out.empty() && !a.resume) check_output_file(a.out, "--out", a.overwrite);
  if (a.resume) check_output_file(a.out, "--out", true);

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
  auto method = make_method(a.method, box);
  std::unique_ptr<ThreadPool> pool;
  if (a.threads > 1) pool = std::make_unique<ThreadPool>(a.threads);
  MinimizeOptions mo;
  mo.max_evaluations = a.budget;
  mo.target = a.target;
  mo.pool = pool.get();
  if (a.resume) {
    mo.replay = read_evaluation_log(a.out, box.dim());
    a.output.say("resuming {}: {} evaluations done\n", a.out, mo.replay.size());
  }
  std::unique_ptr<EvaluationLog> log;
  if (!a.out.empty()) log = std::make_unique<EvaluationLog>(a.out, box.dim(), a.resume);
  const bool progress = a.output.progress();
  mo.on_evaluation = [&](int64_t number, const Evaluation& e, double best) {
    if (log) log->append(number, e, best);
    if (progress)
      fmt::print(stderr, "\r\033[2Kevaluation {}/{}  best f {:.6g}{}", number, a.budget, best, e.ok ? "" : "  (failed)");
  };
  const auto r = minimize(*method, f, mo);
  if (progress) fmt::print(stderr, "\r\033[2K");

  const nlohmann::json j = result_json(r, what, method->name(), f_star);
  a.output.result(j);
  if (r.x.size() > 0)
    a.output.say("{}: best f {:.10g} after {} evaluations ({} failed) with {}; stopped: {}\nbest x {}\n", what, r.f,
                 r.evaluations, r.failures, method->name(), r.reason, j["best_x"].dump());
  if (r.x.size() == 0)
    fail<Error>("optimize: all {} evaluations failed, no finite value found (first failure: {})", r.evaluations,
                j.value("first_failure", std::string("unknown")));
}

}  // namespace

void register_optimize(CLI::App& app) {
  auto* cmd = add_command(app, "optimize", "minimize a benchmark or an external command with a black-box method",
                          {"descent optimize --function rosenbrock --dim 4 --method cmaes --budget 2000",
                           "descent optimize --command ./f.sh --bounds -5:5,0:1 --method bo --budget 50 --out evals.csv",
                           "descent optimize --command ./f.sh --bounds -5:5,0:1 --method bo --budget 80 --out evals.csv "
                           "--resume"});
  auto a = std::make_shared<OptimizeArgs>();
  cmd->add_option("--function", a->function, "built-in benchmark: sphere, ellipsoid, rosenbrock, rastrigin, ackley, "
                                             "styblinski_tang, branin, hartmann6");
  cmd->add_option("--command", a->command, "external program: reads x (one line, space-separated), prints f(x)");
  cmd->add_option("--dim", a->dim, "dimension (benchmarks; and for --bounds given once)");
  cmd->add_option("--bounds", a->bounds, "box as lower:upper,lower:upper,... (or one pair for every coordinate)");
  cmd->add_option("--method", a->method.name, "cmaes, ipop, bipop, bo, random, cem, nes, ga");
  a->acquisition_opt = cmd->add_option("--acquisition", a->method.acquisition, "bo: ei, pi, ucb, thompson, kg, wei");
  a->batch_opt =
      cmd->add_option("--batch-size", a->method.batch_size, "bo: points per batch (constant liar); random: batch size");
  cmd->add_option("--budget", a->budget, "maximum number of evaluations (never exceeded)");
  cmd->add_option("--target", a->target, "stop once f <= target");
  add_seed(cmd, a->method.seed);
  a->sigma0_opt = cmd->add_option("--sigma0", a->method.sigma0,
                                  "initial step size for cmaes/cem/nes (default 0.3 x mean box width)");
  a->timeout_opt = cmd->add_option("--timeout", a->timeout,
                                   "seconds per external evaluation (a hang is killed and recorded)");
  cmd->add_option("--threads", a->threads, "evaluate each batch on this many threads");
  add_path(cmd, "--out", a->out, "CSV of every evaluation, appended as each finishes");
  a->resume_opt = add_switch(cmd, "resume", a->resume,
                             "continue the study in --out (same method, seed and bounds; raise --budget to go on)");
  a->overwrite_opt = add_overwrite(cmd, a->overwrite);
  add_output_flags(cmd, a->output);
  cmd->callback([a] { run_optimize(*a); });
}

}  // namespace descent::cli
