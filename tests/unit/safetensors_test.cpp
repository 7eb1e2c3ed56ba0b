// The safetensors reader on good files: the vendored golden models, metadata, zero-size tensors,
// unaligned data, conversions to the compute dtype.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
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
using testing::write_file;

const std::string kModels = std::string(SDFAST_TEST_DATA) + "/golden/models";

TEST(Safetensors, ReadsEveryGoldenModelFile) {
  const std::vector<std::string> files = {
      "tiny-sd15-pipeline/unet/diffusion_pytorch_model.safetensors",
      "tiny-sd15-pipeline/unet/diffusion_pytorch_model.fp16.safetensors",
      "tiny-sd15-pipeline/vae/diffusion_pytorch_model.safetensors",
      "tiny-sd15-pipeline/vae/diffusion_pytorch_model.fp16.safetensors",
      "tiny-sd15-pipeline/text_encoder/model.safetensors",
      "tiny-bk-small-taesd-pipeline/unet/diffusion_pytorch_model.safetensors",
      "tiny-bk-small-taesd-pipeline/vae/diffusion_pytorch_model.safetensors",
      "unet-bk-tiny-tiny/diffusion_pytorch_model.safetensors",
  };
  for (const std::string& f : files) {
    SCOPED_TRACE(f);
    const auto st = SafetensorsFile::open(kModels + "/" + f);
    ASSERT_FALSE(st->tensors().empty());
    uint64_t expect = 0;  // tensors() is in data order and covers the data section
    for (const TensorInfo& t : st->tensors()) {
      EXPECT_EQ(t.begin, expect);
      expect = t.end;
      EXPECT_TRUE(st->contains(t.name));
    }
  }
}

TEST(Safetensors, GoldenUnetFp16VariantMatchesFp32File) {
  const auto f32 = SafetensorsFile::open(
      kModels + "/tiny-sd15-pipeline/unet/diffusion_pytorch_model.safetensors");
  const auto f16 = SafetensorsFile::open(
      kModels + "/tiny-sd15-pipeline/unet/diffusion_pytorch_model.fp16.safetensors");
  ASSERT_EQ(f32->tensors().size(), f16->tensors().size());
  const TensorInfo& info = f16->info("conv_in.weight");
  EXPECT_EQ(info.dtype, DType::F16);
  EXPECT_EQ(info.shape, (Shape{32, 4, 3, 3}));
  const std::vector<float> a = f32->load("conv_in.weight", DType::F32).to_vector();
  const std::vector<float> b = f16->load("conv_in.weight", DType::F32).to_vector();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], std::fabs(a[i]) * 1e-3 + 1e-7);
  // The fp16 file is the fp32 weights rounded to nearest: converting ours gives the same bits.
  const Tensor ours = f32->load("conv_in.weight", DType::F16);
  const Tensor theirs = f16->load("conv_in.weight", DType::F16);
  EXPECT_EQ(std::memcmp(ours.raw_data(), theirs.raw_data(), ours.nbytes()), 0);
}

TEST(Safetensors, TextEncoderHasIntegerPositionIds) {
  const auto st =
      SafetensorsFile::open(kModels + "/tiny-sd15-pipeline/text_encoder/model.safetensors");
  const TensorInfo& ids = st->info("text_model.embeddings.position_ids");
  EXPECT_EQ(ids.dtype, DType::I64);
  const Tensor t = st->load(ids, DType::I64);
  EXPECT_EQ(t.data<int64_t>()[5], 5);
  EXPECT_EQ(st->load(ids, DType::F32).data<float>()[7], 7.0f);
}

TEST(Safetensors, MetadataRoundTrip) {
  TempDir dir;
  const std::string path = dir / "m.safetensors";
  write_safetensors(path, {{"x", Tensor::from_vector({2}, {1, 2})}},
                    {{"format", "pt"}, {"note", "h\xc3\xa9llo \"quoted\""}});
  const auto st = SafetensorsFile::open(path);
  EXPECT_EQ(st->metadata().at("format"), "pt");
  EXPECT_EQ(st->metadata().at("note"), "h\xc3\xa9llo \"quoted\"");
  EXPECT_EQ(st->path(), path);
}

TEST(Safetensors, NullMetadataAndUnknownEntryFieldsAreAcceptedAsInTheReference) {
  const std::string bytes = safetensors_bytes(
      "{\"__metadata__\":null,\"t\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2],"
      "\"extra\":{\"a\":[1,{\"b\":null}]}}}  \n\t",
      2);
  const auto st = SafetensorsFile::parse(
      MappedFile::from_bytes(std::vector<uint8_t>(bytes.begin(), bytes.end()), "mem"));
  EXPECT_TRUE(st->metadata().empty());
  EXPECT_EQ(st->info("t").shape, (Shape{2}));
}

TEST(Safetensors, ZeroSizeTensorsAndScalars) {
  TempDir dir;
  const std::string path = dir / "z.safetensors";
  // Zero-size tensors share offsets with their neighbours; a scalar has shape [].
  write_file(path, safetensors_bytes(
                       "{\"empty\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
                       "\"empty2\":{\"dtype\":\"F16\",\"shape\":[4,0],\"data_offsets\":[4,4]},"
                       "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                       "\"last\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]}}",
                       4));
  const auto st = SafetensorsFile::open(path);
  EXPECT_EQ(st->tensors().size(), 4u);
  const Tensor e = st->load("empty", DType::BF16);
  EXPECT_EQ(e.shape(), (Shape{0, 3}));
  EXPECT_EQ(e.numel(), 0);
  EXPECT_EQ(st->load("empty2", DType::F32).numel(), 0);
  const Tensor s = st->load("scalar", DType::F32);
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(s.numel(), 1);
  float want;
  const uint8_t raw[4] = {0, 1, 2, 3};
  std::memcpy(&want, raw, 4);
  EXPECT_EQ(std::memcmp(s.raw_data(), &want, 4), 0);
}

TEST(Safetensors, EmptyFileHeaderOnly) {
  const std::string bytes = safetensors_bytes("{}", 0);
  std::vector<TensorInfo> tensors;
  SafetensorsFile::validate_bytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                  "mem", &tensors);
  EXPECT_TRUE(tensors.empty());
}

TEST(Safetensors, UnalignedDataIsReadCorrectly) {
  // Header of odd length and a 3-byte U8 tensor first: the F32/F16/BF16/F64 data that follows sits
  // at odd addresses. Values must come out exact for every conversion.
  const std::vector<float> values = {1.5f, -2.25f, 3.0e-3f, 65504.0f, -0.0f};
  std::string data = "\x07\x08\x09";
  std::string f32(values.size() * 4, '\0'), f16, bf16, f64;
  std::memcpy(f32.data(), values.data(), f32.size());
  for (float v : values) {
    const uint16_t h = f32_to_f16(v), b = f32_to_bf16(v);
    const double d = v;
    f16.append(reinterpret_cast<const char*>(&h), 2);
    bf16.append(reinterpret_cast<const char*>(&b), 2);
    f64.append(reinterpret_cast<const char*>(&d), 8);
  }
  const size_t o1 = 3, o2 = o1 + f32.size(), o3 = o2 + f16.size(), o4 = o3 + bf16.size(),
               o5 = o4 + f64.size();
  auto entry = [](const char* name, const char* dt, size_t b, size_t e) {
    return std::string("\"") + name + "\":{\"dtype\":\"" + dt + "\",\"shape\":[" +
           (e - b == 3 ? "3" : "5") + "],\"data_offsets\":[" + std::to_string(b) + "," +
           std::to_string(e) + "]}";
  };
  std::string header = "{" + entry("u8", "U8", 0, o1) + "," + entry("f32", "F32", o1, o2) + "," +
                       entry("f16", "F16", o2, o3) + "," + entry("bf16", "BF16", o3, o4) + "," +
                       entry("f64", "F64", o4, o5) + "}";
  if (header.size() % 2 == 0) header += " ";  // odd header length: data starts at an odd offset
  std::string file = testing::u64_le(header.size()) + header + data + f32 + f16 + bf16 + f64;
  TempDir dir;
  const std::string path = dir / "unaligned.safetensors";
  write_file(path, file);
  const auto st = SafetensorsFile::open(path);
  EXPECT_NE(reinterpret_cast<uintptr_t>(st->bytes(st->info("f32"))) % 4, 0u);
  EXPECT_EQ(st->load("f32", DType::F32).to_vector(), values);
  EXPECT_EQ(st->load("f64", DType::F32).to_vector(), values);
  const std::vector<float> via_f16 = st->load("f16", DType::F32).to_vector();
  const std::vector<float> via_bf16 = st->load("bf16", DType::F32).to_vector();
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(via_f16[i], f16_to_f32(f32_to_f16(values[i])));
    EXPECT_EQ(via_bf16[i], bf16_to_f32(f32_to_bf16(values[i])));
  }
  const Tensor as_bf16 = st->load("f32", DType::BF16);
  EXPECT_EQ(std::memcmp(as_bf16.raw_data(), bf16.data(), bf16.size()), 0);
  const Tensor as_f16 = st->load("f64", DType::F16);
  EXPECT_EQ(std::memcmp(as_f16.raw_data(), f16.data(), f16.size()), 0);
  EXPECT_EQ(st->load("u8", DType::F32).to_vector(), (std::vector<float>{7, 8, 9}));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(st->load("f16", DType::F32).raw_data()) % 64, 0u);
}

TEST(Safetensors, LargeTensorConvertsAcrossChunks) {
  // More elements than the conversion chunk (16384), F32 -> BF16 -> F32.
  std::vector<float> v(40000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i) * 0.5f - 7.0f;
  TempDir dir;
  const std::string path = dir / "big.safetensors";
  write_safetensors(path, {{"w", Tensor::from_vector({200, 200}, v)}});
  const auto st = SafetensorsFile::open(path);
  const Tensor b = st->load("w", DType::BF16);
  const std::vector<float> back = b.to_vector();
  for (size_t i = 0; i < v.size(); i += 997) EXPECT_EQ(back[i], bf16_to_f32(f32_to_bf16(v[i])));
  EXPECT_EQ(back.back(), bf16_to_f32(f32_to_bf16(v.back())));
}

TEST(Safetensors, WeightsAcrossFilesAndRelease) {
  TempDir dir;
  write_safetensors(dir / "a.safetensors", {{"x.weight", Tensor::from_vector({2}, {1, 2})}});
  write_safetensors(dir / "b.safetensors", {{"y.weight", Tensor::from_vector({1}, {3})}});
  SafetensorsWeights w({dir / "a.safetensors", dir / "b.safetensors"});
  Weights root(w);
  EXPECT_EQ(root["y"].get("weight", {1}).to_vector(), std::vector<float>{3});
  EXPECT_EQ(root["x"].get("weight", {2}, DType::F16).dtype(), DType::F16);
  EXPECT_NO_THROW(w.check_all_used(nullptr));
  EXPECT_EQ(w.parameters_loaded(), 3);
}

TEST(Safetensors, SameTensorInTwoFilesIsRefused) {
  TempDir dir;
  write_safetensors(dir / "a.safetensors", {{"x", Tensor::zeros({1})}});
  write_safetensors(dir / "b.safetensors", {{"x", Tensor::zeros({1})}});
  EXPECT_TRUE(testing::throws_with(
      [&] {
        SafetensorsWeights({dir / "a.safetensors", dir / "b.safetensors"});
      },
      {"'x'", "in both", dir / "a.safetensors", dir / "b.safetensors"}));
}

}  // namespace
}  // namespace sdfast
