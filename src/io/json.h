// JSON as Diffusers and transformers write it, and typed access to config.json values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sdfast {

// Parses JSON text as Python's json module writes it: the bare tokens NaN, Infinity and -Infinity
// are accepted (as the float values NaN, +inf and -inf, so that range checks see them), duplicate
// keys are an error. `label` names the source in errors.
nlohmann::json parse_json(std::string_view text, const std::string& label);
// Reads and parses a file (at most `max_bytes`); errors name the path.
nlohmann::json read_json_file(const std::string& path, size_t max_bytes = 64u << 20);

// A JSON object with checked, typed access. Every error names the file and the key, and says what
// was expected and what was found.
class Config {
 public:
  Config() = default;
  Config(nlohmann::json j, std::string label);
  static Config load(const std::string& path);

  // Present and not null.
  bool has(const std::string& key) const;
  // Required key.
  template <class T>
  T get(const std::string& key) const;
  // Optional key: `fallback` when absent or null. A number that is NaN is an error for every type
  // (it is never a usable value); +-Infinity reach the caller, whose range checks refuse them.
  template <class T>
  T get(const std::string& key, T fallback) const {
    return has(key) ? get<T>(key) : fallback;
  }
  // Throws "<label>: <key> ... <message>" (for range checks done by the caller).
  [[noreturn]] void fail_key(const std::string& key, const std::string& message) const;

  const nlohmann::json& json() const { return json_; }
  const std::string& label() const { return label_; }

 private:
  nlohmann::json json_;
  std::string label_;
};

// An optional integer key in [min, max] (`fallback` when absent); out of range: Config::fail_key
// saying "must be between min and max, got v". The one range-checked integer reader of model and
// scheduler configs.
int config_int(const Config& c, const std::string& key, int fallback, int min, int max);

// Supported: bool, int, int64_t, double, float, std::string, std::vector<int>, std::vector<double>,
// std::vector<std::string>.
template <>
bool Config::get<bool>(const std::string& key) const;
template <>
int Config::get<int>(const std::string& key) const;
template <>
int64_t Config::get<int64_t>(const std::string& key) const;
template <>
double Config::get<double>(const std::string& key) const;
template <>
float Config::get<float>(const std::string& key) const;
template <>
std::string Config::get<std::string>(const std::string& key) const;
template <>
std::vector<int> Config::get<std::vector<int>>(const std::string& key) const;
template <>
std::vector<double> Config::get<std::vector<double>>(const std::string& key) const;
template <>
std::vector<std::string> Config::get<std::vector<std::string>>(const std::string& key) const;

}  // namespace sdfast
