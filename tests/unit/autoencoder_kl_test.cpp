// AutoencoderKL: golden outputs in float32 and bfloat16, weight-file variants, the deprecated
// attention key names, strict loading and config validation.
#include <gtest/gtest.h>

#include "model_test_util.h"
#include "models/autoencoder_kl.h"

namespace sdfast::models {
namespace {

using test::expect_error;
using test::rel_err;

const std::string kVaeDir = test::golden_dir("models/tiny-sd15-pipeline/vae");
const std::string kVaeFile = kVaeDir + "/diffusion_pytorch_model.safetensors";

nlohmann::json tiny_config() { return read_json_file(kVaeDir + "/config.json"); }
AutoencoderKLConfig parse(const nlohmann::json& j) {
  return AutoencoderKLConfig::from_config(Config(j, "'vae/config.json'"));
}

// Golden tolerance of vae-tiny-decode / vae-tiny-encode (float64 reference).
constexpr double kGoldenTol = 2e-4;

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto x = a.to_vector(), y = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, double(std::fabs(x[i] - y[i])));
  return m;
}

TEST(AutoencoderKL, DecodeAndEncodeMatchGoldenInFloat32AndBfloat16) {
  const Tensor latents = test::case_tensor("vae-tiny-decode", "latents");
  const Tensor image = test::case_tensor("vae-tiny-decode", "image");
  const Tensor enc_image = test::case_tensor("vae-tiny-encode", "image");
  const Tensor mean = test::case_tensor("vae-tiny-encode", "mean");
  const Tensor logvar = test::case_tensor("vae-tiny-encode", "logvar");
  for (DType dt : {DType::F32, DType::BF16}) {
    Runtime rt(RuntimeOptions{0, dt});
    const AutoencoderKL vae = AutoencoderKL::from_pretrained(rt, kVaeDir);
    const Tensor got = vae.decode(rt, latents);
    const DiagonalGaussianDistribution d = vae.encode(rt, enc_image);
    if (dt == DType::F32) {
      EXPECT_LT(max_abs_diff(got, image), kGoldenTol);
      EXPECT_LT(max_abs_diff(d.mean, mean), kGoldenTol);
      EXPECT_LT(max_abs_diff(d.logvar, logvar), kGoldenTol);
    } else {
      // bf16 weights alone (conv weights rounded, f32 math) give ~1.5e-2 on this random model.
      EXPECT_LT(rel_err(got, image), 4e-2);
      EXPECT_LT(rel_err(d.mean, mean), 2e-2);
    }
  }
}

TEST(AutoencoderKL, Fp16VariantGivesNearlyTheSameImage) {
  Runtime rt;
  const AutoencoderKL vae = AutoencoderKL::from_pretrained(
      rt, kVaeDir, {kVaeDir + "/diffusion_pytorch_model.fp16.safetensors"});
  const Tensor image = test::case_tensor("vae-tiny-decode", "image");
  const double err =
      rel_err(vae.decode(rt, test::case_tensor("vae-tiny-decode", "latents")), image);
  EXPECT_GT(err, 0.0);  // the fp16 weights were really used
  EXPECT_LT(err, 1e-2);
}

TEST(AutoencoderKL, DeprecatedAttentionNamesAreTranslated) {
  // Rename to_q/to_k/to_v/to_out.0 of both mid-block attentions to query/key/value/proj_attn.
  test::NamedTensors tensors = test::read_all(kVaeFile);
  int renamed = 0;
  for (auto& [name, t] : tensors) {
    for (auto [cur, old] : {std::pair{".to_q.", ".query."},
                            {".to_k.", ".key."},
                            {".to_v.", ".value."},
                            {".to_out.0.", ".proj_attn."}}) {
      const size_t at = name.find(cur);
      if (at != std::string::npos) {
        name.replace(at, std::string(cur).size(), old);
        ++renamed;
      }
    }
  }
  ASSERT_EQ(renamed, 16);  // 2 attentions x 4 projections x (weight, bias)
  test::TempDir dir;
  const std::string folder = test::write_component(dir, tiny_config(), tensors, "old.safetensors");
  Runtime rt;
  const Tensor latents = test::case_tensor("vae-tiny-decode", "latents");
  const Tensor want = AutoencoderKL::from_pretrained(rt, kVaeDir).decode(rt, latents);
  const AutoencoderKL old =
      AutoencoderKL::from_pretrained(rt, folder, {dir.file("old.safetensors")});
  EXPECT_EQ(old.decode(rt, latents).to_vector(), want.to_vector());

  // Both spellings in one file: the old one is an unexpected tensor.
  test::NamedTensors both = test::read_all(kVaeFile);
  both.emplace_back("decoder.mid_block.attentions.0.query.bias", Tensor::zeros({64}));
  write_safetensors(dir.file("both.safetensors"), both);
  expect_error(
      [&] { AutoencoderKL::from_pretrained(rt, folder, {dir.file("both.safetensors")}); },
      {"unexpected tensor", "decoder.mid_block.attentions.0.query.bias", "both.safetensors"});
}

TEST(AutoencoderKL, StrictLoadingNamesTensorShapesAndFile) {
  test::TempDir dir;
  Runtime rt;
  const test::NamedTensors all = test::read_all(kVaeFile);

  test::NamedTensors missing;
  for (const auto& nt : all)
    if (nt.first != "decoder.up_blocks.1.resnets.0.conv2.weight") missing.push_back(nt);
  write_safetensors(dir.file("missing.safetensors"), missing);
  expect_error(
      [&] { AutoencoderKL::from_pretrained(rt, kVaeDir, {dir.file("missing.safetensors")}); },
      {"missing tensor", "decoder.up_blocks.1.resnets.0.conv2.weight", "[64, 64, 3, 3]",
       "missing.safetensors"});

  test::NamedTensors wrong = all;
  for (auto& [name, t] : wrong)
    if (name == "encoder.conv_out.weight") t = Tensor::zeros({8, 64, 1, 1});
  write_safetensors(dir.file("wrong.safetensors"), wrong);
  expect_error(
      [&] { AutoencoderKL::from_pretrained(rt, kVaeDir, {dir.file("wrong.safetensors")}); },
      {"encoder.conv_out.weight", "[8, 64, 1, 1]", "[8, 64, 3, 3]", "wrong.safetensors"});

  test::NamedTensors extra = all;
  extra.emplace_back("decoder.up_blocks.4.resnets.0.norm1.weight", Tensor::zeros({32}));
  write_safetensors(dir.file("extra.safetensors"), extra);
  expect_error(
      [&] { AutoencoderKL::from_pretrained(rt, kVaeDir, {dir.file("extra.safetensors")}); },
      {"unexpected tensor", "decoder.up_blocks.4.resnets.0.norm1.weight"});

  expect_error([&] { AutoencoderKL::from_pretrained(rt, dir.file("")); }, {"no config.json"});
  test::write_config(dir, tiny_config());
  expect_error([&] { AutoencoderKL::from_pretrained(rt, dir.file("")); },
               {"diffusion_pytorch_model.safetensors"});
}

TEST(AutoencoderKL, PartsLeftOutAreNotRequiredAndCannotRun) {
  Runtime rt;
  const AutoencoderKL dec = AutoencoderKL::from_pretrained(rt, kVaeDir, {}, {.encoder = false});
  EXPECT_THROW(dec.encode(rt, test::case_tensor("vae-tiny-encode", "image")), Error);
  // A decoder-only file loads as decoder-only, and the encoder half is then missing.
  test::NamedTensors decoder_only;
  for (const auto& nt : test::read_all(kVaeFile))
    if (nt.first.starts_with("decoder.") || nt.first.starts_with("post_quant_conv."))
      decoder_only.push_back(nt);
  test::TempDir dir;
  write_safetensors(dir.file("dec.safetensors"), decoder_only);
  const AutoencoderKL d2 = AutoencoderKL::from_pretrained(
      rt, kVaeDir, {dir.file("dec.safetensors")}, {.encoder = false});
  const Tensor latents = test::case_tensor("vae-tiny-decode", "latents");
  EXPECT_EQ(d2.decode(rt, latents).to_vector(), dec.decode(rt, latents).to_vector());
  expect_error([&] { AutoencoderKL::from_pretrained(rt, kVaeDir, {dir.file("dec.safetensors")}); },
               {"missing tensor", "encoder."});
  EXPECT_THROW(
      AutoencoderKL::from_pretrained(rt, kVaeDir, {}, {.encoder = false, .decoder = false}),
      InvalidArgument);
}

TEST(AutoencoderKL, EncodeClampsLogvar) {
  // Shift the logvar half of quant_conv's bias far up and the output must sit at the clamp (20).
  test::NamedTensors tensors = test::read_all(kVaeFile);
  for (auto& [name, t] : tensors)
    if (name == "quant_conv.bias") {
      std::vector<float> b = t.to_vector();
      for (size_t i = 4; i < 8; ++i) b[i] += 1000.0f;
      t = Tensor::from_vector({8}, b);
    }
  test::TempDir dir;
  write_safetensors(dir.file("shifted.safetensors"), tensors);
  Runtime rt;
  const AutoencoderKL vae =
      AutoencoderKL::from_pretrained(rt, kVaeDir, {dir.file("shifted.safetensors")});
  const DiagonalGaussianDistribution d =
      vae.encode(rt, test::case_tensor("vae-tiny-encode", "image"));
  for (float v : d.logvar.to_vector()) ASSERT_EQ(v, 20.0f);
  EXPECT_LT(max_abs_diff(d.mean, test::case_tensor("vae-tiny-encode", "mean")), kGoldenTol);
}

TEST(AutoencoderKL, BatchAndNonSquareShapes) {
  Runtime rt;
  const AutoencoderKL vae = AutoencoderKL::from_pretrained(rt, kVaeDir);
  const Tensor latents = test::case_tensor("vae-tiny-decode", "latents");  // [2, 4, 8, 8]
  const Tensor both = vae.decode(rt, latents);
  const Tensor second = vae.decode(rt, latents.slice0(1, 2).clone());
  const std::vector<float> b = both.to_vector(), s = second.to_vector();
  EXPECT_EQ(std::vector<float>(b.begin() + long(s.size()), b.end()), s);

  EXPECT_EQ(vae.decode(rt, Tensor::zeros({1, 4, 3, 5})).shape(), (Shape{1, 3, 24, 40}));
  const DiagonalGaussianDistribution d = vae.encode(rt, Tensor::zeros({1, 3, 40, 24}));
  EXPECT_EQ(d.mean.shape(), (Shape{1, 4, 5, 3}));
  EXPECT_THROW(vae.decode(rt, Tensor::zeros({1, 3, 8, 8})), Error);  // 3 latent channels
  EXPECT_THROW(vae.decode(rt, Tensor::zeros({4, 8, 8})), Error);
  EXPECT_EQ(vae.vae_scale_factor(), 8);
  EXPECT_FLOAT_EQ(vae.scaling_factor(), 0.18215f);
  EXPECT_TRUE(vae.force_upcast());
}

TEST(AutoencoderKL, OtherDiffusersConfigurationsBuildAndRun) {
  // No mid-block attention, no quant convs, 2 blocks, 2 layers per block, 5 latent channels.
  nlohmann::json j = tiny_config();
  j["block_out_channels"] = {32, 64};
  j["down_block_types"] = {"DownEncoderBlock2D", "DownEncoderBlock2D"};
  j["up_block_types"] = {"UpDecoderBlock2D", "UpDecoderBlock2D"};
  j["layers_per_block"] = 2;
  j["latent_channels"] = 5;
  j["mid_block_add_attention"] = false;
  j["use_quant_conv"] = false;
  j["use_post_quant_conv"] = false;
  j["norm_num_groups"] = 16;
  const AutoencoderKLConfig c = parse(j);
  Runtime rt;
  RandomWeights random(7);
  test::RecordingWeights w(random);
  const AutoencoderKL vae(rt, w, c);
  EXPECT_EQ(vae.decode(rt, Tensor::full({1, 5, 4, 4}, 0.5f)).shape(), (Shape{1, 3, 8, 8}));
  EXPECT_EQ(vae.encode(rt, Tensor::full({2, 3, 8, 8}, 0.5f)).logvar.shape(), (Shape{2, 5, 4, 4}));
  EXPECT_EQ(vae.vae_scale_factor(), 2);
  // It asks for the tensors Diffusers saves for this config, with their shapes.
  EXPECT_EQ(w.shape_of("encoder.conv_out.weight"), (Shape{10, 64, 3, 3}));  // double_z
  EXPECT_EQ(w.shape_of("encoder.down_blocks.1.resnets.1.conv1.weight"), (Shape{64, 64, 3, 3}));
  EXPECT_EQ(w.shape_of("encoder.down_blocks.1.resnets.0.conv_shortcut.weight"),
            (Shape{64, 32, 1, 1}));
  EXPECT_EQ(w.shape_of("encoder.down_blocks.0.downsamplers.0.conv.weight"), (Shape{32, 32, 3, 3}));
  EXPECT_EQ(w.shape_of("decoder.conv_in.weight"), (Shape{64, 5, 3, 3}));
  EXPECT_EQ(w.shape_of("decoder.up_blocks.1.resnets.2.conv2.weight"), (Shape{32, 32, 3, 3}));
  EXPECT_EQ(w.shape_of("decoder.up_blocks.0.upsamplers.0.conv.weight"), (Shape{64, 64, 3, 3}));
  EXPECT_EQ(w.shape_of("decoder.conv_norm_out.weight"), (Shape{32}));
  for (const std::string& name : w.names()) {
    EXPECT_EQ(name.find("quant_conv"), std::string::npos) << name;
    EXPECT_EQ(name.find("attentions"), std::string::npos) << name;
    EXPECT_EQ(name.find("down_blocks.1.downsamplers"), std::string::npos) << name;
    EXPECT_EQ(name.find("up_blocks.1.upsamplers"), std::string::npos) << name;
  }
  // 2 blocks x 2 resnets (encoder) + 2 blocks x 3 resnets (decoder) + 2 mid-block resnets each.
  int resnets = 0;
  for (const std::string& name : w.names()) resnets += name.ends_with("conv1.weight");
  EXPECT_EQ(resnets, 4 + 6 + 2 + 2);
}

TEST(AutoencoderKL, ConfigValidationNamesFileAndKey) {
  auto bad = [](const char* key, nlohmann::json value, const std::string& what) {
    nlohmann::json j = tiny_config();
    j[key] = std::move(value);
    expect_error([&] { parse(j); }, {"vae/config.json", key, what});
  };
  bad("block_out_channels", nlohmann::json::array(), "entries");
  bad("block_out_channels", {32, 0, 64, 64}, "between");
  bad("norm_num_groups", 24, "do not divide");
  bad("down_block_types", {"DownEncoderBlock2D"}, "has 1 entries");
  bad("up_block_types",
      {"UpDecoderBlock2D", "UpDecoderBlock2D", "AttnUpDecoderBlock2D", "UpDecoderBlock2D"},
      "AttnUpDecoderBlock2D");
  bad("act_fn", "gelu", "silu");
  bad("latent_channels", -4, "between");
  bad("layers_per_block", 0, "between");
  bad("scaling_factor", 0, "positive");
  bad("force_upcast", "yes", "true or false");
  bad("_class_name", "AutoencoderTiny", "AutoencoderKL");
}

}  // namespace
}  // namespace sdfast::models
