#include "models/config_checks.h"

#include <cmath>
#include <filesystem>

#include "core/error.h"

namespace sdfast::models {

namespace fs = std::filesystem;

double config_positive(const Config& c, const std::string& key, double fallback) {
  const double v = c.get<double>(key, fallback);
  if (!std::isfinite(v) || v <= 0) c.fail_key(key, str_cat("must be a positive number, got ", v));
  return v;
}

std::vector<int> config_int_list(const Config& c, const std::string& key, std::vector<int> fallback,
                                 int min, int max, size_t max_len) {
  std::vector<int> v = c.get<std::vector<int>>(key, std::move(fallback));
  if (v.empty() || v.size() > max_len)
    c.fail_key(key, str_cat("must have between 1 and ", max_len, " entries, got ", v.size()));
  for (int x : v)
    if (x < min || x > max)
      c.fail_key(key, str_cat("entries must be between ", min, " and ", max, ", got ", x));
  return v;
}

void config_check_length(const Config& c, const std::string& key, size_t size, size_t n,
                         const std::string& other) {
  if (size != n) c.fail_key(key, str_cat("has ", size, " entries but \"", other, "\" has ", n));
}

void config_check_class(const Config& c, const std::string& expected) {
  if (!c.has("_class_name")) return;
  const std::string name = c.get<std::string>("_class_name");
  if (name != expected) c.fail_key("_class_name", "is '" + name + "', expected '" + expected + "'");
}

Config load_component_config(const std::string& dir) {
  const fs::path path = fs::path(dir) / "config.json";
  if (!fs::is_regular_file(path)) fail("model folder '", dir, "' has no config.json");
  return Config::load(path.string());
}

std::vector<std::string> component_weight_files(const std::string& dir,
                                                const std::vector<std::string>& files,
                                                const std::string& default_name) {
  if (!files.empty()) return files;
  const fs::path path = fs::path(dir) / default_name;
  if (!fs::is_regular_file(path))
    fail("model folder '", dir, "' has no '", default_name, "' (give the weight files explicitly)");
  return {path.string()};
}

}  // namespace sdfast::models
