// sdfast: the one exception type the library throws.
#pragma once

#include <stdexcept>
#include <string>

namespace sdfast {

// Every failure the library reports is an Error whose message says what failed, where
// (file, tensor, config key, argument) and, where it applies, what was expected and what was found.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Thrown for requests that are invalid as asked (bad size, unknown scheduler, ...), as opposed to
// failures while running. The command-line program maps it to exit status 2.
class InvalidArgument : public Error {
 public:
  explicit InvalidArgument(const std::string& what) : Error(what) {}
};

}  // namespace sdfast
