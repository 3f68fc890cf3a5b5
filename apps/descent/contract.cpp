#include "contract.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <new>

#include "descent/core/error.hpp"

#ifndef DESCENT_VERSION
#define DESCENT_VERSION "unknown"
#endif

namespace descent::cli {
namespace {

constexpr const char* kExitCodes =
    "Exit status: 0 success; 1 the job ran but failed (claim not confirmed, no finite value, non-finite loss); "
    "2 usage or input error; 128+n stopped by signal n.";

// One line: a message that spans lines (a wrapped library message) is joined.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// "descent train" for the deepest subcommand that was chosen.
std::string command_path(const CLI::App& app) {
  std::string path = "descent";
  const CLI::App* at = &app;
  while (true) {
    const auto chosen = at->get_subcommands();
    if (chosen.empty()) break;
    at = chosen.front();
    path += " " + at->get_name();
  }
  return path;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

bool has_positionals(const CLI::App& app) {
  return !app.get_options([](const CLI::Option* o) { return o->get_positional(); }).empty();
}

// The subcommand `name` of `app`, or an InputError that suggests the closest one.
CLI::App* find_subcommand(CLI::App& app, const std::string& name, const std::string& shown_path) {
  for (CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == name) return sub;
  const auto names = subcommand_names(app);
  const std::string guess = closest_name(name, names);
  if (!guess.empty())
    fail<InputError>("unknown command '{}'; did you mean '{} {}'? (see `descent help`)", name, shown_path, guess);
  fail<InputError>("unknown command '{}'; the commands of {} are {} (see `descent help`)", name, shown_path,
                   join(names));
}

// Walks the leading words of argv down the subcommand tree; a word that names no subcommand
// where only subcommands can follow is a mistyped command.
void check_command_words(CLI::App& app, int argc, char** argv) {
  CLI::App* at = &app;
  std::string path = "descent";
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') return;
    if (at->get_subcommands([](const CLI::App*) { return true; }).empty() || has_positionals(*at)) {
      // A positional argument may follow: only an exact subcommand name descends.
      CLI::App* next = nullptr;
      for (CLI::App* sub : at->get_subcommands([](const CLI::App*) { return true; }))
        if (sub->get_name() == word) next = sub;
      if (!next) return;
      at = next;
    } else {
      at = find_subcommand(*at, word, path);
    }
    path += " " + word;
    if (at->get_name() == "help") return;  // its words are names, checked by `help` itself
  }
}

void add_help_command(CLI::App& app) {
  auto* help = add_command(app, "help", "show the help of descent or of one of its commands",
                           {"descent help train", "descent help probe ntk"});
  auto names = std::make_shared<std::vector<std::string>>();
  help->add_option("command", *names, "command, and subcommand, to describe");
  help->callback([&app, names] {
    CLI::App* target = &app;
    std::string path = "descent";
    for (const auto& name : *names) {
      target = find_subcommand(*target, name, path);
      path += " " + name;
    }
    // The formatter directly: App::help() would describe the chosen subcommand (`help` itself).
    fmt::print("{}", app.get_formatter()->make_help(target, path, CLI::AppFormatMode::Normal));
  });
}

}  // namespace

std::string version() { return DESCENT_VERSION; }

CLI::Validator seed_validator() {
  return CLI::Validator(
      [](std::string& value) {
        const bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
        return digits ? std::string() : "must be a non-negative integer, got '" + value + "'";
      },
      "SEED", "non-negative integer");
}

CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& description,
                      const std::vector<std::string>& examples) {
  CLI::App* cmd = parent.add_subcommand(name, description);
  std::string footer = examples.size() == 1 ? "Example:\n" : "Examples:\n";
  for (const auto& e : examples) footer += "  " + e + "\n";
  cmd->footer(footer + "\n" + kExitCodes);
  return cmd;
}

bool Output::progress() const { return !quiet && !json && ::isatty(STDERR_FILENO); }

void Output::result(const nlohmann::json& result) const {
  if (json) fmt::print("{}\n", result.dump(2));
}

void add_output_flags(CLI::App* cmd, Output& out) {
  cmd->add_flag("--json", out.json, "print the result as one JSON document on stdout (and nothing else)");
  cmd->add_flag("-q,--quiet", out.quiet, "print nothing but errors");
}

CLI::Option* add_seed(CLI::App* cmd, uint64_t& seed, const std::string& help) {
  // CLI11 would wrap "-1" to 2^64 - 1; a seed is a non-negative integer.
  return cmd->add_option("--seed", seed, help)->check(seed_validator());
}

CLI::Option* add_overwrite(CLI::App* cmd, bool& overwrite) {
  return cmd->add_flag("--overwrite", overwrite, "replace existing outputs (otherwise an existing output is refused)");
}

CLI::Option* add_path(CLI::App* cmd, const std::string& flag, std::string& path, const std::string& help) {
  return cmd->add_option(flag, path, help)->check(CLI::Validator(
      [](std::string& value) { return value.empty() ? std::string("is empty; give a path") : std::string(); },
      "PATH", "non-empty path"));
}

CLI::Option* add_memory_cap(CLI::App* cmd, double& mib, const std::string& help) {
  return cmd->add_option("--memory-cap-mb", mib, help)->check(CLI::PositiveNumber);
}

CLI::Option* add_switch(CLI::App* cmd, const std::string& name, bool& value, const std::string& help) {
  return cmd->add_flag("--" + name + ",!--no-" + name, value, help + (value ? " (default: on)" : " (default: off)"));
}

void refuse_unless(const CLI::Option* option, bool applies, std::string_view why) {
  if (option != nullptr && option->count() > 0 && !applies)
    fail<InputError>("{} does not apply {}; drop it", option->get_name(), why);
}

std::string closest_name(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = 3;
  for (const auto& c : candidates) {
    const size_t d = c.starts_with(word) && word.size() >= 2 ? 1 : edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

int run_command(CLI::App& app, int argc, char** argv) {
  add_help_command(app);
  std::string where = "descent";
  auto error = [&](const std::string& message, int status) {
    std::fflush(stdout);
    fmt::print(stderr, "{}: error: {}\n", where, one_line(message));
    return status;
  };
  try {
    check_command_words(app, argc, argv);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
      where = command_path(app);
      const CLI::App* at = &app;
      while (!at->get_subcommands().empty()) at = at->get_subcommands().front();
      if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && at->get_require_subcommand_min() > 0 &&
          at->get_subcommands().empty() && std::string(e.what()).find("subcommand") != std::string::npos)
        return error(fmt::format("give a command: {} (see `{} --help`)",
                                 join(subcommand_names(*at)), where),
                     exit_usage);
      return error(fmt::format("{} (see `{} --help`)", e.what(), where), exit_usage);
    }
  } catch (const InputError& e) {
    where = command_path(app);
    return error(e.what(), exit_usage);
  } catch (const ShapeError& e) {
    where = command_path(app);
    return error(e.what(), exit_usage);
  } catch (const Error& e) {
    where = command_path(app);
    return error(e.what(), exit_failed);
  } catch (const std::filesystem::filesystem_error& e) {
    where = command_path(app);
    return error(fmt::format("cannot use '{}': {}; check the path and its permissions", e.path1().string(),
                             e.code().message()),
                 exit_usage);
  } catch (const std::bad_alloc&) {
    where = command_path(app);
    return error("out of memory; reduce the sizes (examples, batch, widths) or --memory-cap-mb", exit_failed);
  } catch (const std::exception& e) {
    where = command_path(app);
    return error(fmt::format("internal error, please report it with the command line ({})", e.what()), exit_failed);
  }
  return exit_ok;
}

}  // namespace descent::cli
