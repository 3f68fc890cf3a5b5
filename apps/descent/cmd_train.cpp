// `descent train` (the main job: a model on Fashion-MNIST, checkpointed) and `descent eval`.
#include <filesystem>

#include <fmt/core.h>

#include "commands.hpp"
#include "contract.hpp"
#include "descent/core/error.hpp"
#include "descent/core/safetensors.hpp"
#include "descent/data/fashion_mnist.hpp"
#include "descent/optim/factory.hpp"
#include "descent/train/trainer.hpp"

namespace descent::cli {
namespace {

std::string key_to_flag(const std::string& key) {
  std::string flag = "--" + key;
  for (char& ch : flag)
    if (ch == '_') ch = '-';
  return flag;
}

nlohmann::json result_json(const train::TrainResult& r) {
  nlohmann::json j = {{"run", r.run_dir},       {"steps", r.steps},       {"seconds", r.seconds},
                      {"completed", r.completed}, {"interrupted", r.interrupted}};
  if (!r.epochs.empty()) j["final"] = train::to_json(r.epochs.back());
  return j;
}

}  // namespace

void register_train(CLI::App& app) {
  auto* cmd = add_command(
      app, "train",
      "train a model on real data (default: an MLP on Fashion-MNIST with momentum SGD), with metrics, plots and "
      "crash-safe checkpoints",
      {"descent train --epochs 5 --out runs/mlp", "descent train --dataset two-moons --hidden 32,32 --optimizer adam "
                                                  "--learning-rate 0.003 --out runs/moons",
       "descent train --optimizer lion --learning-rate 1e-4 --optimizer-option beta2=0.98 --out runs/lion",
       "descent train --list-optimizers", "descent train --resume runs/mlp"});
  auto config = std::make_shared<train::TrainConfig>();
  auto config_file = std::make_shared<std::string>();
  auto resume = std::make_shared<std::string>();
  auto output = std::make_shared<Output>();
  auto overwrite = std::make_shared<bool>(false);
  auto given = std::make_shared<std::vector<std::pair<CLI::Option*, std::string>>>();
  auto& c = *config;
  auto add = [&](const std::string& key, auto& field, const std::string& help) {
    CLI::Option* opt = nullptr;
    if constexpr (std::is_same_v<std::decay_t<decltype(field)>, bool>)
      opt = add_switch(cmd, key_to_flag(key).substr(2), field, help);
    else
      opt = cmd->add_option(key_to_flag(key), field, help);
    given->emplace_back(opt, key);
    return opt;
  };
  CLI::Option* config_opt = add_path(cmd, "--config", *config_file,
                                     "JSON file of settings (keys as the flags, with _); flags override it");
  add_path(cmd, "--resume", *resume, "continue the run in this folder from its last checkpoint");
  add("dataset", c.dataset, "fashion-mnist | two-moons | gaussian-mixture");
  add("data_dir", c.data_dir, "Fashion-MNIST folder (default $DESCENT_FASHION_MNIST_DIR or Debian's)");
  add("train_examples", c.train_examples, "use the first N training examples (0 = all)");
  add("test_examples", c.test_examples, "evaluate on the first N test examples (0 = all)");
  add("model", c.model, "mlp | cnn");
  add("hidden", c.hidden, "MLP hidden widths")->delimiter(',');
  add("activation", c.activation, "relu | tanh | sigmoid | gelu | softplus | erf | identity");
  add("parameterization", c.parameterization, "standard | ntk | mean_field");
  add("cnn_channels1", c.cnn_channels1, "CNN: channels of the first convolution");
  add("cnn_channels2", c.cnn_channels2, "CNN: channels of the second convolution");
  add("dropout", c.dropout, "dropout probability before the output layer(s)");
  add("dtype", c.dtype, "float32 | float64");
  add("optimizer", c.optimizer, "optimizer by name (see --list-optimizers)");
  add("learning_rate", c.learning_rate, "peak learning rate η");
  auto option_pairs = std::make_shared<std::vector<std::string>>();
  auto* option_flag = cmd->add_option("--optimizer-option", *option_pairs,
                                      "KEY=VALUE option of the optimizer (repeatable; see --list-optimizers)");
  auto list = std::make_shared<bool>(false);
  cmd->add_flag("--list-optimizers", *list, "print every optimizer, one line each, with its options, and exit");
  add("momentum", c.momentum, "momentum coefficient, where the optimizer has one (default: the optimizer's)");
  add("weight_decay", c.weight_decay, "weight decay, where the optimizer has one (default: the optimizer's)");
  add("beta1", c.beta1, "β1, where the optimizer has one (default: the optimizer's)");
  add("beta2", c.beta2, "β2, where the optimizer has one (default: the optimizer's)");
  add("eps", c.eps, "ε, where the optimizer has one (default: the optimizer's)");
  add("schedule", c.schedule, "constant | cosine | step");
  add("warmup_steps", c.warmup_steps, "linear warm-up steps");
  add("step_gamma", c.step_gamma, "step schedule: factor per --step-epochs");
  add("step_epochs", c.step_epochs, "step schedule: epochs per decay");
  add("clip_norm", c.clip_norm, "clip the gradient's global norm (0 = off)");
  add("epochs", c.epochs, "epochs");
  add("batch_size", c.batch_size, "mini-batch size");
  add("max_steps", c.max_steps, "stop after this many steps in all (0 = no limit)");
  add("seed", c.seed, "seed of every random draw (init, batches, dropout)")->check(seed_validator());
  add("threads", c.threads, "BLAS threads");
  add("out", c.out, "run folder (default runs/<model>-seed<seed>); refused when it holds files, unless --overwrite")
      ->check(CLI::Validator([](std::string& v) { return v.empty() ? std::string("is empty; give a folder") : ""; },
                             "PATH", "non-empty path"));
  add("checkpoint_every", c.checkpoint_every, "steps between checkpoints (also at each epoch end)");
  add("plots", c.plots, "render loss/accuracy plots with gnuplot");
  add("progress", c.progress, "progress bar on a terminal");
  add("probe_every", c.probe_every, "landscape probes every N steps and at step 0, written to probes.csv (0 = none)");
  add("probe", c.probe, "probes: comma-separated sharpness (λ_max, Lanczos), trace (Tr H, Hutch++), noise (Tr Σ)");
  add("probe_examples", c.probe_examples, "probe batch: the first N training examples");
  add("probe_trace_matvecs", c.probe_trace_matvecs, "Hessian-vector products per Hutch++ trace");
  add("probe_tolerance", c.probe_tolerance, "Lanczos relative residual ‖Hv − λv‖/|λ| for λ_max");
  add("probe_memory_cap_mb", c.probe_memory_cap_mb, "cap on per-example gradients held at once for Tr Σ (MiB)");
  CLI::Option* overwrite_opt = add_overwrite(cmd, *overwrite);
  add_output_flags(cmd, *output);
  cmd->callback([config, config_file, resume, given, output, overwrite, config_opt, overwrite_opt, option_pairs,
                 option_flag, list] {
    if (*list) {
      fmt::print("{}", optim::optimizer_list_text());
      return;
    }
    train::TrainResult result;
    const train::OutputOptions out{*overwrite, output->quiet || output->json};
    if (!resume->empty()) {
      refuse_unless(config_opt, false, "with --resume (the run's own config.json is its configuration)");
      refuse_unless(overwrite_opt, false, "with --resume (a resumed run continues in its own folder)");
      for (const auto& [opt, key] : *given)
        refuse_unless(opt, false, "with --resume (the run's config.json holds its settings)");
      refuse_unless(option_flag, false, "with --resume (the run's config.json holds its settings)");
      train::install_interrupt_handlers();
      result = train::resume_training(*resume, out);
    } else {
      nlohmann::json j = config_file->empty() ? train::to_json(train::TrainConfig{})
                                              : train::to_json(train::load_config(*config_file));
      const nlohmann::json flags = train::to_json(*config);
      for (const auto& [opt, key] : *given)
        if (opt->count() > 0) j[key] = flags[key];
      for (const auto& [key, value] : optim::parse_option_pairs(*option_pairs)) j["optimizer_options"][key] = value;
      const train::TrainConfig resolved = train::config_from_json(j, "from the command line");
      for (const auto& [opt, key] : *given)
        refuse_unless(opt, train::inapplicable_reason(resolved, key).empty(),
                      train::inapplicable_reason(resolved, key));
      train::install_interrupt_handlers();
      result = train::run_training(resolved, out);
    }
    output->result(result_json(result));
    if (result.interrupted) std::exit(128 + result.interrupt_signal);
  });
}

void register_eval(CLI::App& app) {
  auto* cmd = add_command(app, "eval", "evaluate a finished run's model on the test set", {"descent eval runs/mlp"});
  auto run_dir = std::make_shared<std::string>();
  auto output = std::make_shared<Output>();
  cmd->add_option("run", *run_dir, "run folder written by `descent train`")->required();
  add_output_flags(cmd, *output);
  cmd->callback([run_dir, output] {
    const auto r = train::evaluate_run(*run_dir);
    output->say("{}: test loss {:.4f}, accuracy {:.2f}% on {} examples\n", *run_dir, r.loss, 100 * r.accuracy,
                r.examples);
    output->result({{"run", *run_dir}, {"loss", r.loss}, {"accuracy", r.accuracy}, {"examples", r.examples}});
    DESCENT_CHECK(std::isfinite(r.loss), NonFiniteError,
                  "eval: the test loss of '{}' is {} (non-finite parameters?); the model is unusable", *run_dir,
                  r.loss);
  });
}

}  // namespace descent::cli
