#include "descent/optim/factory.hpp"

#include <cmath>
#include <functional>
#include <string>

#include <fmt/format.h>

#include "descent/core/error.hpp"
#include "descent/optim/optimizers.hpp"

namespace descent::optim {

namespace {

using Options = std::map<std::string, double>;

const std::vector<OptimizerOption> kAdamLike = {
    {"beta1", 0.9, "first-moment decay β1"},
    {"beta2", 0.999, "second-moment decay β2"},
    {"eps", 1e-8, "ε added to the root"},
    {"weight_decay", 0.0, "coupled L2 (added to the gradient)"},
};

std::vector<OptimizerOption> with(std::vector<OptimizerOption> base, std::vector<OptimizerOption> more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

// The catalogue's builders: given the rate, the options (every key present, defaults filled),
// the blocks and the seed.
using Builder = std::function<GradientTransformation(const Schedule&, const Options&, const std::vector<Block>&,
                                                     uint64_t)>;

struct Item {
  OptimizerEntry entry;
  Builder build;
};

bool flag(const Options& o, const char* key) { return o.at(key) != 0.0; }

double constant_rate(const Schedule& s, const std::string& who) {
  DESCENT_CHECK(s.is_constant(), InputError,
                "optimizer '{}' sets its own step sizes; give a constant learning rate (no schedule)", who);
  return s(0);
}

const std::vector<Item>& items() {
  static const std::vector<Item> all = [] {
    std::vector<Item> v;
    auto add = [&](OptimizerEntry e, Builder b) { v.push_back({std::move(e), std::move(b)}); };
    const std::vector<OptimizerOption> sgd_options = {
        {"momentum", 0.0, "momentum μ"},
        {"dampening", 0.0, "torch's dampening of the momentum buffer"},
        {"nesterov", 0.0, "1: Nesterov momentum"},
        {"weight_decay", 0.0, "coupled L2"},
    };
    add({"sgd", "stochastic gradient descent, torch.optim.SGD (momentum, dampening, Nesterov, L2)", sgd_options},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return sgd(lr, o.at("momentum"), flag(o, "nesterov"), o.at("weight_decay"), o.at("dampening"));
        });
    // descent train's default recipe: μ = 0.9 and L2 5e-4 unless given.
    auto momentum_options = sgd_options;
    momentum_options[0].default_value = 0.9;
    momentum_options[3].default_value = 5e-4;
    add({"momentum", "heavy-ball SGD (Polyak 1964): sgd with momentum 0.9 and L2 5e-4 by default", momentum_options},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return sgd(lr, o.at("momentum"), flag(o, "nesterov"), o.at("weight_decay"), o.at("dampening"));
        });
    add({"nesterov", "Nesterov momentum SGD (torch.optim.SGD, nesterov=True): momentum 0.9, L2 5e-4 by default",
         {{"momentum", 0.9, "momentum μ"}, {"weight_decay", 5e-4, "coupled L2"}}},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return sgd(lr, o.at("momentum"), true, o.at("weight_decay"));
        });
    add({"adam", "Adam (Kingma & Ba 2015), torch.optim.Adam; amsgrad (Reddi et al. 2018)",
         with(kAdamLike, {{"amsgrad", 0.0, "1: AMSGrad's running maximum of v"}})},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return adam(lr, o.at("beta1"), o.at("beta2"), o.at("eps"), o.at("weight_decay"), flag(o, "amsgrad"));
        });
    auto adamw_options = with(kAdamLike, {{"amsgrad", 0.0, "1: AMSGrad's running maximum of v"}});
    adamw_options[3] = {"weight_decay", 1e-2, "decoupled weight decay (Loshchilov & Hutter 2019)"};
    add({"adamw", "AdamW, decoupled weight decay (Loshchilov & Hutter 2019), torch.optim.AdamW", adamw_options},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return adamw(lr, o.at("beta1"), o.at("beta2"), o.at("eps"), o.at("weight_decay"), flag(o, "amsgrad"));
        });
    add({"nadam", "NAdam, Adam with Nesterov momentum (Dozat 2016), torch.optim.NAdam",
         with(kAdamLike, {{"momentum_decay", 4e-3, "ψ of the momentum schedule μ_t"}})},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return nadam(lr, o.at("beta1"), o.at("beta2"), o.at("eps"), o.at("weight_decay"), o.at("momentum_decay"));
        });
    add({"radam", "RAdam, rectified Adam (Liu et al. 2020), torch.optim.RAdam", kAdamLike},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return radam(lr, o.at("beta1"), o.at("beta2"), o.at("eps"), o.at("weight_decay"));
        });
    add({"adamax", "Adamax, Adam in the ∞-norm (Kingma & Ba 2015 §7.1), torch.optim.Adamax", kAdamLike},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return adamax(lr, o.at("beta1"), o.at("beta2"), o.at("eps"), o.at("weight_decay"));
        });
    add({"adagrad", "AdaGrad (Duchi et al. 2011), torch.optim.Adagrad",
         {{"eps", 1e-10, "ε added to the root"},
          {"initial_accumulator", 0.0, "starting sum of squares"},
          {"weight_decay", 0.0, "coupled L2"},
          {"lr_decay", 0.0, "rate lr / (1 + lr_decay·t)"}}},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return adagrad(lr, o.at("eps"), o.at("initial_accumulator"), o.at("weight_decay"), o.at("lr_decay"));
        });
    add({"rmsprop", "RMSProp (Hinton 2012), torch.optim.RMSprop (centered, momentum)",
         {{"alpha", 0.99, "decay of the mean square"},
          {"eps", 1e-8, "ε added to the root"},
          {"momentum", 0.0, "momentum on the scaled gradient"},
          {"centered", 0.0, "1: subtract the squared running mean"},
          {"weight_decay", 0.0, "coupled L2"}}},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return rmsprop(lr, o.at("alpha"), o.at("eps"), o.at("momentum"), flag(o, "centered"), o.at("weight_decay"));
        });
    add({"adadelta", "Adadelta (Zeiler 2012), torch.optim.Adadelta (lr 1 is the paper's)",
         {{"rho", 0.9, "decay ρ"}, {"eps", 1e-6, "ε inside both roots"}, {"weight_decay", 0.0, "coupled L2"}}},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return adadelta(lr, o.at("rho"), o.at("eps"), o.at("weight_decay"));
        });
    add({"asgd", "averaged SGD (Polyak & Juditsky 1992), torch.optim.ASGD; the average is the state's 'average'",
         {{"lambd", 1e-4, "decay term λ"},
          {"alpha", 0.75, "power of the rate decay"},
          {"t0", 1e6, "step at which averaging starts"},
          {"weight_decay", 0.0, "coupled L2"}},
         true},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return asgd(constant_rate(lr, "asgd"), o.at("lambd"), o.at("alpha"), o.at("t0"), o.at("weight_decay"));
        });
    add({"rprop", "Rprop (Riedmiller & Braun 1993), torch.optim.Rprop; the rate is the initial step size",
         {{"eta_minus", 0.5, "step-size factor after a sign flip"},
          {"eta_plus", 1.2, "step-size factor while the sign holds"},
          {"min_step", 1e-6, "smallest step size"},
          {"max_step", 50.0, "largest step size"}},
         true},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return rprop(constant_rate(lr, "rprop"), o.at("eta_minus"), o.at("eta_plus"), o.at("min_step"),
                       o.at("max_step"));
        });
    add({"lion", "Lion, the sign of an interpolated momentum (Chen et al. 2023)",
         {{"beta1", 0.9, "interpolation β1"}, {"beta2", 0.99, "momentum decay β2"},
          {"weight_decay", 0.0, "decoupled weight decay"}}},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return lion(lr, o.at("beta1"), o.at("beta2"), o.at("weight_decay"));
        });
    auto lamb_options = kAdamLike;
    lamb_options[2].default_value = 1e-6;
    lamb_options[3].help = "decoupled weight decay (inside the trust ratio)";
    add({"lamb", "LAMB, Adam with layer-wise trust ratios (You et al. 2020)", lamb_options},
        [](const Schedule& lr, const Options& o, const std::vector<Block>& blocks, uint64_t) {
          return lamb(lr, o.at("beta1"), o.at("beta2"), o.at("eps"), o.at("weight_decay"), blocks);
        });
    add({"lars", "LARS, layer-wise adaptive rate scaling with momentum (You et al. 2017)",
         {{"momentum", 0.9, "momentum μ"},
          {"weight_decay", 0.0, "coupled L2 β"},
          {"trust_coefficient", 1e-3, "trust coefficient η of the local rate"},
          {"eps", 0.0, "ε added to the update's norm"}}},
        [](const Schedule& lr, const Options& o, const std::vector<Block>& blocks, uint64_t) {
          return lars(lr, o.at("momentum"), o.at("weight_decay"), o.at("trust_coefficient"), blocks, o.at("eps"));
        });
    add({"adafactor", "Adafactor, factored second moments (Shazeer & Stern 2018), no momentum",
         {{"decay_rate", 0.8, "β2_t = 1 − t^(−decay_rate)"},
          {"clipping_threshold", 1.0, "update clipping d"},
          {"min_scale", 1e-3, "ε2 of the parameter scale (0: no relative step)"},
          {"min_dim_size_to_factor", 128, "factor a layer's second moment when its shorter side is at least this"}}},
        [](const Schedule& lr, const Options& o, const std::vector<Block>& blocks, uint64_t) {
          const double min_dim = o.at("min_dim_size_to_factor");
          DESCENT_CHECK(min_dim >= 1 && min_dim == std::floor(min_dim), InputError,
                        "adafactor: min_dim_size_to_factor must be an integer >= 1, got {}", min_dim);
          return adafactor(lr, blocks, o.at("decay_rate"), o.at("clipping_threshold"), o.at("min_scale"),
                           static_cast<int64_t>(min_dim));
        });
    add({"sam", "sharpness-aware minimization (Foret et al. 2021; adaptive: ASAM, Kwon et al. 2021) on momentum SGD",
         {{"rho", 0.05, "radius ρ of the ascent step"},
          {"adaptive", 0.0, "1: ASAM"},
          {"asam_eta", 0.01, "η of ASAM's T = |θ| + η"},
          {"momentum", 0.9, "momentum of the descent step"},
          {"weight_decay", 0.0, "coupled L2 of the descent step"}},
         false, false, true},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return chain(sam(o.at("rho"), flag(o, "adaptive"), o.at("asam_eta")),
                       sgd(lr, o.at("momentum"), false, o.at("weight_decay")));
        });
    add({"sgld", "stochastic gradient Langevin dynamics (Welling & Teh 2011): θ ← θ − η∇f + √(2η/β) ξ",
         {{"inverse_temperature", 1.0, "β"}},
         true},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t seed) {
          return langevin(constant_rate(lr, "sgld"), o.at("inverse_temperature"), seed);
        });
    add({"noisy_sgd", "SGD plus isotropic Gaussian noise of a fixed standard deviation",
         {{"noise_std", 1e-3, "standard deviation σ of the noise added to each update"}}},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t seed) {
          return noisy_sgd(lr, o.at("noise_std"), seed);
        });
    add({"polyak", "Polyak step size (f − f*)/‖g‖², capped by the rate (Loizou et al. 2021's SPS_max)",
         {{"f_min", 0.0, "the optimal value f* (a lower bound)"}},
         true, true},
        [](const Schedule& lr, const Options& o, const auto&, uint64_t) {
          return polyak_sgd(constant_rate(lr, "polyak"), o.at("f_min"));
        });
    return v;
  }();
  return all;
}

}  // namespace

const std::vector<OptimizerOption>& common_optimizer_options() {
  static const std::vector<OptimizerOption> common = {
      {"maximize", 0.0, "1: ascend (the gradient is negated first, torch's maximize)"},
      {"clip_value", 0.0, "clip each gradient entry to [−c, c] (0: off)"},
      {"clip_norm", 0.0, "clip the gradient's global norm (0: off)"},
      {"agc", 0.0, "adaptive gradient clipping λ, unit-wise (Brock et al. 2021; 0: off)"},
      {"accumulate", 1.0, "average the gradients of k steps, then one update (MultiSteps)"},
      {"lookahead_steps", 0.0, "Lookahead's k (Zhang et al. 2019; 0: off)"},
      {"lookahead_alpha", 0.5, "Lookahead's α"},
      {"ema", 0.0, "keep an EMA of the parameters with this decay in the state (0: off)"},
  };
  return common;
}

const std::vector<OptimizerEntry>& optimizer_catalogue() {
  static const std::vector<OptimizerEntry> entries = [] {
    std::vector<OptimizerEntry> e;
    for (const auto& item : items()) e.push_back(item.entry);
    return e;
  }();
  return entries;
}

const OptimizerEntry& find_optimizer(const std::string& name) {
  for (const auto& item : items())
    if (item.entry.name == name) return item.entry;
  std::string names;
  for (const auto& item : items()) names += (names.empty() ? "" : ", ") + item.entry.name;
  fail<InputError>("unknown optimizer '{}' (one of {})", name, names);
}

void check_optimizer_options(const std::string& name, const std::map<std::string, double>& options) {
  const OptimizerEntry& entry = find_optimizer(name);
  for (const auto& [key, value] : options) {
    bool known = false;
    for (const auto& o : entry.options) known = known || o.key == key;
    for (const auto& o : common_optimizer_options()) known = known || o.key == key;
    if (known) continue;
    std::string keys;
    for (const auto& o : entry.options) keys += (keys.empty() ? "" : ", ") + o.key;
    fail<InputError>("option '{}' does not apply to optimizer '{}' (its options: {}; and the common ones)", key,
                     entry.name, keys.empty() ? "none" : keys);
  }
}

GradientTransformation make_optimizer(const OptimizerRequest& request) {
  check_optimizer_options(request.name, request.options);
  const OptimizerEntry& entry = find_optimizer(request.name);
  const Item* item = nullptr;
  for (const auto& it : items())
    if (it.entry.name == request.name) item = &it;
  Options own, common;
  for (const auto& o : entry.options) own[o.key] = o.default_value;
  for (const auto& o : common_optimizer_options()) common[o.key] = o.default_value;
  for (const auto& [key, value] : request.options) {
    DESCENT_CHECK(std::isfinite(value), InputError, "optimizer '{}': option {} must be finite, got {}", entry.name,
                  key, value);
    if (own.count(key)) own[key] = value;
    else common[key] = value;
  }
  GradientTransformation opt = item->build(request.learning_rate, own, request.blocks, request.seed);
  // The common wrappers, innermost first: what the gradient meets first is outermost.
  const double k = common["accumulate"];
  DESCENT_CHECK(k >= 1 && k == std::floor(k), InputError, "optimizer option accumulate must be an integer >= 1, got {}",
                k);
  if (common["lookahead_steps"] > 0)
    opt = lookahead(opt, static_cast<int64_t>(common["lookahead_steps"]), common["lookahead_alpha"]);
  std::vector<GradientTransformation> links;
  if (common["maximize"] != 0) links.push_back(negate());
  if (common["clip_value"] > 0) links.push_back(clip_by_value(common["clip_value"]));
  if (common["agc"] > 0) links.push_back(adaptive_grad_clip(common["agc"], request.blocks));
  if (common["clip_norm"] > 0) links.push_back(clip_by_global_norm(common["clip_norm"]));
  links.push_back(opt);
  if (common["ema"] > 0) links.push_back(parameter_ema(common["ema"]));
  opt = links.size() == 1 ? links[0] : chain(std::move(links));
  if (k > 1) opt = multi_steps(opt, static_cast<int64_t>(k));
  return opt;
}

std::map<std::string, double> parse_option_pairs(const std::vector<std::string>& pairs) {
  std::map<std::string, double> out;
  for (const auto& pair : pairs) {
    const auto eq = pair.find('=');
    DESCENT_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < pair.size(), InputError,
                  "optimizer option '{}' is not KEY=VALUE", pair);
    const std::string key = pair.substr(0, eq), text = pair.substr(eq + 1);
    size_t used = 0;
    double value = 0;
    try {
      value = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    DESCENT_CHECK(used == text.size(), InputError, "optimizer option '{}': '{}' is not a number", key, text);
    out[key] = value;
  }
  return out;
}

std::string optimizer_list_text() {
  std::string out;
  for (const auto& e : optimizer_catalogue()) {
    std::string opts;
    for (const auto& o : e.options) opts += fmt::format("{}{}={:g}", opts.empty() ? "" : " ", o.key, o.default_value);
    out += fmt::format("{:<10} {}  [{}]{}\n", e.name, e.summary, opts,
                       e.constant_rate_only ? " (constant rate)" : "");
  }
  std::string common;
  for (const auto& o : common_optimizer_options())
    common += fmt::format("{}{}={:g}", common.empty() ? "" : " ", o.key, o.default_value);
  out += fmt::format("common options of every optimizer: [{}]\n", common);
  return out;
}

}  // namespace descent::optim
