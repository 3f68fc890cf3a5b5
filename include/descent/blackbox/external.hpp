#pragma once
// An external program as a black-box function: x is written to its standard input as
// whitespace-separated numbers (one line), f(x) is the first number it prints. A non-zero
// exit, unparsable output or a run past the time-out throws descent::Error, which
// evaluate_one/minimize record as a failed evaluation (never fatal, never a hang).
#include <string>

#include "descent/blackbox/problem.hpp"

namespace descent::blackbox {

// `command` runs under /bin/sh -c; timeout_seconds <= 0 means no limit. The process group
// of a command that times out is killed.
Function external_command(std::string command, double timeout_seconds);

}  // namespace descent::blackbox
