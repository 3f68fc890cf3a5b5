// `descent probe ntk`: the empirical NTK Gram Θ(X, X) (or the cross kernel Θ(X, X2)) of a
// trained run's model at its parameters, written as NPY (probe/empirical_ntk.hpp).
//
//   descent probe ntk runs/mlp-seed0 --split test --examples 1000 --out ntk.npy
//   descent probe ntk runs/mlp-seed0 --data x.npy --x2 xtest.npy --full --dtype float64 --out k.npy
#include <algorithm>
#include <chrono>

#include <fmt/core.h>

#include "commands.hpp"
#include "contract.hpp"
#include "descent/core/error.hpp"
#include "descent/core/file_io.hpp"
#include "descent/data/readers.hpp"
#include "descent/probe/empirical_ntk.hpp"
#include "descent/train/trainer.hpp"

namespace descent::cli {
namespace {

struct NtkArgs {
  std::string run_dir, data_path, x2_path, split = "test", out = "ntk.npy", dtype = "float32", method = "automatic";
  int64_t examples = 1000;
  double memory_cap_mb = 256;
  bool full = false, overwrite = false;
  Output output;
  CLI::Option *split_opt = nullptr, *examples_opt = nullptr;
};

// Inputs as rows: [n, input shape...], the same with axes of size 1 dropped ([n, 28, 28] for a
// CNN on [1, 28, 28]), or flat rows [n, d] with d the input size. Anything else (a transposed
// [784, n], or [n/2, 1568]) would give a plausible kernel of the wrong data, so it is refused.
Tensor read_inputs(const std::string& path, const nn::Model& model) {
  Tensor x = data::read_npy(path);
  const Shape want = model.input_shape();
  auto without_ones = [](std::vector<int64_t> d) {
    std::erase(d, int64_t{1});
    return d;
  };
  std::vector<int64_t> tail, want_dims;
  for (int i = 1; i < x.rank(); ++i) tail.push_back(x.dim(i));
  for (int i = 0; i < want.rank(); ++i) want_dims.push_back(want[i]);
  const bool fits = x.rank() >= 2 && x.dim(0) > 0 &&
                    (without_ones(tail) == without_ones(want_dims) || (tail.size() == 1 && tail[0] == want.numel()));
  DESCENT_CHECK(fits, InputError,
                "probe ntk: '{}' has shape {} but the model takes examples of shape {}; give one example per row, "
                "[n, {}]",
                path, x.shape(), want, want.numel());
  std::vector<int64_t> dims = {x.dim(0)};
  for (int64_t d : want_dims) dims.push_back(d);
  x = x.reshape(Shape(dims));
  return is_floating(x.dtype()) ? x : x.astype(DType::f32);
}

void run_ntk(const NtkArgs& a) {
  refuse_unless(a.split_opt, a.data_path.empty(), "with --data (the inputs come from the file)");
  refuse_unless(a.examples_opt, a.data_path.empty(), "with --data (every row of the file is used)");
  train::check_run_folder(a.run_dir);
  check_output_file(a.out, "--out", a.overwrite);
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
  o.memory_budget = static_cast<size_t>(a.memory_cap_mb * 1024 * 1024);
  const auto start = std::chrono::steady_clock::now();
  const Tensor K = a.x2_path.empty() ? probe::empirical_ntk(model, X, o)
                                     : probe::empirical_ntk(model, X, read_inputs(a.x2_path, model), o);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  data::save_npy(a.out, K);
  const bool structured = o.method != probe::NtkMethod::generic && probe::has_linear_structure(model);
  a.output.say("empirical NTK {} of {} ({} parameters): {} method, {} examples per chunk, {:.2f} s -> {}\n",
               K.shape().str(), model.describe(), model.num_parameters(), structured ? "structured" : "generic",
               probe::empirical_ntk_chunk_size(model, o), seconds, a.out);
  a.output.result({{"out", a.out}, {"shape", K.shape().str()}, {"method", structured ? "structured" : "generic"},
                   {"parameters", model.num_parameters()}, {"seconds", seconds}});
}

}  // namespace

void register_probe_ntk(CLI::App& probe) {
  auto args = std::make_shared<NtkArgs>();
  CLI::App* cmd = add_command(probe, "ntk", "empirical neural tangent kernel of a trained run's model, as NPY",
                              {"descent probe ntk runs/mlp --split test --examples 1000 --out ntk.npy",
                               "descent probe ntk runs/mlp --data x.npy --x2 xtest.npy --full --out k.npy"});
  cmd->add_option("run", args->run_dir, "run folder of `descent train` (config.json, model.safetensors)")->required();
  args->split_opt = cmd->add_option("--split", args->split, "the run's own data: train or test split (standardized as in training)")
      ->check(CLI::IsMember({"train", "test"}));
  args->examples_opt = cmd->add_option("--examples", args->examples, "the first N examples of the split")->check(CLI::PositiveNumber);
  add_path(cmd, "--data", args->data_path, "or: inputs X as NPY [n, features...], used as they are");
  add_path(cmd, "--x2", args->x2_path, "second inputs (NPY): write the cross kernel Θ(X, X2) instead of the Gram");
  add_switch(cmd, "full", args->full, "per-class blocks [n1, C, n2, C] instead of their trace [n1, n2]");
  cmd->add_option("--dtype", args->dtype, "float32 or float64")->check(CLI::IsMember({"float32", "float64"}));
  cmd->add_option("--method", args->method, "automatic, structured (Linear MLPs) or generic")
      ->check(CLI::IsMember({"automatic", "structured", "generic"}));
  add_memory_cap(cmd, args->memory_cap_mb, "work memory for the chunks in MiB (the kernel itself is extra)");
  add_path(cmd, "--out", args->out, "output NPY file");
  add_overwrite(cmd, args->overwrite);
  add_output_flags(cmd, args->output);
  cmd->callback([args] { run_ntk(*args); });
}

}  // namespace descent::cli
