// Hostile config.json files: parse_json / read_json_file / Config getters must refuse them with
// a message naming the file and the key, without crashing, hanging or wrapping numbers.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <string>

#include "core/error.h"
#include "hostile_test_util.h"
#include "io/json.h"

namespace sdfast {
namespace {

using testing::TempDir;
using testing::throws_with;
using testing::write_file;

Config cfg(const std::string& text) {
  return Config(parse_json(text, "'config.json'"), "'config.json'");
}

TEST(JsonConfigHostile, IntegerBeyondInt64DoesNotWrap) {
  const Config c = cfg(R"({"sample_size": 18446744073709551615, "big": 9223372036854775807})");
  EXPECT_TRUE(throws_with([&] { c.get<int64_t>("sample_size"); },
                          {"'config.json'", "sample_size", "out of range"}));
  EXPECT_TRUE(throws_with([&] { c.get<int>("sample_size"); }, {"sample_size", "out of range"}));
  EXPECT_EQ(c.get<int64_t>("big"), 9223372036854775807);
  EXPECT_TRUE(throws_with([&] { c.get<int>("big"); }, {"big", "out of range"}));
  EXPECT_TRUE(
      throws_with([&] { cfg(R"({"l": [1, 18446744073709551615]})").get<std::vector<int>>("l"); },
                  {"\"l\"", "out of range"}));
}

TEST(JsonConfigHostile, WrongTypesNameTheKey) {
  const Config c = cfg(R"({"layers": 2.5, "act": 3, "blocks": "down", "flag": 1, "eps": "1e-5",
                           "names": ["a", 2], "nan": NaN, "inf": Infinity, "ninf": -Infinity})");
  EXPECT_TRUE(throws_with([&] { c.get<int>("layers"); },
                          {"'config.json'", "\"layers\"", "must be an integer", "2.5"}));
  EXPECT_TRUE(throws_with([&] { c.get<std::string>("act"); }, {"\"act\"", "must be a string"}));
  EXPECT_TRUE(
      throws_with([&] { c.get<std::vector<int>>("blocks"); }, {"\"blocks\"", "list of integers"}));
  EXPECT_TRUE(throws_with([&] { c.get<bool>("flag"); }, {"\"flag\"", "true or false"}));
  EXPECT_TRUE(throws_with([&] { c.get<double>("eps"); }, {"\"eps\"", "must be a number"}));
  EXPECT_TRUE(throws_with([&] { c.get<std::vector<std::string>>("names"); },
                          {"\"names\"", "list of strings"}));
  EXPECT_TRUE(
      throws_with([&] { c.get<int>("missing"); }, {"'config.json'", "\"missing\"", "is missing"}));
  // Python's json writes NaN/Infinity: parsed as those values. NaN is never usable (not even in
  // place of a default: the file does say something); +-Infinity reach the range checks.
  EXPECT_TRUE(c.has("nan"));
  EXPECT_TRUE(throws_with([&] { c.get<double>("nan"); }, {"\"nan\"", "must be a number, got NaN"}));
  EXPECT_TRUE(throws_with([&] { c.get<double>("nan", 1.0); }, {"\"nan\"", "NaN"}));
  EXPECT_TRUE(throws_with([&] { c.get<int>("nan", 1); }, {"\"nan\"", "integer", "NaN"}));
  EXPECT_TRUE(throws_with([&] { c.get<int>("inf"); }, {"\"inf\"", "integer", "Infinity"}));
  EXPECT_EQ(c.get<double>("inf"), INFINITY);
  EXPECT_EQ(c.get<double>("ninf"), -INFINITY);
  EXPECT_EQ(c.get<int>("missing", 7), 7);
}

TEST(JsonConfigHostile, PythonTokensOnlyOutsideStringsAndInEveryPosition) {
  const nlohmann::json j = parse_json(
      R"({"s": "NaN Infinity", "l": [1, NaN, -Infinity, null, {"x": Infinity}], "n": null})",
      "'x.json'");
  EXPECT_EQ(j["s"], "NaN Infinity");
  EXPECT_EQ(j["l"][0], 1);
  EXPECT_TRUE(std::isnan(j["l"][1].get<double>()));
  EXPECT_EQ(j["l"][2].get<double>(), -INFINITY);
  EXPECT_TRUE(j["l"][3].is_null());
  EXPECT_EQ(j["l"][4]["x"].get<double>(), INFINITY);
  EXPECT_TRUE(j["n"].is_null());
  const Config c(j, "'x.json'");
  EXPECT_TRUE(throws_with([&] { c.get<std::vector<double>>("l"); }, {"\"l\"", "NaN"}));
  // Not tokens: parts of longer words, or signs Python never writes.
  for (const char* bad :
       {R"({"a": NaNa})", R"({"a": -NaN})", R"({"a": Infinityx})", R"({"a": +Infinity})"})
    EXPECT_TRUE(throws_with([&] { parse_json(bad, "'x.json'"); }, {"'x.json'", "invalid JSON"}))
        << bad;
}

TEST(JsonConfigHostile, MalformedText) {
  EXPECT_TRUE(
      throws_with([] { parse_json("{\"a\": 1,}", "'x.json'"); }, {"'x.json'", "invalid JSON"}));
  EXPECT_TRUE(throws_with([] { parse_json("{\"a\": {\"b\": 1, \"b\": 2}}", "'x.json'"); },
                          {"'x.json'", "duplicate key 'b'"}));
  EXPECT_TRUE(throws_with([] { parse_json("{\"a\": \"\xc3\x28\"}", "'x.json'"); },
                          {"'x.json'", "not valid UTF-8"}));
  EXPECT_TRUE(throws_with(
      [] { parse_json(std::string(100000, '[') + std::string(100000, ']'), "'x.json'"); },
      {"'x.json'", "nested deeper than 128"}));
  EXPECT_TRUE(throws_with([] { parse_json("{\"a\": NaNa}", "'x.json'"); }, {"invalid JSON"}));
  EXPECT_TRUE(throws_with([] { Config(parse_json("[1]", "'x.json'"), "'x.json'"); },
                          {"'x.json'", "expected a JSON object"}));
  // Brackets inside strings do not count as nesting.
  EXPECT_NO_THROW(parse_json("{\"a\": \"" + std::string(1000, '[') + "\\\"\"}", "'x.json'"));
}

TEST(JsonConfigHostile, FilesThatAreNotConfigs) {
  TempDir dir;
  EXPECT_TRUE(
      throws_with([&] { read_json_file(dir / "none.json"); }, {"cannot read", dir / "none.json"}));
  EXPECT_TRUE(throws_with([&] { read_json_file(dir.path()); }, {"not a regular file"}));
  const std::string fifo = dir / "fifo.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_TRUE(throws_with([&] { read_json_file(fifo); }, {fifo, "not a regular file"}));
  write_file(dir / "big.json", "{\"a\": \"" + std::string(2000, 'x') + "\"}");
  EXPECT_TRUE(throws_with([&] { read_json_file(dir / "big.json", 1000); },
                          {dir / "big.json", "more than the 1000"}));
  write_file(dir / "ok.json", "{\"a\": 1}");
  EXPECT_EQ(Config::load(dir / "ok.json").get<int>("a"), 1);
}

}  // namespace
}  // namespace sdfast
