#pragma once
// Optimizers by name, with their options as (key, number) pairs: the one place where a name
// such as "nadam" becomes a chain, shared by `descent train`, the CLI and language bindings.
//   auto opt = make_optimizer({.name = "lion", .learning_rate = 1e-4, .options = {{"beta2", 0.98}}});
// Every optimizer's options have torch.optim's (or the paper's) names and defaults; booleans
// are 0 or 1. An option the optimizer does not have is refused with InputError naming the
// ones it has (so a flag that does not apply to the chosen optimizer is an error, not ignored).
// The common options apply to every optimizer and wrap it:
//   maximize (negate() first), clip_value, clip_norm (clip_by_global_norm), agc (adaptive
//   gradient clipping on the blocks), accumulate (multi_steps k), lookahead_steps and
//   lookahead_alpha (lookahead), ema (parameter_ema decay, kept in the state as "average").
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "descent/optim/schedule.hpp"
#include "descent/optim/transform.hpp"

namespace descent::optim {

struct OptimizerOption {
  std::string key;
  double default_value = 0.0;
  std::string help;
};

struct OptimizerEntry {
  std::string name;
  std::string summary;  // one line, with the paper or the torch class it follows
  std::vector<OptimizerOption> options;
  bool constant_rate_only = false;  // the rate is part of the method (asgd, rprop, sgld, polyak)
  bool needs_loss = false;          // reads StepContext::value (polyak)
  bool needs_gradient_at = false;   // reads StepContext::gradient_at (sam)
};

// Every named optimizer, in a stable order.
const std::vector<OptimizerEntry>& optimizer_catalogue();
// The options every optimizer accepts (see above).
const std::vector<OptimizerOption>& common_optimizer_options();
// The entry for `name`, or InputError listing the names.
const OptimizerEntry& find_optimizer(const std::string& name);

struct OptimizerRequest {
  std::string name;
  Schedule learning_rate = 1e-3;
  std::map<std::string, double> options;  // keys of the entry or common options only
  std::vector<Block> blocks;              // layers (LAMB, LARS, Adafactor, AGC); empty = one block
  uint64_t seed = 0;                      // noise (sgld, noisy_sgd)
};

GradientTransformation make_optimizer(const OptimizerRequest& request);
// What make_optimizer checks before it builds: the name, and that every option is one of the
// optimizer's or a common one (InputError otherwise). Cheap; for validating a config early.
void check_optimizer_options(const std::string& name, const std::map<std::string, double>& options);

// "KEY=VALUE" strings (command-line flags) as options; InputError on a malformed one.
std::map<std::string, double> parse_option_pairs(const std::vector<std::string>& pairs);
// The catalogue, one line per optimizer ("name  summary  [key=default ...]"), then the
// common options: what `descent train --list-optimizers` prints.
std::string optimizer_list_text();

}  // namespace descent::optim
