#pragma once
// Each subcommand of the `descent` tool lives in its own file and registers itself here.
#include <CLI/CLI.hpp>

namespace descent::cli {

// Adds `descent demo`: gradient and Hessian-vector product of an MLP loss, checked
// against finite differences (the foundation's smallest honest demo).
void register_demo(CLI::App& app);
// `descent optimize`: black-box minimization of a benchmark or an external command.
void register_optimize(CLI::App& app);
// `descent experiment list|run`: the seed claims as self-checking experiments.
void register_experiment(CLI::App& app);
// `descent transport`: exact, entropic and closed-form OT between two point clouds.
void register_transport(CLI::App& app);
// `descent fit MODEL DATA`: MM/EM fits (gmm, mvn-missing, student-t, logistic-mm) (cmd_fit.cpp).
void register_fit(CLI::App& app);
// `descent train`: the main job (cmd_train.cpp), and `descent eval` of a finished run.
void register_train(CLI::App& app);
void register_eval(CLI::App& app);
// `descent probe RUN`: sharpness (top-k Hessian eigenvalues with residuals), Hessian trace and
// gradient-noise trace of a trained run's model (cmd_probe.cpp).
void register_probe(CLI::App& app);
// `descent probe ntk`: the empirical NTK of a run's model as NPY (cmd_probe_ntk.cpp); adds
// itself to the given `probe` subcommand.
void register_probe_ntk(CLI::App& probe);

}  // namespace descent::cli
