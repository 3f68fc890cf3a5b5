#pragma once
// An experiment turns one quantitative claim of a seed text into a run that checks itself:
// what was claimed, what was measured, what was expected and within which tolerance.
//
// The kit gives an experiment four things, so that its body is only setup, measurement and
// checks:
//   - a Context: quick or full form, the seed, the output folder, progress on a terminal;
//   - Tables: columns declared once; each add_row goes to OUT/<name>.csv and (for `table`,
//     not `trace`) to result.json; `plot` draws the CSV with gnuplot;
//   - Checks: each helper makes one comparison and records from it the measured value, the
//     expected value, the tolerance and whether it passed, so the prose of result.json can
//     never drift from the test the code makes. The experiment passes when every check does
//     (and it has at least one);
//   - registration by one macro beside the experiment, no list to edit.
//
// Worked example (a whole experiment file, src/experiments/my_claim.cpp):
//
//   // Author §1.2, eq. (3): gradient descent on f(x) = x²/2 with step η contracts by |1 − η|.
//   #include "descent/experiments/experiment.hpp"
//
//   namespace descent::experiments {
//
//   DESCENT_EXPERIMENT(gd_contraction, "007 (Author, ch. 1)", "§1.2, eq. (3)",
//                      "gradient descent on x²/2 contracts the iterate by |1 − η| per step") {
//     const int steps = ctx.pick(20, 200);              // quick form, full form
//     const double eta = 0.5;
//     Table& t = ctx.trace("iterates", {"step", "x"});  // CSV only (a long per-step trace)
//     double x = 1.0 + 0.1 * double(ctx.seed % 7);      // every random choice from ctx.seed
//     for (int k = 0; k < steps; ++k) {
//       t.add_row({k, x});
//       x -= eta * x;
//       ctx.progress(k + 1, steps);                     // shown only on a terminal
//     }
//     t.plot({.title = "GD on x^2/2", .x_label = "step", .y_label = "x", .series = {{"step", "x"}}, .log_y = true});
//     ctx.measure("steps", steps);                      // extra context for result.json
//     ctx.check.within_relative("contraction_per_step", std::pow(x / (1.0 + 0.1 * double(ctx.seed % 7)), 1.0 / steps),
//                               std::abs(1 - eta), 1e-12);
//     ctx.note("x0 = 1 + 0.1 (seed mod 7); η = 0.5.");
//   }
//
//   }  // namespace descent::experiments
//
// Inside the body the context is the variable `ctx` (named by the macro). The experiment's
// name is the first macro argument, an identifier; it is what `descent experiment run NAME`
// takes. The file is picked up by the build's glob; the registry test checks that every
// DESCENT_EXPERIMENT in src/experiments/ is registered (the experiments' archive is linked
// whole, so the linker cannot drop a registrar that nothing references).
//
// Rules: the quick form runs in a few seconds and passes at every seed 0–9 (ctest
// `experiments_seeds`); a claim that holds only usually is stated as a frequency over seeds
// and checked with check.frequency. Any algorithm the experiment needs lives in its library
// module with its own unit tests.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "descent/core/plot.hpp"

namespace descent::experiments {

using json = nlohmann::json;

// A number for result.json: non-finite values are written as the strings "NaN", "Inf",
// "-Inf" (JSON has no such numbers and would store null, hiding them).
json number(double v);

struct Source {
  std::string seed;     // e.g. "004 (Murphy, PML2 ch. 6)"
  std::string section;  // e.g. "§6.7.1"
};

struct RunOptions {
  bool quick = false;      // the small form, for ctest
  std::string output_dir;  // where result.json, CSVs and plots go ("" = write nothing)
  uint64_t seed = 0;
  bool progress = false;   // report progress on stderr when it is a terminal
};

// One comparison the experiment made. `relation` names it ("<=", ">=", "<", ">", "within",
// "within relative", "in", "decreasing", "increasing", "frequency >=", "holds").
struct Check {
  std::string name, relation;
  json measured, expected, tolerance;
  bool passed = false;
};

struct Result {
  std::string name;
  Source source;
  std::string claim;
  json measured = json::object();   // every check's measured value, plus tables and ctx.measure(...)
  json expected = json::object();   // per check: {relation: value}
  json tolerance = json::object();  // per check that has one
  std::vector<Check> checks;
  bool passed = false;  // every check passed, and there was at least one
  std::string notes;
  // How the run was made.
  uint64_t seed = 0;
  bool quick = false;
  std::string version;  // descent's version
  double wall_time_s = 0;
};

// ---- Tables ------------------------------------------------------------------------------

// A value of a table cell: a number or a text.
class Cell {
 public:
  Cell(double v) : value_(v), text_(false) {}
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Cell(T v) : value_(json(static_cast<int64_t>(v))), text_(false) {}
  Cell(bool v) : value_(v), text_(false) {}
  Cell(const char* s) : value_(std::string(s)), text_(true) {}
  Cell(std::string s) : value_(std::move(s)), text_(true) {}
  json to_json() const;
  std::string to_csv() const;
  double as_double() const;  // NaN for text

 private:
  json value_;
  bool text_;
};

// Rows with columns declared once. Made by Context::table / Context::trace.
class Table {
 public:
  // Appends one row (one cell per declared column, in order) to the CSV and to the rows kept
  // for result.json.
  void add_row(std::initializer_list<Cell> cells);
  void add_row(const std::vector<Cell>& cells);
  // Draws OUT/<name><suffix>.png from this table's CSV (csv_path and png_path are filled in;
  // the series name columns of this table). Nothing when there is no output folder.
  void plot(PlotSpec spec, const std::string& suffix = "");
  // A numeric column, for checks (text cells read as NaN).
  std::vector<double> column(const std::string& name) const;
  const std::string& name() const { return name_; }
  const std::vector<std::string>& columns() const { return columns_; }
  size_t rows() const { return rows_.size(); }
  json to_json() const;  // [{column: value, ...}, ...]

 private:
  friend class Context;
  Table(std::string name, std::vector<std::string> columns, const std::filesystem::path& out, bool in_result);
  void flush();
  size_t index_of(const std::string& column) const;
  std::string name_;
  std::vector<std::string> columns_;
  std::vector<std::vector<Cell>> rows_;
  std::filesystem::path csv_path_;  // empty = no output folder
  std::unique_ptr<std::ofstream> csv_;
  bool in_result_;
};

// ---- Checks ------------------------------------------------------------------------------

// Each helper makes one comparison, records it (measured, expected, tolerance, passed) under
// `name` in result.json and returns whether it passed. A NaN never passes.
class Checks {
 public:
  bool at_most(const std::string& name, double measured, double bound);   // measured ≤ bound
  bool at_least(const std::string& name, double measured, double bound);  // measured ≥ bound
  bool below(const std::string& name, double measured, double bound);     // measured < bound
  bool above(const std::string& name, double measured, double bound);     // measured > bound
  // |measured − expected| ≤ tolerance.
  bool within(const std::string& name, double measured, double expected, double tolerance);
  // |measured − expected| ≤ relative_tolerance · |expected|.
  bool within_relative(const std::string& name, double measured, double expected, double relative_tolerance);
  // lo ≤ measured ≤ hi.
  bool between(const std::string& name, double measured, double lo, double hi);
  // Strictly decreasing / increasing sequence.
  bool decreasing(const std::string& name, const std::vector<double>& values);
  bool increasing(const std::string& name, const std::vector<double>& values);
  // A claim that holds in a fraction of independent runs (seeds): successes/trials ≥ fraction.
  bool frequency(const std::string& name, int64_t successes, int64_t trials, double at_least_fraction);
  bool frequency(const std::string& name, const std::vector<bool>& outcomes, double at_least_fraction);
  // A yes/no property; `expected` says what must hold (for the reader of result.json).
  bool holds(const std::string& name, bool condition, const std::string& expected);

  const std::vector<Check>& all() const { return checks_; }
  bool all_passed() const;

 private:
  bool add(Check c);
  std::vector<Check> checks_;
};

// ---- Context -----------------------------------------------------------------------------

struct Experiment;

class Context {
 public:
  Context(const Experiment& experiment, const RunOptions& options);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const bool quick;                  // the quick form (seconds; ctest) or the full one
  const uint64_t seed;               // every random draw derives from it
  const std::filesystem::path out;   // output folder; empty = write nothing
  Checks check;

  // The quick form's value or the full form's.
  template <class T>
  T pick(T quick_value, T full_value) const {
    return quick ? quick_value : full_value;
  }
  // A table whose rows go to OUT/<name>.csv and to result.json's measured[<name>].
  Table& table(const std::string& name, std::vector<std::string> columns);
  // A table whose rows go only to OUT/<name>.csv (long per-step traces).
  Table& trace(const std::string& name, std::vector<std::string> columns);
  // Extra measured context for result.json (sizes, settings, per-run details).
  void measure(const std::string& key, json value);
  void note(const std::string& text);  // appended to result.json's notes
  // Progress on stderr when it is a terminal (and the run asked for it); rate-limited.
  void progress(int64_t done, int64_t total, std::string_view what = "");

  // Used by run(): the result of the body so far.
  Result result() const;

 private:
  Table& add_table(const std::string& name, std::vector<std::string> columns, bool in_result);
  const Experiment& experiment_;
  bool show_progress_;
  bool progress_shown_ = false;
  std::chrono::steady_clock::time_point last_progress_{};
  std::vector<std::unique_ptr<Table>> tables_;
  json measured_ = json::object();
  std::string notes_;
};

// ---- Registration ------------------------------------------------------------------------

struct Experiment {
  std::string name;
  Source source;
  std::string claim;
  std::function<void(Context&)> body;
};

class Registry {
 public:
  static Registry& instance();  // every registered experiment
  void add(Experiment e);       // throws on a duplicate name
  const std::vector<Experiment>& all() const { return experiments_; }  // sorted by name
  const Experiment* find(const std::string& name) const;

 private:
  std::vector<Experiment> experiments_;
};

// Registers an experiment at static initialization (used by DESCENT_EXPERIMENT).
struct Registrar {
  explicit Registrar(Experiment e) { Registry::instance().add(std::move(e)); }
};

json to_json(const Result& r);
// Runs the experiment and times it; writes OUT/result.json (atomically) when
// options.output_dir is set (creating the folder).
Result run(const Experiment& e, const RunOptions& options);

}  // namespace descent::experiments

// DESCENT_EXPERIMENT(name, seed, section, claim) { body using `ctx` } — see the example above.
#define DESCENT_EXPERIMENT(NAME, SEED, SECTION, CLAIM)                                                     \
  static void descent_experiment_body_##NAME(::descent::experiments::Context& ctx);                       \
  [[maybe_unused]] static const ::descent::experiments::Registrar descent_experiment_registrar_##NAME{    \
      ::descent::experiments::Experiment{#NAME, {SEED, SECTION}, CLAIM, &descent_experiment_body_##NAME}}; \
  static void descent_experiment_body_##NAME([[maybe_unused]] ::descent::experiments::Context& ctx)
