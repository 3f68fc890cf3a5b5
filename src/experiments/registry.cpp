#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "descent/core/error.hpp"
#include "descent/experiments/experiment.hpp"

namespace descent::experiments {

// Temporary: the experiments not yet moved to the kit (DESCENT_EXPERIMENT registers itself).
void register_ei_closed_form_vs_monte_carlo(Registry&);
void register_ntk_concentration(Registry&);
void register_overparameterized_least_squares(Registry&);
void register_ntk_eigen_convergence(Registry&);
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
  register_ei_closed_form_vs_monte_carlo(r);
  register_ntk_concentration(r);
  register_overparameterized_least_squares(r);
  register_ntk_eigen_convergence(r);
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
  // Built on first use, so that the static registrars of DESCENT_EXPERIMENT, which run in
  // an unspecified order across files, all find it.
  static Registry* registry = [] {
    auto* r = new Registry;
    register_all(*r);
    return r;
  }();
  return *registry;
}

void Registry::add(Experiment e) {
  DESCENT_CHECK(find(e.name) == nullptr, Error, "experiment '{}' is registered twice", e.name);
  const auto at = std::lower_bound(experiments_.begin(), experiments_.end(), e.name,
                                   [](const Experiment& x, const std::string& n) { return x.name < n; });
  experiments_.insert(at, std::move(e));
}

void Registry::add(LegacyExperiment e) {
  auto body = [run = e.run](Context& ctx) {
    ctx.adopt_legacy_result(run(RunOptions{ctx.quick, ctx.out.string(), ctx.seed, false}));
  };
  add(Experiment{e.name, e.source, e.claim, body});
}

const Experiment* Registry::find(const std::string& name) const {
  for (const auto& e : experiments_)
    if (e.name == name) return &e;
  return nullptr;
}

json to_json(const Result& r) {
  json checks = json::array();
  for (const auto& c : r.checks)
    checks.push_back({{"name", c.name}, {"relation", c.relation}, {"measured", c.measured}, {"expected", c.expected},
                      {"tolerance", c.tolerance}, {"passed", c.passed}});
  return json{{"name", r.name},
              {"source", {{"seed", r.source.seed}, {"section", r.source.section}}},
              {"claim", r.claim},
              {"measured", r.measured},
              {"expected", r.expected},
              {"tolerance", r.tolerance},
              {"checks", checks},
              {"passed", r.passed},
              {"notes", r.notes},
              {"run", {{"seed", r.seed}, {"form", r.quick ? "quick" : "full"}, {"descent_version", r.version},
                       {"wall_time_s", r.wall_time_s}}}};
}

Result run(const Experiment& e, const RunOptions& options) {
  namespace fs = std::filesystem;
  if (!options.output_dir.empty()) fs::create_directories(options.output_dir);
  const auto start = std::chrono::steady_clock::now();
  Result r;
  {
    Context ctx(e, options);
    e.body(ctx);
    r = ctx.result();
  }
  r.wall_time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.name = e.name;
  r.source = e.source;
  r.claim = e.claim;
  r.seed = options.seed;
  r.quick = options.quick;
  r.version = DESCENT_VERSION;
  if (!options.output_dir.empty()) {
    // Written beside and renamed over, so a reader never sees half a result.
    const auto path = fs::path(options.output_dir) / "result.json";
    const auto partial = fs::path(options.output_dir) / "result.json.partial";
    {
      std::ofstream out(partial);
      DESCENT_CHECK(out.good(), InputError, "experiment '{}': cannot write '{}'", e.name, partial.string());
      out << to_json(r).dump(2) << "\n";
      out.close();
      DESCENT_CHECK(!out.fail(), InputError, "experiment '{}': writing '{}' failed", e.name, partial.string());
    }
    fs::rename(partial, path);
  }
  return r;
}

}  // namespace descent::experiments
