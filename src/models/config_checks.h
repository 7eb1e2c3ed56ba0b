// Validated reads of model config.json values, shared by the model config parsers: absurd or
// inconsistent values are errors naming the file and the key.
#pragma once

#include <string>
#include <vector>

#include "io/json.h"

namespace sdfast::models {

// config_int (an integer key in [min, max]) is io/json.h's.
// A number key that must be finite and > 0 (`fallback` when absent).
double config_positive(const Config& c, const std::string& key, double fallback);
// A non-empty list of integers, each in [min, max], at most `max_len` long.
std::vector<int> config_int_list(const Config& c, const std::string& key, std::vector<int> fallback,
                                 int min, int max, size_t max_len);
// Throws unless the list `key` has `n` entries (`other` names the key it must agree with).
void config_check_length(const Config& c, const std::string& key, size_t size, size_t n,
                         const std::string& other);
// Throws unless "_class_name" is absent or `expected`.
void config_check_class(const Config& c, const std::string& expected);

// `dir`/config.json, parsed.
Config load_component_config(const std::string& dir);
// `files` when not empty; else `dir`/`default_name`, which must exist.
std::vector<std::string> component_weight_files(const std::string& dir,
                                                const std::vector<std::string>& files,
                                                const std::string& default_name);

}  // namespace sdfast::models
