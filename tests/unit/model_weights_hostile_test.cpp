// Weights that do not fit config.json, through the whole loading path (ENGINEERING.md section 4,
// item 7): each case copies a tiny golden pipeline (symbolic links), rewrites one component's
// weights file or config.json with one tensor removed, renamed, reshaped, retyped or added, and
// checks that Pipeline::from_pretrained refuses it with a message naming the tensor, the file and,
// for shapes, the expected and the found shape.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "hostile_test_util.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "sdfast/pipeline.h"

namespace sdfast {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::throws_with;
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

const std::string kModels = std::string(SDFAST_TEST_DATA) + "/golden/models/";

// The weights file of each component of the tiny pipelines.
std::string weights_file(const std::string& component) {
  return component == "text_encoder" ? "text_encoder/model.safetensors"
                                     : component + "/diffusion_pytorch_model.safetensors";
}

NamedTensors read_all(const std::string& path) {
  auto f = SafetensorsFile::open(path);
  NamedTensors out;
  for (const TensorInfo& t : f->tensors()) out.emplace_back(t.name, f->load(t, t.dtype));
  return out;
}

// Edits of a tensor list.
std::function<void(NamedTensors&)> drop(std::string name) {
  return [name](NamedTensors& t) {
    const size_t before = t.size();
    std::erase_if(t, [&](const auto& p) { return p.first == name; });
    if (t.size() + 1 != before) throw std::runtime_error("test bug: no tensor " + name);
  };
}
std::function<void(NamedTensors&)> rename(std::string from, std::string to) {
  return [from, to](NamedTensors& t) {
    for (auto& p : t)
      if (p.first == from) return void(p.first = to);
    throw std::runtime_error("test bug: no tensor " + from);
  };
}
std::function<void(NamedTensors&)> reshape(std::string name, Shape shape,
                                           DType dtype = DType::F32) {
  return [name, shape, dtype](NamedTensors& t) {
    for (auto& p : t)
      if (p.first == name) return void(p.second = Tensor::zeros(shape, dtype));
    throw std::runtime_error("test bug: no tensor " + name);
  };
}
std::function<void(NamedTensors&)> add(std::string name, Shape shape) {
  return [name, shape](NamedTensors& t) { t.emplace_back(name, Tensor::zeros(shape)); };
}
std::function<void(NamedTensors&)> keep_only(std::string prefix) {
  return [prefix](NamedTensors& t) {
    std::erase_if(t, [&](const auto& p) { return !p.first.starts_with(prefix); });
  };
}

struct BadWeights {
  const char* name;
  const char* pipeline;                     // folder under tests/golden/models
  const char* component;                    // unet, vae, text_encoder
  std::function<void(NamedTensors&)> edit;  // applied to the component's tensors (or nullptr)
  // "{file}" in a part stands for the component's weights file in the damaged copy.
  std::vector<std::string> expect;
  std::function<void(nlohmann::json&)> config_edit = nullptr;  // applied to its config.json
};

const char* kSd15 = "tiny-sd15-pipeline";
const char* kTaesd = "tiny-bk-small-taesd-pipeline";

std::vector<BadWeights> bad_weights() {
  const std::string missing = "missing tensor", unexpected = "unexpected tensor";
  return {
      // UNet2DConditionModel
      {"UnetMissing",
       kSd15,
       "unet",
       drop("up_blocks.2.attentions.1.transformer_blocks.0.attn2.to_k.weight"),
       {missing, "up_blocks.2.attentions.1.transformer_blocks.0.attn2.to_k.weight", "[64, 32]",
        "{file}"}},
      {"UnetRenamed",
       kSd15,
       "unet",
       rename("mid_block.resnets.0.conv1.weight", "mid_block.resnets.0.conv_1.weight"),
       {missing, "mid_block.resnets.0.conv1.weight", "{file}"}},
      {"UnetUnexpected",
       kSd15,
       "unet",
       add("mid_block.attentions.1.proj_in.weight", {64, 64, 1, 1}),
       {unexpected, "mid_block.attentions.1.proj_in.weight", "{file}"}},
      {"UnetWrongShape",
       kSd15,
       "unet",
       reshape("down_blocks.1.resnets.0.conv1.weight", {64, 32, 3, 1}),
       {"down_blocks.1.resnets.0.conv1.weight", "[64, 32, 3, 1]", "expected [64, 32, 3, 3]",
        "{file}"}},
      {"UnetTransposed",
       kSd15,
       "unet",
       reshape("time_embedding.linear_1.weight", {32, 128}),
       {"time_embedding.linear_1.weight", "[32, 128]", "expected [128, 32]"}},
      {"UnetScalarForVector",
       kSd15,
       "unet",
       reshape("conv_in.bias", {}),
       {"conv_in.bias", "has shape []", "expected [32]"}},
      {"UnetIntegerWeights",
       kSd15,
       "unet",
       reshape("conv_out.weight", {4, 32, 3, 3}, DType::I32),
       {"conv_out.weight", "I32", "floating-point", "{file}"}},
      {"UnetEmptyFile",
       kSd15,
       "unet",
       [](NamedTensors& t) { t.clear(); },
       {missing, "conv_in.weight", "{file}"}},
      {"UnetConfigMoreLayers",
       kSd15,
       "unet",
       nullptr,
       {missing, "down_blocks.0.resnets.2.", "{file}"},
       [](nlohmann::json& j) { j["layers_per_block"] = 3; }},
      {"UnetConfigFewerLayers",
       kSd15,
       "unet",
       nullptr,
       {"up_blocks.2.resnets.1.norm1.weight", "[128]", "expected [96]", "{file}"},
       [](nlohmann::json& j) { j["layers_per_block"] = 1; }},
      {"UnetConfigWiderChannels",
       kSd15,
       "unet",
       nullptr,
       {"conv_in.weight", "[32, 4, 3, 3]", "expected [64, 4, 3, 3]", "{file}"},
       [](nlohmann::json& j) {
         j["block_out_channels"] = {64, 64, 64, 64};
       }},
      {"UnetConfigOtherCrossAttentionDim",
       kSd15,
       "unet",
       nullptr,
       {"attn2.to_k.weight", "[32, 32]", "expected [32, 48]", "{file}"},
       [](nlohmann::json& j) { j["cross_attention_dim"] = 48; }},
      {"UnetConfigLinearProjection",
       kSd15,
       "unet",
       nullptr,
       {"down_blocks.0.attentions.0.proj_in.weight", "[32, 32, 1, 1]", "expected [32, 32]"},
       [](nlohmann::json& j) { j["use_linear_projection"] = true; }},
      {"BkUnetConfigWithMidBlock",
       kTaesd,
       "unet",
       nullptr,
       {missing, "mid_block.", "{file}"},
       [](nlohmann::json& j) { j["mid_block_type"] = "UNetMidBlock2DCrossAttn"; }},
      // AutoencoderKL (the pipeline loads its decoder; the encoder half is not built)
      {"VaeKlMissing",
       kSd15,
       "vae",
       drop("decoder.up_blocks.1.resnets.0.conv2.weight"),
       {missing, "decoder.up_blocks.1.resnets.0.conv2.weight", "[64, 64, 3, 3]", "{file}"}},
      {"VaeKlRenamed",
       kSd15,
       "vae",
       rename("post_quant_conv.weight", "post_quant_conv.kernel"),
       {missing, "post_quant_conv.weight", "{file}"}},
      {"VaeKlUnexpected",
       kSd15,
       "vae",
       add("decoder.up_blocks.4.resnets.0.norm1.weight", {32}),
       {unexpected, "decoder.up_blocks.4.resnets.0.norm1.weight", "{file}"}},
      {"VaeKlWrongShape",
       kSd15,
       "vae",
       reshape("decoder.conv_in.weight", {64, 4, 1, 1}),
       {"decoder.conv_in.weight", "[64, 4, 1, 1]", "expected [64, 4, 3, 3]", "{file}"}},
      {"VaeKlWrongNormSize",
       kSd15,
       "vae",
       reshape("decoder.conv_norm_out.weight", {64}),
       {"decoder.conv_norm_out.weight", "[64]", "expected [32]"}},
      {"VaeKlEncoderOnly", kSd15, "vae", keep_only("encoder."), {missing, "decoder.", "{file}"}},
      {"VaeKlConfigMoreLatentChannels",
       kSd15,
       "vae",
       nullptr,
       {"decoder.conv_in.weight", "[64, 4, 3, 3]", "expected [64, 16, 3, 3]", "{file}"},
       [](nlohmann::json& j) { j["latent_channels"] = 16; }},
      {"VaeKlConfigWithoutPostQuantConv",
       kSd15,
       "vae",
       nullptr,
       {unexpected, "post_quant_conv.", "{file}"},
       [](nlohmann::json& j) { j["use_post_quant_conv"] = false; }},
      {"VaeKlConfigMoreLayers",
       kSd15,
       "vae",
       nullptr,
       {missing, "decoder.up_blocks.0.resnets.2.", "{file}"},
       [](nlohmann::json& j) { j["layers_per_block"] = 2; }},
      // AutoencoderTiny
      {"VaeTinyMissing",
       kTaesd,
       "vae",
       drop("decoder.layers.12.conv.2.weight"),
       {missing, "decoder.layers.12.conv.2.weight", "[64, 64, 3, 3]", "{file}"}},
      {"VaeTinyUnexpected",
       kTaesd,
       "vae",
       add("decoder.layers.20.weight", {3, 64, 3, 3}),
       {unexpected, "decoder.layers.20.weight", "{file}"}},
      {"VaeTinyWrongShape",
       kTaesd,
       "vae",
       reshape("decoder.layers.0.weight", {64, 4, 1, 1}),
       {"decoder.layers.0.weight", "[64, 4, 1, 1]", "expected [64, 4, 3, 3]", "{file}"}},
      {"VaeTinyConfigFewerBlocks",
       kTaesd,
       "vae",
       nullptr,
       {"decoder.layers.", "{file}"},
       [](nlohmann::json& j) {
         j["num_decoder_blocks"] = {3, 3, 2, 1};
       }},
      {"VaeTinyConfigMoreChannels",
       kTaesd,
       "vae",
       nullptr,
       {"decoder.layers.0.weight", "[64, 4, 3, 3]", "expected [128, 4, 3, 3]"},
       [](nlohmann::json& j) {
         j["decoder_block_out_channels"] = {128, 128, 128, 128};
       }},
      // CLIPTextModel
      {"TextEncoderMissing",
       kSd15,
       "text_encoder",
       drop("text_model.encoder.layers.2.mlp.fc1.bias"),
       {missing, "text_model.encoder.layers.2.mlp.fc1.bias", "[128]", "{file}"}},
      {"TextEncoderRenamed",
       kSd15,
       "text_encoder",
       rename("text_model.final_layer_norm.weight", "final_layer_norm.weight"),
       {missing, "text_model.final_layer_norm.weight", "{file}"}},
      {"TextEncoderUnexpected",
       kSd15,
       "text_encoder",
       add("text_projection.weight", {16, 32}),
       {unexpected, "text_projection.weight", "{file}"}},
      {"TextEncoderWrongShape",
       kSd15,
       "text_encoder",
       reshape("text_model.encoder.layers.1.self_attn.q_proj.weight", {32, 16}),
       {"text_model.encoder.layers.1.self_attn.q_proj.weight", "[32, 16]", "expected [32, 32]",
        "{file}"}},
      {"TextEncoderVocabTooSmall",
       kSd15,
       "text_encoder",
       reshape("text_model.embeddings.token_embedding.weight", {1000, 32}),
       {"text_model.embeddings.token_embedding.weight", "[1000, 32]", "expected [49408, 32]"}},
      {"TextEncoderConfigMoreLayers",
       kTaesd,
       "text_encoder",
       nullptr,
       {missing, "text_model.encoder.layers.3.", "{file}"},
       [](nlohmann::json& j) { j["num_hidden_layers"] = 4; }},
      {"TextEncoderConfigWiderMlp",
       kTaesd,
       "text_encoder",
       nullptr,
       {"text_model.encoder.layers.0.mlp.fc1.bias", "[128]", "expected [256]", "{file}"},
       [](nlohmann::json& j) { j["intermediate_size"] = 256; }},
  };
}

void PrintTo(const BadWeights& b, std::ostream* os) { *os << b.name; }

class WeightsHostile : public ::testing::TestWithParam<BadWeights> {};

TEST_P(WeightsHostile, FromPretrainedNamesTensorAndFile) {
  const BadWeights& bad = GetParam();
  TempDir tmp;
  const std::string p = tmp / "pipe";
  testing::link_tree(kModels + bad.pipeline, p);
  const std::string file = p + "/" + weights_file(bad.component);
  if (bad.edit) {
    NamedTensors tensors = read_all(file);
    bad.edit(tensors);
    fs::remove(file);  // a link into the golden models: never write through it
    write_safetensors(file, tensors);
  }
  if (bad.config_edit) {
    const std::string config = p + "/" + bad.component + "/config.json";
    nlohmann::json j = read_json_file(config);
    bad.config_edit(j);
    testing::write_file(config, j.dump(2));
  }
  std::vector<std::string> parts;
  for (std::string part : bad.expect) {
    if (part == "{file}") part = file;
    parts.push_back(part);
  }
  EXPECT_TRUE(throws_with([&] { Pipeline::from_pretrained(p); }, parts));
}

INSTANTIATE_TEST_SUITE_P(Cases, WeightsHostile, ::testing::ValuesIn(bad_weights()),
                         [](const ::testing::TestParamInfo<BadWeights>& info) {
                           return info.param.name;
                         });

TEST(WeightsHostileCount, DistinctBadInputs) { EXPECT_EQ(bad_weights().size(), 35u); }

TEST(WeightsHostile, UndamagedCopiesLoad) {
  // The baselines every case damages are fine, so each case fails for its own reason.
  for (const char* pipeline : {kSd15, kTaesd}) {
    TempDir tmp;
    testing::link_tree(kModels + pipeline, tmp / "pipe");
    EXPECT_NO_THROW(Pipeline::from_pretrained(tmp / "pipe")) << pipeline;
  }
}

}  // namespace
}  // namespace sdfast
