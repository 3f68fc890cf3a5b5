// The experiment kit (experiment.hpp): context, tables, checks.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "descent/core/error.hpp"
#include "descent/experiments/experiment.hpp"

namespace descent::experiments {

json number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  return v;
}

// ---- Cell, Table ---------------------------------------------------------------------------

json Cell::to_json() const {
  if (value_.is_number_float()) return number(value_.get<double>());
  return value_;
}

std::string Cell::to_csv() const {
  if (text_) {
    const auto& s = value_.get_ref<const std::string&>();
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  }
  if (value_.is_boolean()) return value_.get<bool>() ? "1" : "0";
  if (value_.is_number_integer()) return fmt::format("{}", value_.get<int64_t>());
  const double v = value_.get<double>();
  if (std::isnan(v)) return "nan";  // gnuplot skips it as missing
  return fmt::format("{}", v);      // shortest form that reads back exactly
}

double Cell::as_double() const {
  if (text_) return NAN;
  if (value_.is_boolean()) return value_.get<bool>() ? 1.0 : 0.0;
  return value_.get<double>();
}

Table::Table(std::string name, std::vector<std::string> columns, const std::filesystem::path& out, bool in_result)
    : name_(std::move(name)), columns_(std::move(columns)), in_result_(in_result) {
  DESCENT_CHECK(!columns_.empty(), Error, "experiment table '{}' has no columns", name_);
  if (out.empty()) return;
  csv_path_ = out / (name_ + ".csv");
  csv_ = std::make_unique<std::ofstream>(csv_path_);
  DESCENT_CHECK(csv_->good(), InputError, "cannot write '{}'", csv_path_.string());
  for (size_t i = 0; i < columns_.size(); ++i) *csv_ << (i ? "," : "") << columns_[i];
  *csv_ << "\n";
}

void Table::add_row(std::initializer_list<Cell> cells) { add_row(std::vector<Cell>(cells)); }

void Table::add_row(const std::vector<Cell>& cells) {
  DESCENT_CHECK(cells.size() == columns_.size(), Error, "experiment table '{}': a row of {} cells for {} columns",
                name_, cells.size(), columns_.size());
  if (csv_) {
    for (size_t i = 0; i < cells.size(); ++i) *csv_ << (i ? "," : "") << cells[i].to_csv();
    *csv_ << "\n";
  }
  rows_.push_back(cells);
}

void Table::flush() {
  if (!csv_) return;
  csv_->flush();
  DESCENT_CHECK(csv_->good(), InputError, "writing '{}' failed", csv_path_.string());
}

size_t Table::index_of(const std::string& column) const {
  const auto it = std::find(columns_.begin(), columns_.end(), column);
  DESCENT_CHECK(it != columns_.end(), Error, "experiment table '{}' has no column '{}'", name_, column);
  return size_t(it - columns_.begin());
}

void Table::plot(PlotSpec spec, const std::string& suffix) {
  for (const auto& s : spec.series) index_of(s.x_column), index_of(s.y_column);  // typos fail in quick runs too
  if (!csv_) return;
  flush();
  spec.csv_path = csv_path_.string();
  spec.png_path = (csv_path_.parent_path() / (name_ + suffix + ".png")).string();
  render_plot(spec);  // a missing gnuplot costs the picture (the .gp script stays), never the numbers
}

std::vector<double> Table::column(const std::string& name) const {
  const size_t k = index_of(name);
  std::vector<double> v;
  v.reserve(rows_.size());
  for (const auto& row : rows_) v.push_back(row[k].as_double());
  return v;
}

json Table::to_json() const {
  json rows = json::array();
  for (const auto& row : rows_) {
    json r = json::object();
    for (size_t i = 0; i < columns_.size(); ++i) r[columns_[i]] = row[i].to_json();
    rows.push_back(std::move(r));
  }
  return rows;
}

// ---- Checks --------------------------------------------------------------------------------

bool Checks::add(Check c) {
  for (const auto& o : checks_)
    DESCENT_CHECK(o.name != c.name, Error, "experiment check '{}' is made twice", c.name);
  checks_.push_back(std::move(c));
  return checks_.back().passed;
}

bool Checks::all_passed() const {
  return !checks_.empty() && std::all_of(checks_.begin(), checks_.end(), [](const Check& c) { return c.passed; });
}

bool Checks::at_most(const std::string& name, double m, double bound) {
  return add({name, "<=", number(m), number(bound), nullptr, m <= bound});
}
bool Checks::at_least(const std::string& name, double m, double bound) {
  return add({name, ">=", number(m), number(bound), nullptr, m >= bound});
}
bool Checks::below(const std::string& name, double m, double bound) {
  return add({name, "<", number(m), number(bound), nullptr, m < bound});
}
bool Checks::above(const std::string& name, double m, double bound) {
  return add({name, ">", number(m), number(bound), nullptr, m > bound});
}
bool Checks::within(const std::string& name, double m, double expected, double tolerance) {
  return add({name, "within", number(m), number(expected), number(tolerance), std::abs(m - expected) <= tolerance});
}
bool Checks::within_relative(const std::string& name, double m, double expected, double relative_tolerance) {
  return add({name, "within relative", number(m), number(expected), number(relative_tolerance),
              std::abs(m - expected) <= relative_tolerance * std::abs(expected)});
}
bool Checks::between(const std::string& name, double m, double lo, double hi) {
  return add({name, "in", number(m), json::array({number(lo), number(hi)}), nullptr, lo <= m && m <= hi});
}

namespace {
json numbers(const std::vector<double>& v) {
  json a = json::array();
  for (double x : v) a.push_back(number(x));
  return a;
}
}  // namespace

bool Checks::decreasing(const std::string& name, const std::vector<double>& v) {
  bool ok = !v.empty();
  for (size_t i = 1; i < v.size(); ++i) ok = ok && v[i] < v[i - 1];
  return add({name, "decreasing", numbers(v), "strictly decreasing", nullptr, ok});
}
bool Checks::increasing(const std::string& name, const std::vector<double>& v) {
  bool ok = !v.empty();
  for (size_t i = 1; i < v.size(); ++i) ok = ok && v[i] > v[i - 1];
  return add({name, "increasing", numbers(v), "strictly increasing", nullptr, ok});
}
bool Checks::frequency(const std::string& name, int64_t successes, int64_t trials, double at_least_fraction) {
  DESCENT_CHECK(trials > 0, Error, "experiment check '{}': a frequency over no trials", name);
  const double f = double(successes) / double(trials);
  return add({name, "frequency >=", json{{"successes", successes}, {"trials", trials}, {"fraction", f}},
              number(at_least_fraction), nullptr, f >= at_least_fraction});
}
bool Checks::frequency(const std::string& name, const std::vector<bool>& outcomes, double at_least_fraction) {
  return frequency(name, std::count(outcomes.begin(), outcomes.end(), true), int64_t(outcomes.size()),
                   at_least_fraction);
}
bool Checks::holds(const std::string& name, bool condition, const std::string& expected) {
  return add({name, "holds", condition, expected, nullptr, condition});
}

// ---- Context -------------------------------------------------------------------------------

Context::Context(const Experiment& experiment, const RunOptions& o)
    : quick(o.quick),
      seed(o.seed),
      out(o.output_dir),
      experiment_(experiment),
      show_progress_(o.progress && ::isatty(STDERR_FILENO)) {}

Context::~Context() {
  if (progress_shown_) std::fputs("\r\033[K", stderr);
}

Table& Context::add_table(const std::string& name, std::vector<std::string> columns, bool in_result) {
  for (const auto& t : tables_)
    DESCENT_CHECK(t->name() != name, Error, "experiment '{}': table '{}' is made twice", experiment_.name, name);
  tables_.push_back(std::unique_ptr<Table>(new Table(name, std::move(columns), out, in_result)));
  return *tables_.back();
}

Table& Context::table(const std::string& name, std::vector<std::string> columns) {
  return add_table(name, std::move(columns), true);
}
Table& Context::trace(const std::string& name, std::vector<std::string> columns) {
  return add_table(name, std::move(columns), false);
}

void Context::measure(const std::string& key, json value) { measured_[key] = std::move(value); }

void Context::note(const std::string& text) { notes_ += (notes_.empty() ? "" : " ") + text; }

void Context::progress(int64_t done, int64_t total, std::string_view what) {
  if (!show_progress_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total && now - last_progress_ < std::chrono::milliseconds(200)) return;
  last_progress_ = now;
  progress_shown_ = true;
  const double pct = total > 0 ? 100.0 * double(done) / double(total) : 0.0;
  std::fputs(fmt::format("\r\033[K{}: {}{}{:.0f}%", experiment_.name, what, what.empty() ? "" : " ", pct).c_str(),
             stderr);
  std::fflush(stderr);
}

Result Context::result() const {
  Result r;
  r.measured = measured_;
  for (const auto& t : tables_) {
    if (!t->in_result_) continue;
    DESCENT_CHECK(!r.measured.contains(t->name()), Error, "experiment '{}': '{}' is both a table and a measurement",
                  experiment_.name, t->name());
    r.measured[t->name()] = t->to_json();
  }
  for (const auto& c : check.all()) {
    DESCENT_CHECK(!r.measured.contains(c.name), Error, "experiment '{}': '{}' is both a check and a measurement",
                  experiment_.name, c.name);
    r.measured[c.name] = c.measured;
    r.expected[c.name] = json{{c.relation, c.expected}};
    if (!c.tolerance.is_null()) r.tolerance[c.name] = c.tolerance;
  }
  r.checks = check.all();
  r.passed = check.all_passed();
  r.notes = notes_;
  if (check.all().empty()) {
    if (!r.notes.empty()) r.notes += ' ';
    r.notes += "(no checks were made: not passed)";
  }
  for (const auto& t : tables_) t->flush();
  return r;
}

}  // namespace descent::experiments
