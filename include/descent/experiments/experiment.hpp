#pragma once
// An experiment turns one quantitative claim of a seed text into a run that checks itself:
// what was claimed, what was measured, what was expected and within which tolerance.
//
// Registration: every experiment file defines `void register_<name>(Registry&)` and adds
// one line to the list in src/experiments/registry.cpp (register_all). An explicit list,
// not static registrars, because the linker drops static-library objects that nothing
// references, and with them their registrars.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace descent::experiments {

using json = nlohmann::json;

struct Source {
  std::string seed;     // e.g. "004 (Murphy, PML2 ch. 6)"
  std::string section;  // e.g. "§6.7.1"
};

struct RunOptions {
  bool quick = false;       // the small form, for ctest
  std::string output_dir;   // where result.json and CSVs go ("" = write nothing)
  uint64_t seed = 0;
};

struct Result {
  std::string name;
  Source source;
  std::string claim;
  json measured = json::object();
  json expected = json::object();
  json tolerance = json::object();
  bool passed = false;
  std::string notes;
};

struct Experiment {
  std::string name;
  Source source;
  std::string claim;
  std::function<Result(const RunOptions&)> run;
};

class Registry {
 public:
  static Registry& instance();  // holds every experiment of register_all()
  void add(Experiment e);       // throws on a duplicate name
  const std::vector<Experiment>& all() const { return experiments_; }
  const Experiment* find(const std::string& name) const;

 private:
  std::vector<Experiment> experiments_;
};

json to_json(const Result& r);
// Runs the experiment, fills name/source/claim, and writes OUT/result.json when
// options.output_dir is set (creating the folder).
Result run(const Experiment& e, const RunOptions& options);

}  // namespace descent::experiments
