// `descent probe RUN [--measure sharpness,trace,noise] [--matrix hessian|ggn|fisher|empirical-fisher]
//                    [--block LAYER|each] [--split train|test] [--examples N] [--batch B] [--k K]
//                    [--tolerance T] [--trace-matvecs M] [--memory-cap-mb C] [--out FILE]`
// Loss-landscape instruments on a trained run's model (train::load_run): the top-k eigenvalues
// of a curvature matrix by Lanczos (each with its residual ‖Av − λv‖ and whether it converged),
// its trace by Hutch++ (with its standard error), and the gradient-noise covariance trace Tr Σ
// (exact, from per-example gradients streamed under the memory cap) with Tr Σ / B, the noise of
// a batch of B. The matrix is the Hessian, the generalized Gauss–Newton Jᵀ H_ℓ J, the Fisher
// (= Gauss–Newton for softmax cross-entropy) or the empirical Fisher (1/n) Σ g_i g_iᵀ
// (probe/curvature_matrices.hpp); --block restricts it to one layer's parameters, or to each
// layer in turn. Printed, and written as JSON (default RUN/probe.json).
#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "contract.hpp"
#include "descent/core/error.hpp"
#include "descent/core/file_io.hpp"
#include "descent/core/ops.hpp"
#include "descent/nn/objective.hpp"
#include "descent/probe/curvature.hpp"
#include "descent/probe/curvature_matrices.hpp"
#include "descent/probe/gradient_noise.hpp"
#include "descent/probe/linear_operator.hpp"
#include "descent/probe/model_hessian.hpp"
#include "descent/probe/trace_estimation.hpp"
#include "descent/train/trainer.hpp"

namespace descent::cli {
namespace {

struct ProbeArgs {
  std::string run_dir, measure = "sharpness,trace,noise", matrix = "hessian", block, split = "train", out;
  int64_t examples = 1000, batch = 128, trace_matvecs = 99;
  int k = 1;
  double tolerance = 1e-4, memory_cap_mb = 256;
  uint64_t seed = 0;
  bool overwrite = false;
  Output output;
  CLI::Option *k_opt = nullptr, *tolerance_opt = nullptr, *trace_matvecs_opt = nullptr, *batch_opt = nullptr,
              *block_opt = nullptr;
};

// Top-k eigenpairs and the Hutch++ trace of `op`, printed and as JSON.
nlohmann::json measure_operator(probe::LinearOperator& op, const ProbeArgs& a, bool want_top, bool want_trace) {
  nlohmann::json j = nlohmann::json::object();
  if (want_top) {
    probe::LanczosOptions o;
    o.num_eigenpairs = int(std::min<int64_t>(a.k, op.dimension()));
    o.tolerance = a.tolerance;
    o.seed = a.seed;
    const probe::EigenResult r = probe::lanczos_eigenpairs(op, o);
    a.output.say("{}", r.summary());
    nlohmann::json pairs = nlohmann::json::array();
    for (const auto& p : r.pairs)
      pairs.push_back({{"value", p.value}, {"residual_norm", p.residual_norm},
                       {"relative_residual", p.relative_residual}, {"converged", p.converged}});
    j["top"] = {{"eigenpairs", pairs}, {"converged", r.converged}, {"matvecs", r.matvecs},
                {"tolerance", a.tolerance}, {"method", r.method}};
    if (!r.converged)
      a.output.warn("Lanczos did NOT converge to relative residual {}: the eigenvalues are estimates", a.tolerance);
  }
  if (want_trace) {
    const probe::TraceEstimate t = probe::hutch_plus_plus_trace(op, {a.trace_matvecs, a.seed});
    a.output.say("{}\n", t.summary());
    j["trace"] = {{"value", t.trace}, {"standard_error", t.standard_error}, {"matvecs", t.matvecs},
                  {"method", t.method}};
  }
  return j;
}

void run_probe(const ProbeArgs& a) {
  bool want_sharpness = false, want_trace = false, want_noise = false;
  std::stringstream list(a.measure);
  for (std::string item; std::getline(list, item, ',');) {
    if (item == "sharpness") want_sharpness = true;
    else if (item == "trace") want_trace = true;
    else if (item == "noise") want_noise = true;
    else fail<InputError>("probe: unknown measurement '{}' (choose from sharpness, trace, noise)", item);
  }
  DESCENT_CHECK(a.matrix == "hessian" || a.matrix == "ggn" || a.matrix == "fisher" || a.matrix == "empirical-fisher",
                InputError, "probe: unknown --matrix '{}' (choose from hessian, ggn, fisher, empirical-fisher)",
                a.matrix);
  DESCENT_CHECK(a.split == "train" || a.split == "test", InputError, "probe: --split must be train or test, got '{}'",
                a.split);
  DESCENT_CHECK(a.examples > 0 && a.batch > 0 && a.k > 0 && a.trace_matvecs >= 3, InputError,
                "probe: --examples, --batch-size and --k must be positive and --trace-matvecs at least 3 (got {}, {}, {}, "
                "{})",
                a.examples, a.batch, a.k, a.trace_matvecs);
  DESCENT_CHECK(a.tolerance > 0 && a.memory_cap_mb > 0, InputError,
                "probe: --tolerance and --memory-cap-mb must be positive");
  refuse_unless(a.k_opt, want_sharpness, "without sharpness in --measure");
  refuse_unless(a.tolerance_opt, want_sharpness, "without sharpness in --measure");
  refuse_unless(a.trace_matvecs_opt, want_trace, "without trace in --measure");
  refuse_unless(a.batch_opt, want_noise, "without noise in --measure (it scales Tr Σ)");
  refuse_unless(a.block_opt, want_sharpness || want_trace, "to --measure noise alone");
  // The output is checked before the run is loaded and measured.
  const std::string out = a.out.empty() ? (std::filesystem::path(a.run_dir) / "probe.json").string() : a.out;
  train::check_run_folder(a.run_dir);
  check_output_file(out, "--out", a.overwrite);
  train::LoadedRun run = train::load_run(a.run_dir);
  const data::Dataset& all = a.split == "train" ? run.train : run.test;
  const data::Dataset d = all.take(std::min(a.examples, all.size()));
  nn::ModelObjective f(run.model, nn::Loss::softmax_cross_entropy, d.inputs, d.targets);
  const Tensor theta = run.model.parameters().clone();
  const auto evaluation = f.evaluate(theta);
  nlohmann::json j = {{"run", a.run_dir}, {"split", a.split}, {"examples", d.size()},
                      {"parameters", run.model.num_parameters()}, {"loss", evaluation.loss},
                      {"accuracy", evaluation.accuracy}, {"matrix", a.matrix}};
  a.output.say("{}: {} parameters, {} {} examples, loss {:.6g}, accuracy {:.4f}\n", a.run_dir,
             run.model.num_parameters(), d.size(), a.split, evaluation.loss, evaluation.accuracy);
  const size_t cap = size_t(a.memory_cap_mb * 1024 * 1024);
  // The curvature matrix, matrix-free.
  std::unique_ptr<probe::LinearOperator> op;
  // The Hessian of an MLP keeps its v-independent state (activations, back-propagated
  // signals) between products, within the memory cap.
  if (a.matrix == "hessian") op = std::make_unique<probe::ModelHessianOperator>(f, theta, cap);
  else if (a.matrix == "ggn") op = std::make_unique<probe::GaussNewtonOperator>(probe::gauss_newton_operator(f, theta));
  else if (a.matrix == "fisher") op = std::make_unique<probe::GaussNewtonOperator>(probe::fisher_operator(f, theta));
  else
    op = std::make_unique<probe::GradientCovarianceOperator>(probe::empirical_fisher_operator(f, theta, {}, cap));
  std::string key = a.matrix;  // "hessian_top", "ggn_trace", "empirical_fisher_top", ...
  for (char& ch : key)
    if (ch == '-') ch = '_';
  if (auto* fisher = dynamic_cast<probe::GradientCovarianceOperator*>(op.get())) {
    // Its construction pass gave tr F = (1/n) Σ ‖g_i‖² exactly; Hutch++ below estimates it again.
    a.output.say("tr(empirical Fisher) = {:.10g} (exact, {} examples)\n", fisher->trace(), fisher->num_examples());
    j["empirical_fisher_exact_trace"] = fisher->trace();
  }
  if (want_sharpness || want_trace) {
    if (a.block.empty()) {
      const nlohmann::json m = measure_operator(*op, a, want_sharpness, want_trace);
      if (m.contains("top")) j[key + "_top"] = m["top"];
      if (m.contains("trace")) j[key + "_trace"] = m["trace"];
      if (a.matrix == "hessian" && want_sharpness) j["sharpness"] = m["top"]["eigenpairs"][0]["value"];
    } else {
      const std::vector<probe::ParameterBlock> blocks =
          a.block == "each" ? probe::layer_blocks(run.model)
                            : std::vector<probe::ParameterBlock>{probe::find_block(run.model, a.block)};
      nlohmann::json out = nlohmann::json::array();
      for (const auto& b : blocks) {
        probe::BlockOperator block = probe::block_operator(*op, b.begin, b.end, b.name);
        a.output.say("-- {} ({} parameters)\n", block.name(), b.size());
        nlohmann::json m = measure_operator(block, a, want_sharpness, want_trace);
        m["name"] = b.name;
        m["begin"] = b.begin;
        m["end"] = b.end;
        out.push_back(m);
      }
      j[key + "_blocks"] = out;
    }
  }
  if (want_noise) {
    auto sigma = probe::gradient_noise_covariance_operator(f, theta, {}, cap);
    a.output.say("Tr Σ (per-example gradient covariance, exact over {} examples) = {:.6g}; Tr Σ / B = {:.6g} for B = {}; "
               "gradient buffer {} bytes (cap {})\n",
               sigma.num_examples(), sigma.trace(), sigma.trace() / double(a.batch), a.batch, sigma.buffer_bytes(),
               cap);
    j["noise"] = {{"trace_covariance", sigma.trace()}, {"batch", a.batch},
                  {"trace_batch_covariance", sigma.trace() / double(a.batch)},
                  {"mean_gradient_norm", norm(sigma.mean_gradient())},
                  {"gradient_buffer_bytes", sigma.buffer_bytes()}, {"memory_cap_bytes", cap}};
  }
  write_file_atomically(out, j.dump(2) + "\n");
  a.output.say("wrote {}\n", out);
  a.output.result(j);
}

}  // namespace

void register_probe(CLI::App& app) {
  auto* cmd = add_command(app, "probe",
                          "top-k eigenvalues and trace of the Hessian, Gauss-Newton, Fisher or empirical Fisher (whole "
                          "or per layer), and the gradient-noise trace of a trained run's model",
                          {"descent probe runs/mlp --k 5 --matrix ggn --out ggn.json",
                           "descent probe ntk runs/mlp --examples 500 --out ntk.npy"});
  auto a = std::make_shared<ProbeArgs>();
  cmd->add_option("run", a->run_dir, "run folder (config.json + model.safetensors or checkpoint)");
  cmd->add_option("--measure", a->measure, "comma-separated: sharpness, trace, noise")->capture_default_str();
  cmd->add_option("--matrix", a->matrix, "curvature matrix: hessian, ggn (Gauss-Newton), fisher, empirical-fisher")
      ->capture_default_str();
  a->block_opt = cmd->add_option("--block", a->block, "restrict to one layer's parameters (layer index, e.g. 2, or a tensor, e.g. "
                                       "2.weight), or 'each' for every layer in turn");
  cmd->add_option("--split", a->split, "data split: train or test")->capture_default_str();
  cmd->add_option("--examples", a->examples, "use the first N examples of the split")->capture_default_str();
  a->batch_opt = cmd->add_option("--batch-size", a->batch, "batch size B for the reported noise trace Tr Σ / B");
  a->k_opt = cmd->add_option("--k", a->k, "number of top eigenvalues")->capture_default_str();
  a->tolerance_opt = cmd->add_option("--tolerance", a->tolerance, "Lanczos relative residual ‖Hv − λv‖/|λ|")->capture_default_str();
  a->trace_matvecs_opt = cmd->add_option("--trace-matvecs", a->trace_matvecs, "matrix-vector products for Hutch++")->capture_default_str();
  add_memory_cap(cmd, a->memory_cap_mb, "cap on per-example gradients or cached Hessian state held at once (MiB)");
  add_seed(cmd, a->seed, "random seed of the probes");
  add_path(cmd, "--out", a->out, "JSON output (default RUN/probe.json)");
  add_overwrite(cmd, a->overwrite);
  add_output_flags(cmd, a->output);
  register_probe_ntk(*cmd);  // `descent probe ntk`
  cmd->callback([a, cmd] {
    if (!cmd->get_subcommands().empty()) return;  // a sub-probe (ntk) ran instead
    DESCENT_CHECK(!a->run_dir.empty(), InputError, "probe: give a run folder (`descent probe RUN`), or `descent probe ntk --help`");
    run_probe(*a);
  });
}

}  // namespace descent::cli
