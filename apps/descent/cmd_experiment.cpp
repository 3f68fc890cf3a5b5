// `descent experiment list` and `descent experiment run NAME [--quick] --out DIR [--seed S]`:
// runs one seed claim, writes DIR/result.json (and any CSV), fails when the claim fails.
#include <fmt/core.h>

#include "commands.hpp"
#include "contract.hpp"
#include "descent/core/error.hpp"
#include "descent/core/file_io.hpp"
#include "descent/experiments/experiment.hpp"

namespace descent::cli {

void register_experiment(CLI::App& app) {
  auto* cmd = add_command(app, "experiment", "run the seed texts' claims as self-checking experiments",
                          {"descent experiment list", "descent experiment run ntk_concentration --quick --out out/ntk"});
  cmd->require_subcommand(1);
  auto list_output = std::make_shared<Output>();
  auto* list = add_command(*cmd, "list", "list the registered experiments", {"descent experiment list --json"});
  add_output_flags(list, *list_output);
  list->callback([list_output] {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& e : experiments::Registry::instance().all()) {
      list_output->say("{:<34} {} {}\n  {}\n", e.name, e.source.seed, e.source.section, e.claim);
      all.push_back({{"name", e.name}, {"seed", e.source.seed}, {"section", e.source.section}, {"claim", e.claim}});
    }
    list_output->result(all);
  });
  auto* run = add_command(*cmd, "run", "run one experiment; exit status 1 when its claim fails",
                          {"descent experiment run ntk_concentration --quick --out out/ntk --seed 3"});
  auto name = std::make_shared<std::string>();
  auto opt = std::make_shared<experiments::RunOptions>();
  auto output = std::make_shared<Output>();
  auto overwrite = std::make_shared<bool>(false);
  run->add_option("name", *name, "experiment name (see `descent experiment list`)")->required();
  add_switch(run, "quick", opt->quick, "the small form (seconds)");
  add_path(run, "--out", opt->output_dir, "output folder for result.json and CSV files")->required();
  add_seed(run, opt->seed);
  add_overwrite(run, *overwrite);
  add_output_flags(run, *output);
  run->callback([name, opt, output, overwrite] {
    const auto* e = experiments::Registry::instance().find(*name);
    if (!e) {
      std::vector<std::string> names;
      for (const auto& x : experiments::Registry::instance().all()) names.push_back(x.name);
      const std::string guess = closest_name(*name, names);
      fail<InputError>("unknown experiment '{}'{} (see `descent experiment list`)", *name,
                       guess.empty() ? "" : fmt::format("; did you mean '{}'?", guess));
    }
    check_output_folder(opt->output_dir, "--out", *overwrite, "choose another folder or pass --overwrite");
    opt->progress = !output->quiet && !output->json;  // shown only when stderr is a terminal
    const auto r = experiments::run(*e, *opt);
    const nlohmann::json j = experiments::to_json(r);
    output->result(j);
    output->say("{}: {} (seed {}, {} form); details in {}/result.json\n", r.name,
                r.passed ? "claim confirmed" : "claim NOT confirmed", opt->seed, opt->quick ? "quick" : "full",
                opt->output_dir);
    if (output->human()) fmt::print("measured {}\nexpected {}\n", j.value("measured", nlohmann::json()).dump(),
                                    j.value("expected", nlohmann::json()).dump());
    if (!r.passed) fail<Error>("experiment '{}': the claim was NOT confirmed (see {}/result.json)", *name, opt->output_dir);
  });
}

}  // namespace descent::cli
