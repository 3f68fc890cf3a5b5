#pragma once
// Errors in descent are exceptions that say what was wrong and what to do about it.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace descent {

// Base of every error descent throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A shape, dtype or argument that an operation cannot accept.
class ShapeError : public Error {
 public:
  using Error::Error;
};

// Invalid user input: a file, a flag, a hyper-parameter.
class InputError : public Error {
 public:
  using Error::Error;
};

// A value that should be finite was NaN or infinite (see autodiff's debug mode).
class NonFiniteError : public Error {
 public:
  using Error::Error;
};

template <class E = Error, class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw E(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace descent

// DESCENT_CHECK(cond, ErrorType, "format", args...) throws ErrorType when cond is false.
#define DESCENT_CHECK(cond, E, ...)                 \
  do {                                              \
    if (!(cond)) ::descent::fail<E>(__VA_ARGS__);   \
  } while (0)
