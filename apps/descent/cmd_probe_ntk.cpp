// `descent probe ntk`: the empirical NTK Gram Θ(X, X) (or the cross kernel Θ(X, X2)) of a
// trained run's model at its parameters, written as NPY (probe/empirical_ntk.hpp).
//
//   descent probe ntk --run runs/mlp-seed0 --split test --examples 1000 --out ntk.npy
//   descent probe ntk --run runs/mlp-seed0 --data x.npy --x2 xtest.npy --full --dtype float64 --out k.npy
#include <algorithm>
#include <chrono>

#include <fmt/core.h>

#include "commands.hpp"
#include "descent/core/error.hpp"
#include "descent/data/readers.hpp"
#include "descent/probe/empirical_ntk.hpp"
#include "descent/train/trainer.hpp"

namespace descent::cli {
namespace {

struct NtkArgs {
  std::string run_dir, data_path, x2_path, split = "test", out = "ntk.npy", dtype = "float32", method = "automatic";
  int64_t examples = 1000, memory_mib = 256;
  bool full = false;
};

Tensor read_inputs(const std::string& path, const nn::Model& model) {
  Tensor x = data::read_npy(path);
  Shape want = model.input_shape();
  DESCENT_CHECK(x.rank() >= 1 && x.numel() % want.numel() == 0, InputError,
                "probe ntk: '{}' of shape {} does not hold examples of shape {}", path, x.shape(), want);
  std::vector<int64_t> dims = {x.numel() / want.numel()};
  for (int i = 0; i < want.rank(); ++i) dims.push_back(want[i]);
  x = x.reshape(Shape(dims));
  return is_floating(x.dtype()) ? x : x.astype(DType::f32);
}

void run_ntk(const NtkArgs& a) {
  // The run's model at its final θ, and its data standardized as in training (train/trainer.hpp).
  train::LoadedRun run = train::load_run(a.run_dir);
  nn::Model& model = run.model;
  auto take = [&](const data::Dataset& d) { return d.inputs.rows(0, std::min(a.examples, d.size())); };
  const Tensor X = !a.data_path.empty() ? read_inputs(a.data_path, model)
                   : a.split == "train" ? take(run.train)
                                        : take(run.test);
  probe::EmpiricalNtkOptions o;
  o.outputs = a.full ? probe::NtkOutputs::full : probe::NtkOutputs::trace;
  o.dtype = a.dtype == "float64" ? DType::f64 : DType::f32;
  o.method = a.method == "structured" ? probe::NtkMethod::structured
             : a.method == "generic"  ? probe::NtkMethod::generic
                                      : probe::NtkMethod::automatic;
  o.memory_budget = static_cast<size_t>(a.memory_mib) << 20;
  const auto start = std::chrono::steady_clock::now();
  const Tensor K = a.x2_path.empty() ? probe::empirical_ntk(model, X, o)
                                     : probe::empirical_ntk(model, X, read_inputs(a.x2_path, model), o);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  data::save_npy(a.out, K);
  const bool structured = o.method != probe::NtkMethod::generic && probe::has_linear_structure(model);
  fmt::print("empirical NTK {} of {} ({} parameters): {} method, {} examples per chunk, {:.2f} s -> {}\n",
             K.shape().str(), model.describe(), model.num_parameters(), structured ? "structured" : "generic",
             probe::empirical_ntk_chunk_size(model, o), seconds, a.out);
}

}  // namespace

void register_probe_ntk(CLI::App& probe) {
  auto args = std::make_shared<NtkArgs>();
  CLI::App* cmd = probe.add_subcommand("ntk", "empirical neural tangent kernel of a trained run's model, as NPY");
  cmd->add_option("--run", args->run_dir, "run folder of `descent train` (config.json, model.safetensors)")->required();
  cmd->add_option("--split", args->split, "the run's own data: train or test split (standardized as in training)")
      ->check(CLI::IsMember({"train", "test"}));
  cmd->add_option("--examples", args->examples, "the first N examples of the split")->check(CLI::PositiveNumber);
  cmd->add_option("--data", args->data_path, "or: inputs X as NPY [n, features...], used as they are");
  cmd->add_option("--x2", args->x2_path, "second inputs (NPY): write the cross kernel Θ(X, X2) instead of the Gram");
  cmd->add_flag("--full", args->full, "per-class blocks [n1, C, n2, C] instead of their trace [n1, n2]");
  cmd->add_option("--dtype", args->dtype, "float32 or float64")->check(CLI::IsMember({"float32", "float64"}));
  cmd->add_option("--method", args->method, "automatic, structured (Linear MLPs) or generic")
      ->check(CLI::IsMember({"automatic", "structured", "generic"}));
  cmd->add_option("--memory-mib", args->memory_mib, "work memory for the chunks (the kernel itself is extra)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", args->out, "output NPY file");
  cmd->callback([args] { run_ntk(*args); });
}

}  // namespace descent::cli
