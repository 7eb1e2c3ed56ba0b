// `sdfast serve`: typed JSON field access for the request parsers.
#include "json_fields.h"

#include <cmath>

#include "api_error.h"

namespace sdfast::server {

std::string type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer";
    case Json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

namespace {

// The media type without parameters, lower-cased ("Application/JSON; charset=utf-8" -> application/json).
std::string media_type(std::string_view content_type) {
  std::string t(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
  size_t start = 0;
  while (start < t.size() && (t[start] == ' ' || t[start] == '\t')) ++start;
  t = t.substr(start);
  for (char& c : t) c = char(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

}  // namespace

Json parse_json_object(std::string_view body, std::string_view content_type) {
  const std::string type = media_type(content_type);
  if (type != "application/json")
    throw ApiError(415, "invalid_request_error", "unsupported_media_type", "",
                   "the request body must be JSON sent as Content-Type: application/json, got '" +
                       std::string(content_type.substr(0, 100)) + "'");
  Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    throw ApiError(400, "invalid_request_error", "invalid_json", "",
                   "the request body is not valid JSON (" + std::to_string(body.size()) + " bytes)");
  if (!j.is_object())
    throw ApiError(400, "invalid_request_error", "invalid_json", "",
                   "the request body must be a JSON object, got " + type_name(j));
  return j;
}

namespace {

const Json* field(const Json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

[[noreturn]] void wrong_type(const char* name, const char* expected, const Json& got) {
  throw invalid_field(name, std::string("'") + name + "' must be " + expected + ", got " + type_name(got));
}

}  // namespace

std::optional<std::string> get_string(const Json& obj, const char* name) {
  const Json* v = field(obj, name);
  if (!v) return std::nullopt;
  if (!v->is_string()) wrong_type(name, "a string", *v);
  return v->get<std::string>();
}

std::optional<int64_t> get_int(const Json& obj, const char* name, int64_t lo, int64_t hi) {
  const Json* v = field(obj, name);
  if (!v) return std::nullopt;
  int64_t x = 0;
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (u > uint64_t(hi))
      throw invalid_field(name, std::string("'") + name + "' must be between " + std::to_string(lo) +
                                    " and " + std::to_string(hi) + ", got " + std::to_string(u));
    x = int64_t(u);
  } else if (v->is_number_integer()) {
    x = v->get<int64_t>();
  } else if (v->is_number_float() && std::isfinite(v->get<double>()) &&
             v->get<double>() == std::floor(v->get<double>()) && std::fabs(v->get<double>()) < 9e15) {
    x = int64_t(v->get<double>());  // 4.0 is an integer to JavaScript clients
  } else if (v->is_number_float()) {
    throw invalid_field(name, std::string("'") + name + "' must be an integer, got " + v->dump());
  } else {
    wrong_type(name, "an integer", *v);
  }
  if (x < lo || x > hi)
    throw invalid_field(name, std::string("'") + name + "' must be between " + std::to_string(lo) + " and " +
                                  std::to_string(hi) + ", got " + std::to_string(x));
  return x;
}

std::optional<double> get_number(const Json& obj, const char* name, double lo, double hi) {
  const Json* v = field(obj, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) wrong_type(name, "a number", *v);
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    throw invalid_field(name, std::string("'") + name + "' must be between " + Json(lo).dump() + " and " +
                                  Json(hi).dump() + ", got " + v->dump());
  return x;
}

std::optional<bool> get_bool(const Json& obj, const char* name) {
  const Json* v = field(obj, name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) wrong_type(name, "true or false", *v);
  return v->get<bool>();
}

std::optional<uint64_t> get_seed(const Json& obj, const char* name, bool random_below_zero) {
  const Json* v = field(obj, name);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  if (v->is_number_integer()) {
    const int64_t s = v->get<int64_t>();
    if (s >= 0) return uint64_t(s);
    if (random_below_zero) return std::nullopt;
    throw invalid_field(name, std::string("'") + name + "' must be an integer from 0 to 18446744073709551615, got " +
                                  std::to_string(s));
  }
  if (v->is_number_float() && v->get<double>() == -1 && random_below_zero) return std::nullopt;
  wrong_type(name, "an integer from 0 to 18446744073709551615", *v);
}

}  // namespace sdfast::server
