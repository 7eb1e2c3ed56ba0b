// Helpers for building Error messages with context.
#pragma once

#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "sdfast/error.h"

namespace sdfast {

// Concatenates its arguments with operator<< into one string.
template <class... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

// Throws Error(str_cat(args...)).
template <class... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(str_cat(std::forward<Args>(args)...));
}

// Throws InvalidArgument(str_cat(args...)).
template <class... Args>
[[noreturn]] void fail_argument(Args&&... args) {
  throw InvalidArgument(str_cat(std::forward<Args>(args)...));
}

// "[1, 4, 64, 64]"
std::string shape_str(const std::vector<int64_t>& shape);

}  // namespace sdfast

#define SDFAST_CHECK(cond, ...)                                             \
  do {                                                                      \
    if (!(cond)) ::sdfast::fail(__VA_ARGS__);                               \
  } while (0)
