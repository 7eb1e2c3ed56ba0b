// `sdfast serve`: reading typed fields out of a JSON request body, with errors naming the field,
// the expected type and the value found (400 invalid_request_error).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace sdfast::server {

using Json = nlohmann::json;

// Parses a request body that must be a JSON object sent as application/json: 415 for another
// content type, 400 for malformed JSON or a value that is not an object.
Json parse_json_object(std::string_view body, std::string_view content_type);

// Each get_* returns nothing when the field is absent or null and throws ApiError when it has the
// wrong type or is out of [lo, hi].
std::optional<std::string> get_string(const Json& obj, const char* name);
std::optional<int64_t> get_int(const Json& obj, const char* name, int64_t lo, int64_t hi);
std::optional<double> get_number(const Json& obj, const char* name, double lo, double hi);
std::optional<bool> get_bool(const Json& obj, const char* name);

// A seed: an integer 0..2^64-1; with `random_below_zero` (A1111's -1) a negative one means
// "random" (returns nothing).
std::optional<uint64_t> get_seed(const Json& obj, const char* name, bool random_below_zero);

// A JSON value's type for messages ("a string", "an array", ...).
std::string type_name(const Json& v);

}  // namespace sdfast::server
