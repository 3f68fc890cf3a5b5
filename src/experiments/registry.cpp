#include <filesystem>
#include <fstream>

#include "descent/core/error.hpp"
#include "descent/experiments/experiment.hpp"

namespace descent::experiments {

// One line per experiment file (see experiment.hpp for why the list is explicit).
void register_queens_local_search(Registry&);
void register_eda_one_max(Registry&);
void register_random_vs_grid_search(Registry&);
void register_ei_closed_form_vs_monte_carlo(Registry&);
void register_ntk_concentration(Registry&);
void register_overparameterized_least_squares(Registry&);
void register_ntk_eigen_convergence(Registry&);
void register_ntk_kernel_drift(Registry&);
void register_ntk_wide_net_kernel_regression(Registry&);
void register_ntk_complexity_random_labels(Registry&);
void register_mirror_descent_bregman(Registry&);
void register_steepest_descent_l43(Registry&);
void register_max_margin_steepest(Registry&);
void register_natural_gradient_coupled_gaussian(Registry&);
void register_anisotropic_noise_escape(Registry&);
void register_noise_follows_curvature(Registry&);
void register_ntk_spectral_bias(Registry&);
void register_ntk_vs_mean_field(Registry&);
void register_diagonal_linear_net(Registry&);
void register_perturbed_gd_saddle_escape(Registry&);
void register_scale_invariant_weight_decay(Registry&);
void register_edge_of_stability(Registry&);

namespace {
void register_all(Registry& r) {
  register_queens_local_search(r);
  register_eda_one_max(r);
  register_random_vs_grid_search(r);
  register_ei_closed_form_vs_monte_carlo(r);
  register_ntk_concentration(r);
  register_overparameterized_least_squares(r);
  register_ntk_eigen_convergence(r);
  register_ntk_kernel_drift(r);
  register_ntk_wide_net_kernel_regression(r);
  register_ntk_complexity_random_labels(r);
  register_mirror_descent_bregman(r);
  register_steepest_descent_l43(r);
  register_max_margin_steepest(r);
  register_natural_gradient_coupled_gaussian(r);
  register_anisotropic_noise_escape(r);
  register_noise_follows_curvature(r);
  register_ntk_spectral_bias(r);
  register_ntk_vs_mean_field(r);
  register_diagonal_linear_net(r);
  register_perturbed_gd_saddle_escape(r);
  register_scale_invariant_weight_decay(r);
  register_edge_of_stability(r);
}
}  // namespace

Registry& Registry::instance() {
  static Registry* registry = [] {
    auto* r = new Registry;
    register_all(*r);
    return r;
  }();
  return *registry;
}

void Registry::add(Experiment e) {
  DESCENT_CHECK(find(e.name) == nullptr, Error, "experiment '{}' is registered twice", e.name);
  experiments_.push_back(std::move(e));
}

const Experiment* Registry::find(const std::string& name) const {
  for (const auto& e : experiments_)
    if (e.name == name) return &e;
  return nullptr;
}

json to_json(const Result& r) {
  return json{{"name", r.name},
              {"source", {{"seed", r.source.seed}, {"section", r.source.section}}},
              {"claim", r.claim},
              {"measured", r.measured},
              {"expected", r.expected},
              {"tolerance", r.tolerance},
              {"passed", r.passed},
              {"notes", r.notes}};
}

Result run(const Experiment& e, const RunOptions& options) {
  if (!options.output_dir.empty()) std::filesystem::create_directories(options.output_dir);
  Result r = e.run(options);
  r.name = e.name;
  r.source = e.source;
  r.claim = e.claim;
  if (!options.output_dir.empty()) {
    const auto path = std::filesystem::path(options.output_dir) / "result.json";
    std::ofstream out(path);
    DESCENT_CHECK(out.good(), InputError, "experiment '{}': cannot write '{}'", e.name, path.string());
    out << to_json(r).dump(2) << "\n";
  }
  return r;
}

}  // namespace descent::experiments
