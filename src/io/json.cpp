#include "io/json.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include "core/error.h"
#include "core/utf8.h"

namespace sdfast {

using nlohmann::json;

namespace {

// Deepest nesting accepted. Real configs nest 3 levels; the limit keeps a hostile file from
// costing memory proportional to its depth in the parser's stacks.
constexpr int kMaxDepth = 128;

// Python's non-standard number tokens, rewritten so that nlohmann can parse the text.
struct PythonTokens {
  std::string as_null;    // every NaN / Infinity / -Infinity token replaced by null
  std::string as_marker;  // the same tokens replaced by 0 / 1 / -1 (tells them apart)
  bool any = false;
};

// Rewrites Python's non-standard number tokens outside strings and checks the nesting depth.
PythonTokens replace_python_tokens(std::string_view text, const std::string& label) {
  PythonTokens out;
  out.as_null.reserve(text.size());
  auto both = [&out](std::string_view null_form, std::string_view marker_form) {
    out.as_null += null_form;
    out.as_marker += marker_form;
  };
  bool in_string = false;
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      both(std::string_view(&c, 1), std::string_view(&c, 1));
      if (c == '\\' && i + 1 < text.size()) {
        ++i;
        both(text.substr(i, 1), text.substr(i, 1));
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) fail(label, ": JSON nested deeper than ", kMaxDepth, " levels");
    } else if (c == ']' || c == '}') {
      --depth;
    }
    if (c == '"') {
      in_string = true;
      both("\"", "\"");
    } else if (text.substr(i, 9) == "-Infinity") {
      both("null", "-1");
      out.any = true;
      i += 8;
    } else if (text.substr(i, 8) == "Infinity") {
      both("null", "1");
      out.any = true;
      i += 7;
    } else if (text.substr(i, 3) == "NaN") {
      both("null", "0");
      out.any = true;
      i += 2;
    } else {
      both(std::string_view(&c, 1), std::string_view(&c, 1));
    }
  }
  return out;
}

// Puts the non-finite numbers back: where `j` (parsed from as_null) holds null and `marker`
// (parsed from as_marker, the same structure) holds a number, the text had NaN or +-Infinity.
void restore_non_finite(json& j, const json& marker) {
  if (j.is_null() && marker.is_number()) {
    const double m = marker.get<double>();
    j = m == 0  ? std::numeric_limits<double>::quiet_NaN()
        : m > 0 ? std::numeric_limits<double>::infinity()
                : -std::numeric_limits<double>::infinity();
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      restore_non_finite(it.value(), marker.at(it.key()));
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) restore_non_finite(j[i], marker.at(i));
  }
}

std::string describe_value(const json& v) {
  if (v.is_number_float() && !std::isfinite(v.get<double>()))
    return std::isnan(v.get<double>()) ? "NaN" : v.get<double>() > 0 ? "Infinity" : "-Infinity";
  std::string s = v.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

}  // namespace

json parse_json(std::string_view text, const std::string& label) {
  size_t bad = 0;
  if (!is_valid_utf8(text, &bad)) fail(label, ": not valid UTF-8 (byte ", bad, ")");
  const PythonTokens fixed = replace_python_tokens(text, label);
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  auto cb = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (ev == json::parse_event_t::key && !keys.empty() && parsed.is_string()) {
      if (!keys.back().insert(parsed.get<std::string>()).second && duplicate.empty())
        duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json j;
  try {
    j = json::parse(fixed.as_null.begin(), fixed.as_null.end(), cb);
  } catch (const json::exception& e) {
    fail(label, ": invalid JSON (", e.what(), ")");
  }
  if (!duplicate.empty()) fail(label, ": duplicate key '", duplicate, "'");
  if (fixed.any) restore_non_finite(j, json::parse(fixed.as_marker));
  return j;
}

json read_json_file(const std::string& path, size_t max_bytes) {
  // O_NONBLOCK: a FIFO must not block the open; it is refused as not a regular file.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail("cannot read '", path, "': ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("cannot read '", path, "': not a regular file");
  }
  if (uint64_t(st.st_size) > max_bytes) {
    ::close(fd);
    fail("'", path, "' is ", uint64_t(st.st_size), " bytes, more than the ", max_bytes, " allowed");
  }
  std::string text(size_t(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t r = ::read(fd, text.data() + got, text.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += size_t(r);
  }
  ::close(fd);
  if (got != text.size()) fail("cannot read '", path, "': short read");
  return parse_json(text, "'" + path + "'");
}

Config::Config(nlohmann::json j, std::string label)
    : json_(std::move(j)), label_(std::move(label)) {
  if (!json_.is_object()) fail(label_, ": expected a JSON object, got ", describe_value(json_));
}

Config Config::load(const std::string& path) {
  return Config(read_json_file(path), "'" + path + "'");
}

bool Config::has(const std::string& key) const {
  auto it = json_.find(key);
  return it != json_.end() && !it->is_null();
}

void Config::fail_key(const std::string& key, const std::string& message) const {
  fail(label_, ": \"", key, "\" ", message);
}

namespace {
const nlohmann::json& required(const Config& c, const std::string& key) {
  auto it = c.json().find(key);
  if (it == c.json().end() || it->is_null()) c.fail_key(key, "is missing");
  return *it;
}
int64_t as_int(const Config& c, const std::string& key, const nlohmann::json& v) {
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
    c.fail_key(key, "is out of range: " + describe_value(v));
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return int64_t(d);
  }
  c.fail_key(key, "must be an integer, got " + describe_value(v));
}
double as_double(const Config& c, const std::string& key, const nlohmann::json& v) {
  if (!v.is_number() || std::isnan(v.get<double>()))
    c.fail_key(key, "must be a number, got " + describe_value(v));
  return v.get<double>();
}
}  // namespace

template <>
bool Config::get<bool>(const std::string& key) const {
  const nlohmann::json& v = required(*this, key);
  if (!v.is_boolean()) fail_key(key, "must be true or false, got " + describe_value(v));
  return v.get<bool>();
}

template <>
int64_t Config::get<int64_t>(const std::string& key) const {
  return as_int(*this, key, required(*this, key));
}

template <>
int Config::get<int>(const std::string& key) const {
  const int64_t v = get<int64_t>(key);
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    fail_key(key, "is out of range: " + std::to_string(v));
  return int(v);
}

template <>
double Config::get<double>(const std::string& key) const {
  return as_double(*this, key, required(*this, key));
}

template <>
float Config::get<float>(const std::string& key) const {
  return float(get<double>(key));
}

template <>
std::string Config::get<std::string>(const std::string& key) const {
  const nlohmann::json& v = required(*this, key);
  if (!v.is_string()) fail_key(key, "must be a string, got " + describe_value(v));
  return v.get<std::string>();
}

template <>
std::vector<int> Config::get<std::vector<int>>(const std::string& key) const {
  const nlohmann::json& v = required(*this, key);
  if (!v.is_array()) fail_key(key, "must be a list of integers, got " + describe_value(v));
  std::vector<int> out;
  for (const nlohmann::json& e : v) {
    const int64_t x = as_int(*this, key, e);
    if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
      fail_key(key, "has an out-of-range value " + std::to_string(x));
    out.push_back(int(x));
  }
  return out;
}

template <>
std::vector<double> Config::get<std::vector<double>>(const std::string& key) const {
  const nlohmann::json& v = required(*this, key);
  if (!v.is_array()) fail_key(key, "must be a list of numbers, got " + describe_value(v));
  std::vector<double> out;
  for (const nlohmann::json& e : v) out.push_back(as_double(*this, key, e));
  return out;
}

template <>
std::vector<std::string> Config::get<std::vector<std::string>>(const std::string& key) const {
  const nlohmann::json& v = required(*this, key);
  if (!v.is_array()) fail_key(key, "must be a list of strings, got " + describe_value(v));
  std::vector<std::string> out;
  for (const nlohmann::json& e : v) {
    if (!e.is_string()) fail_key(key, "must be a list of strings, got " + describe_value(v));
    out.push_back(e.get<std::string>());
  }
  return out;
}

int config_int(const Config& c, const std::string& key, int fallback, int min, int max) {
  const int v = c.get<int>(key, fallback);
  if (v < min || v > max) c.fail_key(key, str_cat("must be between ", min, " and ", max, ", got ", v));
  return v;
}

}  // namespace sdfast
