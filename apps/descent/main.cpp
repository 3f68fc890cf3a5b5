// descent: optimization for machine learning, from the command line.
#include <cstdio>
#include <exception>

#include <fmt/core.h>

#include "commands.hpp"
#include "descent/core/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"descent: optimization for machine learning, and instruments for its theory"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "descent 0.1.0");
  descent::cli::register_train(app);
  descent::cli::register_eval(app);
  descent::cli::register_probe(app);
  descent::cli::register_demo(app);
  descent::cli::register_optimize(app);
  descent::cli::register_experiment(app);
  descent::cli::register_transport(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const descent::Error& e) {
    fmt::print(stderr, "descent: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "descent: unexpected error: {}\n", e.what());
    return 2;
  }
  return 0;
}
