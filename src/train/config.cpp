#include "descent/train/config.hpp"

#include <fstream>
#include <set>

#include "descent/core/error.hpp"
#include "descent/optim/factory.hpp"
#include "descent/train/probes.hpp"

namespace descent::train {
namespace {

// Every field once, by name: to_json, from_json and the unknown-key check all walk this list.
template <class Config, class F>
void visit_fields(Config& c, F&& f) {
  f("dataset", c.dataset);
  f("data_dir", c.data_dir);
  f("train_examples", c.train_examples);
  f("test_examples", c.test_examples);
  f("model", c.model);
  f("hidden", c.hidden);
  f("activation", c.activation);
  f("parameterization", c.parameterization);
  f("cnn_channels1", c.cnn_channels1);
  f("cnn_channels2", c.cnn_channels2);
  f("dropout", c.dropout);
  f("dtype", c.dtype);
  f("optimizer", c.optimizer);
  f("learning_rate", c.learning_rate);
  f("optimizer_options", c.optimizer_options);
  f("momentum", c.momentum);
  f("weight_decay", c.weight_decay);
  f("beta1", c.beta1);
  f("beta2", c.beta2);
  f("eps", c.eps);
  f("schedule", c.schedule);
  f("warmup_steps", c.warmup_steps);
  f("step_gamma", c.step_gamma);
  f("step_epochs", c.step_epochs);
  f("clip_norm", c.clip_norm);
  f("epochs", c.epochs);
  f("batch_size", c.batch_size);
  f("max_steps", c.max_steps);
  f("seed", c.seed);
  f("threads", c.threads);
  f("out", c.out);
  f("checkpoint_every", c.checkpoint_every);
  f("plots", c.plots);
  f("progress", c.progress);
  f("probe_every", c.probe_every);
  f("probe", c.probe);
  f("probe_examples", c.probe_examples);
  f("probe_trace_matvecs", c.probe_trace_matvecs);
  f("probe_tolerance", c.probe_tolerance);
  f("probe_memory_cap_mb", c.probe_memory_cap_mb);
}

template <class T>
const char* json_type_name() {
  if constexpr (std::is_same_v<T, std::string>) return "a string";
  else if constexpr (std::is_same_v<T, bool>) return "true or false";
  else if constexpr (std::is_floating_point_v<T>) return "a number";
  else if constexpr (std::is_integral_v<T>) return "an integer";
  else if constexpr (std::is_same_v<T, std::map<std::string, double>>) return "an object of numbers";
  else return "a list of integers";
}

template <class T>
bool has_type(const nlohmann::json& v) {
  if constexpr (std::is_same_v<T, std::string>) return v.is_string();
  else if constexpr (std::is_same_v<T, bool>) return v.is_boolean();
  else if constexpr (std::is_floating_point_v<T>) return v.is_number() || v.is_null();  // null: not given
  else if constexpr (std::is_same_v<T, std::map<std::string, double>>) {
    if (!v.is_object()) return false;
    for (const auto& [k, e] : v.items())
      if (!e.is_number()) return false;
    return true;
  }
  else if constexpr (std::is_unsigned_v<T>) return v.is_number_unsigned();
  else if constexpr (std::is_integral_v<T>) return v.is_number_integer();
  else {
    if (!v.is_array()) return false;
    for (const auto& e : v)
      if (!e.is_number_integer()) return false;
    return true;
  }
}

void check_one_of(const std::string& key, const std::string& value, std::initializer_list<const char*> choices) {
  std::string list;
  for (const char* c : choices) {
    if (value == c) return;
    list += (list.empty() ? "" : ", ") + std::string(c);
  }
  fail<InputError>("config: {} '{}' is not one of {}", key, value, list);
}

}  // namespace

nlohmann::json to_json(const TrainConfig& c) {
  nlohmann::json j = nlohmann::json::object();
  visit_fields(c, [&](const char* key, const auto& value) {
    using T = std::decay_t<decltype(value)>;
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(value)) {
        j[key] = nullptr;  // a shorthand not given
        return;
      }
    }
    j[key] = value;
  });
  return j;
}

TrainConfig config_from_json(const nlohmann::json& j, const std::string& source) {
  DESCENT_CHECK(j.is_object(), InputError, "config {}: expected a JSON object of settings", source);
  TrainConfig c;
  std::set<std::string> known;
  visit_fields(c, [&](const char* key, auto& field) {
    known.insert(key);
    auto it = j.find(key);
    if (it == j.end()) return;
    using T = std::decay_t<decltype(field)>;
    DESCENT_CHECK(has_type<T>(*it), InputError, "config {}: '{}' must be {}, got {}", source, key,
                  json_type_name<T>(), it->dump());
    if constexpr (std::is_floating_point_v<T>) field = it->is_null() ? NAN : it->template get<T>();
    else field = it->template get<T>();
  });
  for (const auto& [key, value] : j.items())
    DESCENT_CHECK(known.count(key), InputError, "config {}: unknown setting '{}' (see `descent train --help`)", source,
                  key);
  validate(c);
  return c;
}

TrainConfig load_config(const std::string& path) {
  std::ifstream in(path);
  DESCENT_CHECK(in.good(), InputError, "config '{}': cannot open the file", path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    fail<InputError>("config '{}': not valid JSON (syntax error at byte {}); check the file", path, e.byte);
  }
  return config_from_json(j, "'" + path + "'");
}

void validate(const TrainConfig& c) {
  check_one_of("dataset", c.dataset, {"fashion-mnist", "two-moons", "gaussian-mixture"});
  check_one_of("model", c.model, {"mlp", "cnn"});
  check_one_of("dtype", c.dtype, {"float32", "float64"});
  // The optimizer, its options and its rate, before any file is written.
  optim::find_optimizer(c.optimizer);
  for (const auto& [key, value] : std::initializer_list<std::pair<const char*, double>>{
           {"momentum", c.momentum}, {"weight_decay", c.weight_decay}, {"beta1", c.beta1}, {"beta2", c.beta2},
           {"eps", c.eps}}) {
    if (std::isnan(value)) continue;
    const std::string reason = inapplicable_reason(c, key);
    DESCENT_CHECK(reason.empty(), InputError, "config: {} (--{}) does not apply {}", key,
                  std::string(key) == "weight_decay" ? "weight-decay" : key, reason);
  }
  optim::check_optimizer_options(c.optimizer, optimizer_options_of(c));
  DESCENT_CHECK(!optim::find_optimizer(c.optimizer).constant_rate_only || (c.schedule == "constant" && c.warmup_steps == 0),
                InputError, "config: optimizer '{}' sets its own step sizes; use --schedule constant without warm-up",
                c.optimizer);
  check_one_of("schedule", c.schedule, {"constant", "cosine", "step"});
  check_one_of("parameterization", c.parameterization, {"standard", "ntk", "mean_field"});
  auto positive = [](const char* key, double v) {
    DESCENT_CHECK(v > 0, InputError, "config: {} must be positive, got {}", key, v);
  };
  auto non_negative = [](const char* key, double v) {
    DESCENT_CHECK(v >= 0, InputError, "config: {} must be non-negative, got {}", key, v);
  };
  positive("learning_rate", c.learning_rate);
  positive("epochs", static_cast<double>(c.epochs));
  positive("batch_size", static_cast<double>(c.batch_size));
  positive("checkpoint_every", static_cast<double>(c.checkpoint_every));
  positive("threads", c.threads);
  if (!std::isnan(c.eps)) positive("eps", c.eps);
  if (!std::isnan(c.weight_decay)) non_negative("weight_decay", c.weight_decay);
  non_negative("clip_norm", c.clip_norm);
  non_negative("max_steps", static_cast<double>(c.max_steps));
  non_negative("train_examples", static_cast<double>(c.train_examples));
  non_negative("test_examples", static_cast<double>(c.test_examples));
  non_negative("warmup_steps", static_cast<double>(c.warmup_steps));
  DESCENT_CHECK(std::isnan(c.momentum) || (c.momentum >= 0 && c.momentum < 1), InputError,
                "config: momentum must be in [0, 1), got {}", c.momentum);
  for (double b : {c.beta1, c.beta2})
    DESCENT_CHECK(std::isnan(b) || (b >= 0 && b < 1), InputError, "config: beta1 and beta2 must be in [0, 1), got {}",
                  b);
  DESCENT_CHECK(c.dropout >= 0 && c.dropout < 1, InputError, "config: dropout must be in [0, 1), got {}", c.dropout);
  non_negative("probe_every", static_cast<double>(c.probe_every));
  positive("probe_examples", static_cast<double>(c.probe_examples));
  DESCENT_CHECK(c.probe_trace_matvecs >= 3, InputError,
                "config: probe_trace_matvecs must be at least 3 (Hutch++ splits them in thirds), got {}",
                c.probe_trace_matvecs);
  DESCENT_CHECK(c.probe_tolerance > 0 && c.probe_tolerance < 1, InputError,
                "config: probe_tolerance must be in (0, 1), got {}", c.probe_tolerance);
  positive("probe_memory_cap_mb", c.probe_memory_cap_mb);
  if (c.probe_every > 0) parse_probe_selection(c.probe);
  for (int64_t w : c.hidden)
    DESCENT_CHECK(w > 0, InputError, "config: hidden layer widths must be positive, got {}", w);
}

std::map<std::string, double> optimizer_options_of(const TrainConfig& c) {
  std::map<std::string, double> options = c.optimizer_options;
  auto shorthand = [&](const char* key, double value) {
    if (std::isnan(value)) return;
    auto [it, fresh] = options.emplace(key, value);
    DESCENT_CHECK(fresh || it->second == value, InputError,
                  "config: {} is given twice, as {} and in optimizer_options as {}", key, value, it->second);
  };
  shorthand("momentum", c.momentum);
  shorthand("weight_decay", c.weight_decay);
  shorthand("beta1", c.beta1);
  shorthand("beta2", c.beta2);
  shorthand("eps", c.eps);
  if (c.clip_norm > 0) shorthand("clip_norm", c.clip_norm);
  return options;
}

std::string inapplicable_reason(const TrainConfig& c, const std::string& key) {
  auto unless = [](bool applies, std::string reason) { return applies ? std::string() : reason; };
  if (key == "momentum" || key == "beta1" || key == "beta2" || key == "eps" || key == "weight_decay") {
    bool has = false;
    for (const auto& o : optim::find_optimizer(c.optimizer).options) has = has || o.key == key;
    return unless(has, "to optimizer '" + c.optimizer + "' (its options: descent train --list-optimizers)");
  }
  if (key == "step_gamma" || key == "step_epochs")
    return unless(c.schedule == "step", "to schedule '" + c.schedule + "' (it is used by the step schedule)");
  if (key == "cnn_channels1" || key == "cnn_channels2")
    return unless(c.model == "cnn", "to model '" + c.model + "' (it is used by the cnn)");
  if (key == "hidden" || key == "activation" || key == "parameterization")
    return unless(c.model == "mlp", "to model '" + c.model + "' (it is used by the mlp)");
  if (key == "data_dir")
    return unless(c.dataset == "fashion-mnist", "to dataset '" + c.dataset + "' (it is used by fashion-mnist)");
  if (key.starts_with("probe_") && key != "probe_every")
    return unless(c.probe_every > 0, "without --probe-every N (no probes are taken)");
  if (key == "probe") return unless(c.probe_every > 0, "without --probe-every N (no probes are taken)");
  return "";
}

}  // namespace descent::train
