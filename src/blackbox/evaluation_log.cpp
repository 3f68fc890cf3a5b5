#include "descent/blackbox/evaluation_log.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

#include "descent/core/error.hpp"
#include "descent/core/file_io.hpp"

namespace descent::blackbox {
namespace {

std::string header(Eigen::Index dim) {
  std::string h = "evaluation,ok,f,best";
  for (Eigen::Index i = 0; i < dim; ++i) h += fmt::format(",x{}", i);
  return h + ",error";
}

double parse_number(const std::string& s, const std::string& path, int64_t line) {
  if (s == "inf") return INFINITY;
  if (s == "-inf") return -INFINITY;
  if (s == "nan") return NAN;
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  DESCENT_CHECK(used > 0 && used == s.size(), InputError, "evaluation log '{}', line {}: '{}' is not a number", path,
                line, s);
  return v;
}

}  // namespace

EvaluationLog::EvaluationLog(const std::string& path, Eigen::Index dim, bool append) : path_(path), dim_(dim) {
  file_ = std::fopen(path.c_str(), append ? "a" : "w");
  DESCENT_CHECK(file_ != nullptr, InputError, "evaluation log '{}': cannot open for writing ({})", path,
                std::strerror(errno));
  if (!append) {
    std::fprintf(file_, "%s\n", header(dim).c_str());
    std::fflush(file_);
  }
}

EvaluationLog::~EvaluationLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void EvaluationLog::append(int64_t number, const Evaluation& e, double best) {
  std::string row = fmt::format("{},{},{:.17g},{:.17g}", number, e.ok ? 1 : 0, e.f, best);
  for (Eigen::Index i = 0; i < e.x.size(); ++i) row += fmt::format(",{:.17g}", e.x[i]);
  std::string error = e.error;
  for (char& c : error)
    if (c == ',' || c == '\n' || c == '\r') c = ';';
  row += "," + error + "\n";
  // One write and a flush per evaluation: a crash loses at most the evaluation in progress.
  DESCENT_CHECK(std::fputs(row.c_str(), file_) >= 0 && std::fflush(file_) == 0, InputError,
                "evaluation log '{}': write failed ({})", path_, std::strerror(errno));
}

std::vector<Evaluation> read_evaluation_log(const std::string& path, Eigen::Index dim) {
  std::string text = read_file_bytes(path, "evaluation log");
  // A last line without its line break was cut by a crash: that evaluation runs again.
  if (!text.empty() && text.back() != '\n') text.erase(text.find_last_of('\n') + 1);
  std::istringstream in(text);
  std::string line;
  DESCENT_CHECK(std::getline(in, line) && line == header(dim), InputError,
                "evaluation log '{}': the first line is not the header '{}' of a study in {} dimensions", path,
                header(dim), dim);
  std::vector<Evaluation> evals;
  int64_t number = 1;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::stringstream ss(line);
    for (std::string f; std::getline(ss, f, ',');) fields.push_back(f);
    if (!line.empty() && line.back() == ',') fields.emplace_back();
    DESCENT_CHECK(fields.size() == static_cast<size_t>(dim) + 5, InputError,
                  "evaluation log '{}', line {}: {} fields, expected {}", path, number, fields.size(), dim + 5);
    DESCENT_CHECK(parse_number(fields[0], path, number) == static_cast<double>(evals.size() + 1), InputError,
                  "evaluation log '{}', line {}: evaluation {} out of order", path, number, fields[0]);
    Evaluation e;
    e.ok = fields[1] == "1";
    e.f = parse_number(fields[2], path, number);
    e.x.resize(dim);
    for (Eigen::Index i = 0; i < dim; ++i) e.x[i] = parse_number(fields[4 + i], path, number);
    e.error = fields.back();
    evals.push_back(std::move(e));
  }
  return evals;
}

}  // namespace descent::blackbox
