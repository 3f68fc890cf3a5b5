#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "descent/core/error.hpp"
#include "descent/experiments/experiment.hpp"

namespace descent::experiments {

Registry& Registry::instance() {
  // Built on first use, so that the static registrars of DESCENT_EXPERIMENT, which run in
  // an unspecified order across files, all find it.
  static Registry* registry = new Registry;
  return *registry;
}

void Registry::add(Experiment e) {
  DESCENT_CHECK(find(e.name) == nullptr, Error, "experiment '{}' is registered twice", e.name);
  const auto at = std::lower_bound(experiments_.begin(), experiments_.end(), e.name,
                                   [](const Experiment& x, const std::string& n) { return x.name < n; });
  experiments_.insert(at, std::move(e));
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
