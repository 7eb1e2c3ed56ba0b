// AutoencoderTiny (TAESD): golden outputs in float32 and bfloat16, layer layout for other configs,
// strict loading and config validation.
#include <gtest/gtest.h>

#include "model_test_util.h"
#include "models/autoencoder_tiny.h"

namespace sdfast::models {
namespace {

using test::expect_error;
using test::rel_err;

const std::string kDir = test::golden_dir("models/tiny-bk-small-taesd-pipeline/vae");
const std::string kFile = kDir + "/diffusion_pytorch_model.safetensors";

nlohmann::json golden_config() { return read_json_file(kDir + "/config.json"); }
AutoencoderTinyConfig parse(const nlohmann::json& j) {
  return AutoencoderTinyConfig::from_config(Config(j, "'vae/config.json'"));
}

TEST(AutoencoderTiny, DecodeAndEncodeMatchGoldenInFloat32AndBfloat16) {
  const Tensor latents = test::case_tensor("taesd-random-decode", "latents");
  const Tensor image = test::case_tensor("taesd-random-decode", "image");
  const Tensor enc_image = test::case_tensor("taesd-random-encode", "image");
  const Tensor enc_latents = test::case_tensor("taesd-random-encode", "latents");
  for (DType dt : {DType::F32, DType::BF16}) {
    Runtime rt(RuntimeOptions{0, dt});
    const AutoencoderTiny vae = AutoencoderTiny::from_pretrained(rt, kDir);
    const double tol = dt == DType::F32 ? 2e-6 : 2e-2;
    EXPECT_LT(rel_err(vae.decode(rt, latents), image), tol);
    EXPECT_LT(rel_err(vae.encode(rt, enc_image), enc_latents), tol);
  }
}

TEST(AutoencoderTiny, RealSizeDecoderHasTaesdParameterCount) {
  // The golden TAESD config is the real one (64 channels, 3-3-3-1 decoder blocks).
  Runtime rt;
  SafetensorsWeights w({kFile});
  const AutoencoderTiny vae(rt, w, parse(golden_config()), {.encoder = false});
  EXPECT_EQ(w.parameters_loaded(), 1222531);
  EXPECT_EQ(vae.vae_scale_factor(), 8);
  EXPECT_FLOAT_EQ(vae.scaling_factor(), 1.0f);
  EXPECT_FALSE(vae.force_upcast());
  EXPECT_THROW(vae.encode(rt, Tensor::zeros({1, 3, 8, 8})), Error);
}

TEST(AutoencoderTiny, OtherConfigurationsLayOutLayersAsDiffusers) {
  nlohmann::json j = golden_config();
  j["encoder_block_out_channels"] = {16, 16};
  j["num_encoder_blocks"] = {0, 2};
  j["decoder_block_out_channels"] = {16, 16};
  j["num_decoder_blocks"] = {1, 2};
  j["upsampling_scaling_factor"] = 3;
  j["act_fn"] = "silu";
  j["latent_channels"] = 6;
  Runtime rt;
  RandomWeights random(3);
  test::RecordingWeights w(random);
  const AutoencoderTiny vae(rt, w, parse(j));
  EXPECT_EQ(vae.encode(rt, Tensor::full({1, 3, 8, 6}, 0.1f)).shape(), (Shape{1, 6, 4, 3}));
  EXPECT_EQ(vae.decode(rt, Tensor::full({2, 6, 2, 3}, 0.1f)).shape(), (Shape{2, 3, 6, 9}));
  // encoder: 0 conv_in, 1 stride-2 conv (no bias), 2-3 blocks, 4 conv_out.
  EXPECT_EQ(w.shape_of("encoder.layers.0.weight"), (Shape{16, 3, 3, 3}));
  EXPECT_EQ(w.shape_of("encoder.layers.1.weight"), (Shape{16, 16, 3, 3}));
  EXPECT_EQ(w.shape_of("encoder.layers.1.bias"), Shape{});
  EXPECT_EQ(w.shape_of("encoder.layers.3.conv.4.bias"), (Shape{16}));
  EXPECT_EQ(w.shape_of("encoder.layers.4.weight"), (Shape{6, 16, 3, 3}));
  // decoder: 0 conv, 1 act, 2 block, 3 upsample, 4 conv (no bias), 5-6 blocks, 7 conv_out.
  EXPECT_EQ(w.shape_of("decoder.layers.0.weight"), (Shape{16, 6, 3, 3}));
  EXPECT_EQ(w.shape_of("decoder.layers.2.conv.0.weight"), (Shape{16, 16, 3, 3}));
  EXPECT_EQ(w.shape_of("decoder.layers.4.weight"), (Shape{16, 16, 3, 3}));
  EXPECT_EQ(w.shape_of("decoder.layers.4.bias"), Shape{});
  EXPECT_EQ(w.shape_of("decoder.layers.6.conv.2.weight"), (Shape{16, 16, 3, 3}));
  EXPECT_EQ(w.shape_of("decoder.layers.7.bias"), (Shape{3}));
  EXPECT_EQ(w.names().size(), size_t(2 + 1 + 2 * 6 + 2) + size_t(2 + 1 + 3 * 6 + 2));
}

TEST(AutoencoderTiny, StrictLoading) {
  test::TempDir dir;
  Runtime rt;
  const test::NamedTensors all = test::read_all(kFile);
  test::NamedTensors missing, extra = all;
  for (const auto& nt : all)
    if (nt.first != "decoder.layers.6.weight") missing.push_back(nt);
  extra.emplace_back("decoder.layers.6.bias", Tensor::zeros({64}));  // bias=False in Diffusers
  write_safetensors(dir.file("missing.safetensors"), missing);
  write_safetensors(dir.file("extra.safetensors"), extra);
  expect_error(
      [&] { AutoencoderTiny::from_pretrained(rt, kDir, {dir.file("missing.safetensors")}); },
      {"missing tensor", "decoder.layers.6.weight", "[64, 64, 3, 3]", "missing.safetensors"});
  expect_error([&] { AutoencoderTiny::from_pretrained(rt, kDir, {dir.file("extra.safetensors")}); },
               {"unexpected tensor", "decoder.layers.6.bias", "extra.safetensors"});
  // A config with 2 decoder blocks in the last stage does not fit the file.
  nlohmann::json j = golden_config();
  j["num_decoder_blocks"] = {3, 3, 3, 2};
  const std::string folder =
      test::write_component(dir, j, all, "diffusion_pytorch_model.safetensors");
  expect_error([&] { AutoencoderTiny::from_pretrained(rt, folder); }, {"decoder.layers.18"});
}

TEST(AutoencoderTiny, ConfigValidationNamesFileAndKey) {
  auto bad = [](const char* key, nlohmann::json value, const std::string& what) {
    nlohmann::json j = golden_config();
    j[key] = std::move(value);
    expect_error([&] { parse(j); }, {"vae/config.json", key, what});
  };
  bad("num_encoder_blocks", {1, 3, 3}, "has 3");
  bad("decoder_block_out_channels", {64, 64, 64}, "has 3 entries");
  bad("encoder_block_out_channels", {64, 64, 32, 64}, "one channel count");
  bad("decoder_block_out_channels", {0, 0, 0, 0}, "between");
  bad("num_decoder_blocks", {3, -1, 3, 1}, "between");
  bad("act_fn", "mish", "relu");
  bad("upsample_fn", "bilinear", "nearest");
  bad("upsampling_scaling_factor", 0, "between");
  bad("latent_magnitude", 0, "positive");
  bad("scaling_factor", "1", "number");
  bad("_class_name", "AutoencoderKL", "AutoencoderTiny");
}

}  // namespace
}  // namespace sdfast::models
