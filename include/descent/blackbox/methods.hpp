#pragma once
// Every black-box method by name, with the settings each one reads: the one factory behind
// `descent optimize` (and anything else that picks a method from a string), and the summary
// of a finished study as JSON.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "descent/blackbox/ask_tell.hpp"

namespace descent::blackbox {

struct MethodOptions {
  std::string name = "cmaes";      // one of method_names()
  uint64_t seed = 0;               // every random draw of the method (and its start point)
  double sigma0 = 0.0;             // cmaes, ipop, bipop, cem, nes: initial step (0 = 0.3 × mean box width)
  std::string acquisition = "ei";  // bo: ei, pi, ucb, thompson, kg, wei
  int batch_size = 1;              // bo: points per batch (constant liar); random: batch size
};

// cmaes, ipop, bipop, bo, random, cem, nes, ga.
const std::vector<std::string>& method_names();

// Whether method `name` reads the MethodOptions setting `setting` ("sigma0", "acquisition",
// "batch_size"); and the methods that do, as "cmaes, ipop, bipop, cem and nes", for messages.
bool method_uses(const std::string& name, std::string_view setting);
std::string methods_using(std::string_view setting);

// The method, started at a point drawn uniformly in `box` from the seed. Throws InputError for
// an unknown name or a bad setting.
std::unique_ptr<AskTell> make_method(const MethodOptions& options, const Bounds& box);

// The study's outcome: problem, method, evaluations, failures, why it stopped, best f and x
// (null when every evaluation failed, with a note), the regret when f* is known (finite),
// and the first failure's message.
nlohmann::json result_json(const MinimizeResult& r, const std::string& problem, const std::string& method,
                           double f_star);

}  // namespace descent::blackbox
