#pragma once
// A study's evaluations as CSV, one row appended and flushed as each evaluation finishes, so
// that a crash or kill loses at most the evaluation in progress, and a study can be resumed
// from the file (read_evaluation_log + MinimizeOptions::replay).
//
//   evaluation,ok,f,best,x0,...,x{d-1},error
//
// Numbers are written with 17 significant digits, so a point read back is bitwise the point
// that was evaluated; failures keep f = inf and their message (commas and line breaks
// replaced by ';').
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "descent/blackbox/problem.hpp"

namespace descent::blackbox {

class EvaluationLog {
 public:
  // Creates `path` with its header, or (append) continues an existing log of the same
  // dimension. Throws InputError when the file cannot be opened.
  EvaluationLog(const std::string& path, Eigen::Index dim, bool append);
  ~EvaluationLog();
  EvaluationLog(const EvaluationLog&) = delete;
  EvaluationLog& operator=(const EvaluationLog&) = delete;

  void append(int64_t number, const Evaluation& e, double best);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  Eigen::Index dim_ = 0;
};

// The evaluations of a log written by EvaluationLog, in order. Throws InputError naming the
// file and the line when it is not such a log or its dimension is not `dim`.
std::vector<Evaluation> read_evaluation_log(const std::string& path, Eigen::Index dim);

}  // namespace descent::blackbox
