// `descent experiment list` and `descent experiment run NAME [--quick] --out DIR [--seed S]`:
// runs one seed claim, writes DIR/result.json (and any CSV), fails when the claim fails.
#include <fmt/core.h>

#include "commands.hpp"
#include "descent/core/error.hpp"
#include "descent/experiments/experiment.hpp"

namespace descent::cli {

void register_experiment(CLI::App& app) {
  auto* cmd = app.add_subcommand("experiment", "run the seed texts' claims as self-checking experiments");
  cmd->require_subcommand(1);
  auto* list = cmd->add_subcommand("list", "list the registered experiments");
  list->callback([] {
    for (const auto& e : experiments::Registry::instance().all())
      fmt::print("{:<34} {} {}\n  {}\n", e.name, e.source.seed, e.source.section, e.claim);
  });
  auto* run = cmd->add_subcommand("run", "run one experiment; exit status 1 when its claim fails");
  auto name = std::make_shared<std::string>();
  auto opt = std::make_shared<experiments::RunOptions>();
  run->add_option("name", *name, "experiment name (see `descent experiment list`)")->required();
  run->add_flag("--quick", opt->quick, "the small form (seconds)");
  run->add_option("--out", opt->output_dir, "output folder for result.json and CSV files")->required();
  run->add_option("--seed", opt->seed, "random seed");
  run->callback([name, opt] {
    const auto* e = experiments::Registry::instance().find(*name);
    if (!e) fail<InputError>("unknown experiment '{}' (see `descent experiment list`)", *name);
    opt->progress = true;  // shown only when stderr is a terminal
    const auto r = experiments::run(*e, *opt);
    fmt::print("{}\n", experiments::to_json(r).dump(2));
    if (!r.passed) fail<Error>("experiment '{}': the claim was NOT confirmed (see {}/result.json)", *name, opt->output_dir);
  });
}

}  // namespace descent::cli
