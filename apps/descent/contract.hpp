#pragma once
// The contract every `descent` subcommand keeps (README, "The command line's contract"):
//
//  - exit status 0 success; 1 the job ran but failed (a claim not confirmed, no finite
//    value found, a non-finite loss); 2 a usage or input error (bad flag, bad file, an output
//    that would overwrite files the command did not write); 128+n when stopped by signal n;
//  - every error is one line on stderr, what was wrong and what to do (run_command maps
//    exceptions; no raw exception text reaches the user);
//  - output paths are checked before any expensive work (core/file_io.hpp), and results are
//    written atomically;
//  - one vocabulary of flags (add_seed, add_memory_cap, ... below), defaults, an example and
//    the exit codes in every --help, `--json` for machine-readable results, `--quiet`;
//  - a flag that does not apply to the chosen method is an error (refuse_unless).
//
// A new subcommand: `auto* cmd = add_command(app, "name", "what it does", {"descent name ..."});`
// then `add_output_flags(cmd, out)` where it prints results, check its outputs first thing in
// the callback, and print through `Output` (human text, or JSON with --json).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace descent::cli {

enum ExitStatus : int { exit_ok = 0, exit_failed = 1, exit_usage = 2 };

// The version printed by --version and recorded in results.
std::string version();

// A subcommand of `parent` with `description`, and a --help footer holding `examples` (each a
// command line) and the exit codes.
CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& description,
                      const std::vector<std::string>& examples);

// How a command prints: human text on stdout unless --quiet or --json; with --json, stdout
// holds exactly one JSON document (the result). Warnings go to stderr unless --quiet.
struct Output {
  bool json = false;
  bool quiet = false;

  bool human() const { return !json && !quiet; }
  // Progress lines belong on a terminal only (stderr), never in a redirected log.
  bool progress() const;
  template <class... Args>
  void say(fmt::format_string<Args...> f, Args&&... args) const {
    if (human()) fmt::print(f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void warn(fmt::format_string<Args...> f, Args&&... args) const {
    if (!quiet) fmt::print(stderr, "descent: warning: {}\n", fmt::format(f, std::forward<Args>(args)...));
  }
  // Prints `result` when --json was given.
  void result(const nlohmann::json& result) const;
};

// --json and --quiet on `cmd`, filling `out`.
void add_output_flags(CLI::App* cmd, Output& out);

// The shared vocabulary: the same concept has one flag name and one check everywhere.
CLI::Validator seed_validator();  // a non-negative integer (CLI11 would wrap -1 to 2^64 - 1)
CLI::Option* add_seed(CLI::App* cmd, uint64_t& seed, const std::string& help = "seed of every random draw");
// --overwrite: replace an existing output (file, or a non-empty folder) instead of refusing it.
CLI::Option* add_overwrite(CLI::App* cmd, bool& overwrite);
// A path option whose value may not be empty (`--out ""` is an error, never "the default").
CLI::Option* add_path(CLI::App* cmd, const std::string& flag, std::string& path, const std::string& help);
// --memory-cap-mb: the cap on working memory, in MiB (positive).
CLI::Option* add_memory_cap(CLI::App* cmd, double& mib, const std::string& help);
// A boolean as --NAME / --no-NAME.
CLI::Option* add_switch(CLI::App* cmd, const std::string& name, bool& value, const std::string& help);

// Throws InputError "FLAG does not apply to WHY" when `option` was given and `applies` is false.
void refuse_unless(const CLI::Option* option, bool applies, std::string_view why);

// Parses argv and runs the chosen subcommand, mapping every failure to one line and an exit
// status as above: CLI11 parse errors and InputError/ShapeError → 2, other descent errors
// (NonFiniteError, a failed claim) → 1, filesystem errors → 2 naming the path, out of memory
// → 1 with what to reduce. A mistyped subcommand gets a suggestion. Adds `descent help [CMD]`.
int run_command(CLI::App& app, int argc, char** argv);

// The closest of `candidates` to `word` (edit distance at most 2, or a prefix), or "".
std::string closest_name(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace descent::cli
