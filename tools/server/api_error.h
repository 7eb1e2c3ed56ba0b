// `sdfast serve`: the error every handler answers with, in the OpenAI shape
// {"error": {"message", "type", "param", "code"}} (also used by the sdapi routes).
#pragma once

#include <stdexcept>
#include <string>

namespace sdfast::server {

class ApiError : public std::runtime_error {
 public:
  // `status`: the HTTP status; `type`: OpenAI's error type (invalid_request_error, ...);
  // `param`: the request field at fault ("" when none); `code`: a short machine-readable reason.
  ApiError(int status, std::string type, std::string code, std::string param, const std::string& message)
      : std::runtime_error(message),
        status(status),
        type(std::move(type)),
        code(std::move(code)),
        param(std::move(param)) {}

  int status;
  std::string type;
  std::string code;
  std::string param;
};

// 400 invalid_request_error naming the field.
inline ApiError invalid_field(const std::string& param, const std::string& message) {
  return ApiError(400, "invalid_request_error", "invalid_value", param, message);
}

}  // namespace sdfast::server
