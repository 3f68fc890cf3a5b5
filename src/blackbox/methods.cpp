#include "descent/blackbox/methods.hpp"

#include <algorithm>
#include <cmath>

#include "descent/blackbox/bayesopt.hpp"
#include "descent/blackbox/cmaes.hpp"
#include "descent/blackbox/population.hpp"
#include "descent/core/error.hpp"

namespace descent::blackbox {
namespace {

// Which settings each method reads; one table serves method_uses, methods_using and the CLI.
struct MethodSettings {
  const char* name;
  bool sigma0, acquisition, batch_size;
};
constexpr MethodSettings kMethods[] = {
    {"cmaes", true, false, false}, {"ipop", true, false, false}, {"bipop", true, false, false},
    {"bo", false, true, true},     {"random", false, false, true}, {"cem", true, false, false},
    {"nes", true, false, false},   {"ga", false, false, false},
};

const MethodSettings* find_method(const std::string& name) {
  for (const auto& m : kMethods)
    if (name == m.name) return &m;
  return nullptr;
}

bool reads(const MethodSettings& m, std::string_view setting) {
  if (setting == "sigma0") return m.sigma0;
  if (setting == "acquisition") return m.acquisition;
  if (setting == "batch_size") return m.batch_size;
  fail<InputError>("blackbox: unknown method setting '{}'", setting);
}

std::string list(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i)
    s += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return s;
}

}  // namespace

const std::vector<std::string>& method_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& m : kMethods) v.emplace_back(m.name);
    return v;
  }();
  return names;
}

bool method_uses(const std::string& name, std::string_view setting) {
  const MethodSettings* m = find_method(name);
  return m != nullptr && reads(*m, setting);
}

std::string methods_using(std::string_view setting) {
  std::vector<std::string> names;
  for (const auto& m : kMethods)
    if (reads(m, setting)) names.emplace_back(m.name);
  return list(names);
}

std::unique_ptr<AskTell> make_method(const MethodOptions& a, const Bounds& box) {
  DESCENT_CHECK(find_method(a.name) != nullptr, InputError, "unknown method '{}' (use {})", a.name,
                list(method_names()));
  DESCENT_CHECK(a.sigma0 >= 0 && std::isfinite(a.sigma0), InputError, "method {}: sigma0 must be positive, got {}",
                a.name, a.sigma0);
  DESCENT_CHECK(a.batch_size >= 1, InputError, "method {}: the batch size must be at least 1, got {}", a.name,
                a.batch_size);
  Rng rng(a.seed);
  const Vector x0 = box.sample(rng);
  const double sigma = a.sigma0 > 0 ? a.sigma0 : 0.3 * box.width().mean();
  if (a.name == "cmaes" || a.name == "ipop" || a.name == "bipop") {
    CmaesOptions o;
    o.seed = a.seed;
    o.bounds = box;
    if (a.name == "cmaes") return std::make_unique<Cmaes>(x0, sigma, o);
    CmaesRestartOptions r;
    r.strategy = a.name == "ipop" ? CmaesRestartOptions::Strategy::ipop : CmaesRestartOptions::Strategy::bipop;
    return std::make_unique<CmaesWithRestarts>(x0, sigma, o, r);
  }
  if (a.name == "bo") {
    BayesOptOptions o;
    o.seed = a.seed;
    o.acquisition = parse_acquisition(a.acquisition);
    o.batch_size = a.batch_size;
    return std::make_unique<BayesianOptimizer>(box, o);
  }
  if (a.name == "random") return std::make_unique<RandomSearch>(box, a.batch_size, a.seed);
  if (a.name == "cem") {
    CrossEntropyOptions o;
    o.seed = a.seed;
    return std::make_unique<CrossEntropyMethod>(x0, sigma, o);
  }
  if (a.name == "nes") {
    NesOptions o;
    o.seed = a.seed;
    return std::make_unique<SeparableNes>(x0, sigma, o);
  }
  GeneticOptions o;  // ga
  o.seed = a.seed;
  return std::make_unique<GeneticAlgorithm>(box, o);
}

nlohmann::json result_json(const MinimizeResult& r, const std::string& problem, const std::string& method,
                           double f_star) {
  nlohmann::json j{{"problem", problem},       {"method", method},     {"evaluations", r.evaluations},
                   {"failures", r.failures}, {"stopped", r.reason}};
  if (r.x.size() > 0) {
    j["best_f"] = r.f;
    j["best_x"] = std::vector<double>(r.x.data(), r.x.data() + r.x.size());
    if (std::isfinite(f_star)) j["regret"] = r.f - f_star;
  } else {
    j["best_f"] = nullptr;
    j["note"] = "every evaluation failed";
  }
  const auto failed = std::find_if(r.history.begin(), r.history.end(), [](const Evaluation& e) { return !e.ok; });
  if (failed != r.history.end()) j["first_failure"] = failed->error;
  return j;
}

}  // namespace descent::blackbox
