// descent: optimization for machine learning, from the command line.
#include "commands.hpp"
#include "contract.hpp"

int main(int argc, char** argv) {
  CLI::App app{"descent: optimization for machine learning, and instruments for its theory", "descent"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "descent " + descent::cli::version());
  // Every option's default shows in --help.
  app.option_defaults()->always_capture_default();
  app.footer(
      "Run `descent help COMMAND` or `descent COMMAND --help` for a command's flags, defaults and an example.\n"
      "Exit status: 0 success; 1 the job ran but failed; 2 usage or input error; 128+n stopped by signal n.");
  descent::cli::register_train(app);
  descent::cli::register_eval(app);
  descent::cli::register_probe(app);
  descent::cli::register_demo(app);
  descent::cli::register_optimize(app);
  descent::cli::register_experiment(app);
  descent::cli::register_transport(app);
  descent::cli::register_fit(app);
  return descent::cli::run_command(app, argc, argv);
}
