#pragma once
// Helpers for tests that compare descent with a peer implementation (PyTorch, POT,
// optuna, cmaes, scikit-learn) run by a Python interpreter that imports it. Where no
// interpreter imports the peer, the test is skipped with a message, never passed.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

namespace descent::testing {

// Runs a shell command and returns its standard output; nullopt when it exits non-zero.
inline std::optional<std::string> run_command(const std::string& cmd) {
  std::string out;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return std::nullopt;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  if (status != 0) return std::nullopt;
  return out;
}

// The first interpreter (Debian's /usr/bin/python3 first, then python3 on PATH) that can
// import `module`; nullopt when none can.
inline std::optional<std::string> python_with(const std::string& module) {
  for (const char* py : {"/usr/bin/python3", "python3"}) {
    const std::string cmd = std::string(py) + " -c 'import " + module + "' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return std::string(py);
  }
  return std::nullopt;
}

// Directory of the source tree (set by CTest), for test data and peer scripts.
inline std::string source_dir() {
  const char* d = std::getenv("DESCENT_SOURCE_DIR");
  return d ? d : ".";
}

}  // namespace descent::testing

// Inside a TEST: binds `python` to an interpreter importing MODULE or skips the test.
#define DESCENT_REQUIRE_PEER(python, MODULE)                                              \
  const auto python##_opt = ::descent::testing::python_with(MODULE);                       \
  if (!python##_opt) GTEST_SKIP() << "peer '" MODULE "' is not importable by any python3 " \
                                     "(install Debian's python3 package for it); skipped"; \
  const std::string python = *python##_opt

// Inside a TEST: runs the peer script SCRIPT_ARGS (its path under the source tree, then its
// arguments) and binds its standard output to `out`. Debian's /usr/bin/python3 runs it first,
// with no interpreter started just to probe for MODULE (importing torch takes seconds); if that
// fails, the first python3 that imports MODULE runs it, or the test is skipped.
#define DESCENT_RUN_PEER_SCRIPT(out, MODULE, SCRIPT_ARGS)                                            \
  std::string out;                                                                                   \
  {                                                                                                  \
    const std::string descent_peer_args = ::descent::testing::source_dir() + "/" + (SCRIPT_ARGS);    \
    auto descent_peer_out = ::descent::testing::run_command("/usr/bin/python3 " + descent_peer_args + \
                                                            " 2>/dev/null");                         \
    if (!descent_peer_out) {                                                                         \
      DESCENT_REQUIRE_PEER(python, MODULE);                                                          \
      descent_peer_out = ::descent::testing::run_command(python + " " + descent_peer_args);          \
      ASSERT_TRUE(descent_peer_out.has_value()) << "peer script failed: " << descent_peer_args;       \
    }                                                                                                \
    out = *descent_peer_out;                                                                         \
  }
