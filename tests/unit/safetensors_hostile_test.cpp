// Hostile safetensors files (ENGINEERING.md section 4, items 1-6): each case writes the bad file
// into a temporary folder, opens it, and checks that the Error names the file and the problem.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "hostile_test_util.h"
#include "io/safetensors.h"
#include "io/weights.h"

namespace sdfast {
namespace {

using testing::safetensors_bytes;
using testing::TempDir;
using testing::throws_with;
using testing::u64_le;
using testing::write_file;

struct BadFile {
  const char* name;
  std::string bytes;
  std::vector<std::string> expect;  // message parts besides the file path
};

std::string hdr(const std::string& json, size_t data) { return safetensors_bytes(json, data); }
// One F32 tensor "t" of shape [2] with the given extra/replaced JSON pieces.
std::string t_entry(const std::string& body) { return "{\"t\":{" + body + "}}"; }

std::vector<BadFile> bad_files() {
  const std::string ok_fields = "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]";
  return {
      // 1. size and header length
      {"Empty", "", {"0 bytes", "too short"}},
      {"FiveBytes", "\x01\x02\x03\x04\x05", {"5 bytes", "too short"}},
      {"HeaderLengthOver100MB",
       u64_le(100'000'001) + "{}",
       {"header length 100000001", "exceeds the limit"}},
      {"HeaderLengthPastEof", u64_le(64) + "{}", {"header length 64", "past the end of the file"}},
      {"HeaderLengthMaxU64", u64_le(~uint64_t(0)) + "{}", {"exceeds the limit"}},
      {"HeaderLength8PlusNWraps", u64_le(~uint64_t(0) - 7) + "{}", {"exceeds the limit"}},
      {"HeaderLengthZero", u64_le(0), {"not valid JSON"}},
      {"ZipRenamed",
       std::string("PK\x03\x04\x14\x00\x00\x00", 8) + "zipdata",
       {"zip archive", "arbitrary code"}},
      {"PickleRenamed", std::string("\x80\x02}q\x00(X\x01\x00", 10), {"Python pickle", "convert"}},
      // 2. header text
      {"NotUtf8", hdr("{\"\xff\":1}", 0), {"not valid UTF-8", "byte 10"}},
      {"OverlongUtf8", hdr("{\"\xc0\xaf\":1}", 0), {"not valid UTF-8"}},
      {"SurrogateUtf8", hdr("{\"\xed\xa0\x80\":1}", 0), {"not valid UTF-8"}},
      {"NotJson", hdr("{", 0), {"not valid JSON"}},
      {"JsonWithTrailingGarbage", hdr("{} x", 0), {"not valid JSON"}},
      {"JsonWithNaN",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[NaN],\"data_offsets\":[0,8]"), 8),
       {"not valid JSON"}},
      {"JsonArray", hdr("[]", 0), {"not an object", "an array"}},
      {"JsonNumber", hdr("42", 0), {"not an object", "integer"}},
      {"JsonString", hdr("\"x\"", 0), {"not an object", "a string"}},
      {"JsonNull", hdr("null", 0), {"not an object", "null"}},
      {"DuplicateTensor",
       hdr("{\"t\":{" + ok_fields + "},\"t\":{" + ok_fields + "}}", 8),
       {"duplicate key 't'"}},
      {"DuplicateMetadata",
       hdr("{\"__metadata__\":{},\"__metadata__\":{}}", 0),
       {"duplicate key '__metadata__'"}},
      {"DuplicateFieldInEntry",
       hdr(t_entry(ok_fields + ",\"dtype\":\"F16\""), 8),
       {"tensor 't'", "duplicate key 'dtype'"}},
      {"DuplicateKeyInMetadata",
       hdr("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", 0),
       {"__metadata__", "duplicate key 'a'"}},
      {"EntryNotObject", hdr("{\"t\":[1,2]}", 0), {"tensor 't'", "entry is an array"}},
      {"EntryNumber", hdr("{\"t\":5}", 0), {"tensor 't'", "entry is an integer"}},
      // 3. dtype
      {"UnknownDtype",
       hdr(t_entry("\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,8]"), 8),
       {"tensor 't'", "'F17'", "not a safetensors dtype"}},
      {"UnreadDtype",
       hdr(t_entry("\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]"), 2),
       {"'F8_E4M3'", "does not read"}},
      {"LowercaseDtype",
       hdr(t_entry("\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]"), 8),
       {"'f32'", "not a safetensors dtype"}},
      {"DtypeNotString",
       hdr(t_entry("\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]"), 8),
       {"dtype is an integer"}},
      // 4. dims
      {"NegativeDim",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]"), 8),
       {"tensor 't'", "negative integer (-2)"}},
      {"FloatDim",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]"), 8),
       {"non-integer number (2.5)"}},
      {"IntegralFloatDim",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]"), 8),
       {"non-integer number (2.0)"}},
      {"StringDim",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]"), 8),
       {"dimension that is a string"}},
      {"NullDim",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[null],\"data_offsets\":[0,8]"), 8),
       {"dimension that is null"}},
      {"NestedDim",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[[2]],\"data_offsets\":[0,8]"), 8),
       {"dimension that is an array"}},
      {"HugeDimBeyondU64",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[100000000000000000000],\"data_offsets\":[0,8]"),
           8),
       {"non-integer number"}},
      {"ShapeNotArray",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]"), 8),
       {"shape is an integer"}},
      {"NineDims",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]"), 8),
       {"more than 8 dimensions"}},
      {"DimAboveInt64",
       hdr(t_entry("\"dtype\":\"U8\",\"shape\":[9223372036854775808],\"data_offsets\":[0,8]"), 8),
       {"overflows the element count"}},
      {"NumelOverflowsU64",
       hdr(t_entry("\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]"), 8),
       {"overflows the element count"}},
      {"NumelOverflowsBeforeZero",
       hdr(t_entry("\"dtype\":\"U8\",\"shape\":[1099511627776,8388608,0],\"data_offsets\":[0,0]"),
           0),
       {"overflows the element count"}},
      {"NumelTimesSizeOverflows",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,8]"), 8),
       {"overflows the byte count"}},
      // 5. offsets
      {"SizeMismatch",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]"), 4),
       {"hold 4 bytes", "needs 8"}},
      {"SizeMismatchBF16",
       hdr(t_entry("\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,8]"), 8),
       {"hold 8 bytes", "needs 6"}},
      {"OffsetsNotFromZero",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]"), 12),
       {"do not start at 0", "'t'"}},
      {"Overlap",
       hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":"
           "\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
           12),
       {"overlap", "'b'"}},
      {"SameOffsetsTwice",
       hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":"
           "\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
           8),
       {"overlap"}},
      {"Gap",
       hdr("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":"
           "\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
           20),
       {"gap", "bytes 8 to 12", "'b'"}},
      {"PastEof", hdr(t_entry(ok_fields), 4), {"run past the end of the file"}},
      {"HugeOffsetsPastEof",
       hdr(t_entry("\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[18446744073709551600,"
                   "18446744073709551608]"),
           8),
       {"past the end"}},
      {"TrailingBytes", hdr(t_entry(ok_fields), 12), {"4 trailing bytes"}},
      {"NoTensorsButData", hdr("{}", 3), {"3 trailing bytes"}},
      {"EndBeforeBegin",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]"), 8),
       {"end before they begin"}},
      {"OffsetsOneValue",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]"), 8),
       {"data_offsets has 1 value"}},
      {"OffsetsThreeValues",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]"), 8),
       {"more than two values"}},
      {"OffsetsNegative",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]"), 8),
       {"data_offsets has a value that is a negative integer"}},
      {"OffsetsFloat",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8.0]"), 8),
       {"non-integer number"}},
      {"OffsetsString",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":\"0-8\""), 8),
       {"data_offsets is a string"}},
      // 6. metadata and missing fields
      {"MetadataString", hdr("{\"__metadata__\":\"pt\"}", 0), {"__metadata__ is a string"}},
      {"MetadataArray", hdr("{\"__metadata__\":[\"pt\"]}", 0), {"__metadata__ is an array"}},
      {"MetadataNumberValue",
       hdr("{\"__metadata__\":{\"format\":1}}", 0),
       {"value for 'format' is an integer"}},
      {"MetadataObjectValue",
       hdr("{\"__metadata__\":{\"format\":{}}}", 0),
       {"value for 'format' is an object"}},
      {"MetadataNullValue",
       hdr("{\"__metadata__\":{\"format\":null}}", 0),
       {"value for 'format' is null"}},
      {"MissingDtype",
       hdr(t_entry("\"shape\":[2],\"data_offsets\":[0,8]"), 8),
       {"tensor 't'", "missing field 'dtype'"}},
      {"MissingShape",
       hdr(t_entry("\"dtype\":\"F32\",\"data_offsets\":[0,8]"), 8),
       {"missing field 'shape'"}},
      {"MissingOffsets",
       hdr(t_entry("\"dtype\":\"F32\",\"shape\":[2]"), 8),
       {"missing field 'data_offsets'"}},
  };
}

class SafetensorsHostile : public ::testing::TestWithParam<BadFile> {};

TEST_P(SafetensorsHostile, RefusedWithMessageNamingFileAndProblem) {
  TempDir dir;
  const BadFile& bad = GetParam();
  const std::string path = dir / (std::string(bad.name) + ".safetensors");
  write_file(path, bad.bytes);
  std::vector<std::string> parts = bad.expect;
  parts.push_back(path);
  EXPECT_TRUE(throws_with([&] { SafetensorsFile::open(path); }, parts));
  // The in-memory entry point used by the fuzzer gives the same verdict.
  EXPECT_THROW(SafetensorsFile::validate_bytes(reinterpret_cast<const uint8_t*>(bad.bytes.data()),
                                               bad.bytes.size(), "mem"),
               Error);
}

INSTANTIATE_TEST_SUITE_P(Cases, SafetensorsHostile, ::testing::ValuesIn(bad_files()),
                         [](const ::testing::TestParamInfo<BadFile>& info) {
                           return info.param.name;
                         });

TEST(SafetensorsHostileCount, DistinctBadInputs) {
  // Reported in the loader's summary; keeps the number honest when cases are added.
  EXPECT_EQ(bad_files().size(), 66u);
}

TEST(SafetensorsHostileFs, MissingFile) {
  TempDir dir;
  EXPECT_TRUE(throws_with([&] { SafetensorsFile::open(dir / "nope.safetensors"); },
                          {"cannot open", dir / "nope.safetensors"}));
}

TEST(SafetensorsHostileFs, DirectoryInsteadOfFile) {
  TempDir dir;
  EXPECT_TRUE(throws_with([&] { SafetensorsFile::open(dir.path()); }, {"not a regular file"}));
}

TEST(SafetensorsHostileFs, FifoDoesNotBlock) {
  TempDir dir;
  const std::string fifo = dir / "pipe.safetensors";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_TRUE(throws_with([&] { SafetensorsFile::open(fifo); }, {"not a regular file", fifo}));
}

TEST(SafetensorsHostileDeep, DeeplyNestedUnknownFieldIsSkippedWithoutRecursion) {
  // Unknown fields in an entry are ignored like the reference reader does; 200k levels of nesting
  // in one must neither recurse nor allocate per level.
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  const std::string bytes = safetensors_bytes(
      "{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":" + deep + "}}", 1);
  std::vector<TensorInfo> tensors;
  SafetensorsFile::validate_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                  "deep", &tensors);
  ASSERT_EQ(tensors.size(), 1u);
  EXPECT_EQ(tensors[0].shape, (Shape{1}));
}

TEST(SafetensorsHostileDeep, DeeplyNestedHeaderIsNotAnObject) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  const std::string bytes = safetensors_bytes(deep, 0);
  EXPECT_TRUE(throws_with(
      [&] {
        SafetensorsFile::validate_bytes(reinterpret_cast<const uint8_t*>(bytes.data()),
                                        bytes.size(), "deep");
      },
      {"deep", "not an object"}));
}

TEST(SafetensorsHostileUse, IntegerTensorRequestedAsFloat) {
  // Section 4 item 3: a dtype the component cannot use.
  TempDir dir;
  const std::string path = dir / "ids.safetensors";
  write_safetensors(path, {{"position_ids", Tensor::zeros({1, 4}, DType::I64)}});
  SafetensorsWeights w({path});
  EXPECT_TRUE(throws_with(
      [&] {
        w.get("position_ids", {1, 4}, DType::F32);
      },
      {"position_ids", "I64", "floating-point", path}));
  const auto file = SafetensorsFile::open(path);
  EXPECT_TRUE(throws_with([&] { file->load("position_ids", DType::BF16); },
                          {"position_ids", "cannot be converted to BF16", path}));
}

TEST(SafetensorsHostileUse, WrongShapeAndMissingTensor) {
  TempDir dir;
  const std::string path = dir / "w.safetensors";
  write_safetensors(path, {{"a.weight", Tensor::zeros({2, 3})}});
  SafetensorsWeights w({path});
  EXPECT_TRUE(throws_with(
      [&] {
        w.get("a.weight", {3, 2}, DType::F32);
      },
      {"a.weight", "[2, 3]", "expected [3, 2]", path}));
  EXPECT_TRUE(throws_with([&] { w.get("b.weight", {2}, DType::F32); },
                          {"missing tensor 'b.weight'", path}));
  EXPECT_TRUE(throws_with([&] { w.check_all_used(nullptr); }, {"unexpected tensor", "a.weight"}));
}

}  // namespace
}  // namespace sdfast
