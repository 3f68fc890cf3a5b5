#pragma once
// Each subcommand of the `descent` tool lives in its own file and registers itself here.
#include <CLI/CLI.hpp>

namespace descent::cli {

// Adds `descent demo`: gradient and Hessian-vector product of an MLP loss, checked
// against finite differences (the foundation's smallest honest demo).
void register_demo(CLI::App& app);

}  // namespace descent::cli
