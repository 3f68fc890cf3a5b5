// `descent demo`: placeholder until the autodiff demo lands.
#include "commands.hpp"

namespace descent::cli {
void register_demo(CLI::App& app) { app.add_subcommand("demo", "Gradient and HVP of an MLP loss, checked"); }
}  // namespace descent::cli
