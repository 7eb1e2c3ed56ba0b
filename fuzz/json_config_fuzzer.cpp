// libFuzzer harness: JSON text as config.json / model_index.json / a shard index. parse_json,
// every typed Config getter on every key, model_index.json interpretation and shard index
// checks must refuse bad input with sdfast::Error only.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "io/diffusers_folder.h"
#include "io/json.h"
#include "io/shard_index.h"

using namespace sdfast;

namespace {

template <class F>
void expect_error_only(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

void exercise_getters(const Config& c, const std::string& key) {
  expect_error_only([&] { (void)c.get<bool>(key); });
  expect_error_only([&] { (void)c.get<int>(key); });
  expect_error_only([&] { (void)c.get<int64_t>(key); });
  expect_error_only([&] { (void)c.get<double>(key); });
  expect_error_only([&] { (void)c.get<float>(key); });
  expect_error_only([&] { (void)c.get<std::string>(key); });
  expect_error_only([&] { (void)c.get<std::vector<int>>(key); });
  expect_error_only([&] { (void)c.get<std::vector<double>>(key); });
  expect_error_only([&] { (void)c.get<std::vector<std::string>>(key); });
  expect_error_only([&] { (void)c.get<int>(key, 3); });
  expect_error_only([&] { (void)c.get<std::string>(key, "x"); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json j;
  try {
    j = parse_json(text, "'fuzz.json'");
  } catch (const Error&) {
    return 0;
  }
  expect_error_only([&] {
    const Config c(j, "'fuzz.json'");
    for (const auto& [key, value] : j.items()) exercise_getters(c, key);
    for (const char* key : {"sample_size", "block_out_channels", "_class_name", "missing"})
      exercise_getters(c, key);
    (void)class_of_config(c);
  });
  expect_error_only([&] {
    const ModelIndex index = parse_model_index(j, "'model_index.json'");
    for (const ModelIndexEntry& e : index.components)
      if (role_of_class(e.class_name) != e.name) __builtin_trap();  // parse promised a known class
  });
  expect_error_only([&] {
    const ShardIndex index = ShardIndex::parse(j, "dir", "'index.json'");
    for (const std::string& shard : index.shards)
      if (shard.rfind("dir/", 0) != 0 || shard.find('/', 4) != std::string::npos) __builtin_trap();
  });
  return 0;
}
