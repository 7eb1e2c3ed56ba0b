// UNet2DConditionModel: configurations Diffusers accepts for SD 1.x/2.x UNets (built with random
// weights from variants of the tiny golden configs), strict loading, flash vs naive attention
// through the whole model, the timestep embedding, parameter counts of the real architectures.
// The golden cases (tests/golden/cases/unet-*) check the numbers against Diffusers.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>

#include "core/error.h"
#include "core/runtime.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "models/embeddings.h"
#include "models/unet_2d_condition_model.h"
#include "tensor_test_util.h"

namespace sdfast::models {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kModels = std::string(SDFAST_TEST_DATA) + "/golden/models";
const std::string kCases = std::string(SDFAST_TEST_DATA) + "/golden/cases";
const std::string kSd15 = kModels + "/tiny-sd15-pipeline/unet";
const std::string kBkSmall = kModels + "/tiny-bk-small-taesd-pipeline/unet";
const std::string kBkTiny = kModels + "/unet-bk-tiny-tiny";

json config_of(const std::string& folder) { return read_json_file(folder + "/config.json"); }

UNet2DConditionModelConfig parse(const json& j) {
  return UNet2DConditionModelConfig::from_json(Config(j, "'test/unet/config.json'"));
}

using test::max_abs_diff;
using test::randn;

double max_abs(const Tensor& a) {
  double m = 0;
  for (float v : a.to_vector()) m = std::max(m, double(std::fabs(v)));
  return m;
}

bool all_finite(const Tensor& t) {
  for (float v : t.to_vector())
    if (!std::isfinite(v)) return false;
  return true;
}

// RandomWeights that also records the name and shape of every tensor asked for.
class RecordingWeights final : public WeightSource {
 public:
  explicit RecordingWeights(uint64_t seed) : random_(seed) {}
  Tensor get(const std::string& name, const Shape& shape, DType dtype) override {
    shapes_[name] = shape;
    Tensor t = random_.get(name, shape, dtype);
    parameters_ += t.numel();
    return t;
  }
  bool contains(const std::string&) const override { return true; }
  void check_all_used(bool (*)(const std::string&)) const override {}
  std::string describe() const override { return "recording random weights"; }
  const std::map<std::string, Shape>& shapes() const { return shapes_; }

 private:
  RandomWeights random_;
  std::map<std::string, Shape> shapes_;
};

// Hands out views of one zero-filled, never-touched anonymous mapping: builds full-size
// architectures without memory, for counting parameters.
class ZeroWeights final : public WeightSource {
 public:
  ZeroWeights() {
    void* p = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) fail("mmap failed");
    buffer_ = std::shared_ptr<void>(p, [](void* q) { munmap(q, kBytes); });
  }
  Tensor get(const std::string& name, const Shape& shape, DType dtype) override {
    const int64_t n = shape_numel(shape);
    SDFAST_CHECK(size_t(n) * dtype_size(dtype) <= kBytes, name, " is too large for the test");
    parameters_ += n;
    return Tensor::view(buffer_.get(), shape, dtype, buffer_);
  }
  bool contains(const std::string&) const override { return true; }
  void check_all_used(bool (*)(const std::string&)) const override {}
  std::string describe() const override { return "zero weights"; }

 private:
  static constexpr size_t kBytes = size_t(256) << 20;
  std::shared_ptr<void> buffer_;
};

// A fresh folder under the system temp folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("sdfast_unet_test_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
  }

 private:
  fs::path path_;
};

// Builds `j` with random weights and runs batch 2 at h x w.
Tensor run_random(Runtime& rt, const json& j, int64_t h, int64_t w, uint64_t seed = 7,
                  const std::vector<double>& timesteps = {981}) {
  RandomWeights weights(seed);
  const UNet2DConditionModel unet(rt, parse(j), weights);
  const int64_t cross = unet.config().cross_attention_dim[0];
  return unet.forward(rt, randn({2, unet.config().in_channels, h, w}, 1), timesteps,
                      randn({2, 7, cross}, 2));
}

// ---- configurations ----------------------------------------------------------------------------

struct Variant {
  const char* name;
  const char* base;  // folder of the tiny config it modifies
  std::function<void(json&)> edit;
};

class UNetVariantTest : public ::testing::TestWithParam<Variant> {};

TEST_P(UNetVariantTest, BuildsAndRunsAtSeveralLatentSizes) {
  const Variant& v = GetParam();
  json j = config_of(v.base);
  v.edit(j);
  Runtime rt(RuntimeOptions{0, DType::F32, AttentionKernel::Flash});
  RandomWeights weights(3);
  const UNet2DConditionModel unet(rt, parse(j), weights);
  const auto& c = unet.config();
  for (auto [h, w] : {std::pair<int64_t, int64_t>{16, 24}, {13, 19}}) {
    const Tensor out = unet.forward(rt, randn({2, c.in_channels, h, w}, 1), 500.0,
                                    randn({2, 9, c.cross_attention_dim[0]}, 2));
    EXPECT_EQ(out.shape(), (Shape{2, c.out_channels, h, w})) << v.name << " at " << h << "x" << w;
    EXPECT_TRUE(all_finite(out)) << v.name << " at " << h << "x" << w;
    EXPECT_GT(max_abs(out), 0.0) << v.name;
  }
}

const Variant kVariants[] = {
    {"sd15", kSd15.c_str(), [](json&) {}},
    {"bk_small_no_mid_block", kBkSmall.c_str(), [](json&) {}},
    {"bk_tiny_three_blocks", kBkTiny.c_str(), [](json&) {}},
    {"use_linear_projection", kSd15.c_str(), [](json& j) { j["use_linear_projection"] = true; }},
    {"sd21_like", kSd15.c_str(),
     [](json& j) {
       j["use_linear_projection"] = true;
       j["attention_head_dim"] = {2, 4, 8, 8};
       j["cross_attention_dim"] = 48;
     }},
    {"num_attention_heads", kSd15.c_str(),
     [](json& j) {
       j["num_attention_heads"] = {4, 2, 4, 8};
     }},
    {"heads_not_dividing_channels", kSd15.c_str(), [](json& j) { j["attention_head_dim"] = 3; }},
    {"layers_per_block_1", kSd15.c_str(), [](json& j) { j["layers_per_block"] = 1; }},
    {"layers_per_block_list", kSd15.c_str(),
     [](json& j) {
       j["layers_per_block"] = {1, 2, 1, 3};
     }},
    {"transformer_layers_per_block_2", kSd15.c_str(),
     [](json& j) { j["transformer_layers_per_block"] = 2; }},
    {"transformer_layers_per_block_list", kSd15.c_str(),
     [](json& j) {
       j["transformer_layers_per_block"] = {1, 2, 0, 1};
     }},
    {"mid_block_unet_mid_block_2d", kSd15.c_str(),
     [](json& j) { j["mid_block_type"] = "UNetMidBlock2D"; }},
    {"mid_block_absent_key_is_default", kSd15.c_str(), [](json& j) { j.erase("mid_block_type"); }},
    {"only_cross_attention", kSd15.c_str(), [](json& j) { j["only_cross_attention"] = true; }},
    {"only_cross_attention_list", kSd15.c_str(),
     [](json& j) {
       j["only_cross_attention"] = {true, false, true, false};
     }},
    {"cross_attention_dim_list", kSd15.c_str(),
     [](json& j) {
       j["cross_attention_dim"] = {32, 32, 32, 32};
     }},
    {"downsample_padding_0", kSd15.c_str(), [](json& j) { j["downsample_padding"] = 0; }},
    {"scale_factors_and_norms", kSd15.c_str(),
     [](json& j) {
       j["mid_block_scale_factor"] = 1.414;
       j["resnet_out_scale_factor"] = 2.0;  // not used by these block types (as in Diffusers)
       j["norm_num_groups"] = 16;
       j["norm_eps"] = 1e-6;
     }},
    {"time_embedding_options", kSd15.c_str(),
     [](json& j) {
       j["flip_sin_to_cos"] = false;
       j["freq_shift"] = 1;
       j["time_embedding_dim"] = 96;
       j["timestep_post_act"] = "silu";
       j["time_embedding_act_fn"] = "gelu";
       j["center_input_sample"] = true;
     }},
    {"conv_kernels_1_and_5", kSd15.c_str(),
     [](json& j) {
       j["conv_in_kernel"] = 1;
       j["conv_out_kernel"] = 5;
     }},
    {"unet_res_prefix", kSd15.c_str(),
     [](json& j) {
       j["down_block_types"][3] = "UNetResDownBlock2D";
       j["up_block_types"][0] = "UNetResUpBlock2D";
     }},
    {"two_blocks_channels_in_out", kSd15.c_str(),
     [](json& j) {
       j["down_block_types"] = {"DownBlock2D", "CrossAttnDownBlock2D"};
       j["up_block_types"] = {"CrossAttnUpBlock2D", "UpBlock2D"};
       j["block_out_channels"] = {32, 96};
       j["in_channels"] = 9;  // inpainting layout
       j["out_channels"] = 3;
     }},
    {"one_block", kSd15.c_str(),
     [](json& j) {
       j["down_block_types"] = {"CrossAttnDownBlock2D"};
       j["up_block_types"] = {"CrossAttnUpBlock2D"};
       j["block_out_channels"] = {32};
     }},
    {"old_config_without_optional_keys", kSd15.c_str(),
     [](json& j) {
       for (const char* key : {"addition_embed_type", "class_embed_type", "time_embedding_type",
                               "transformer_layers_per_block", "num_attention_heads",
                               "dual_cross_attention", "conv_in_kernel", "conv_out_kernel",
                               "resnet_time_scale_shift", "attention_type", "encoder_hid_dim"})
         j.erase(key);
     }},
};

INSTANTIATE_TEST_SUITE_P(Configs, UNetVariantTest, ::testing::ValuesIn(kVariants),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(UNet2DConditionModel, RunsAtTinyAndOddLatentSizes) {
  // Diffusers accepts any size: each upsampler then targets the next skip connection's size.
  Runtime rt;
  for (const std::string& folder : {kSd15, kBkTiny}) {
    RandomWeights weights(3);
    const UNet2DConditionModel unet(rt, parse(config_of(folder)), weights);
    for (auto [h, w] : {std::pair<int64_t, int64_t>{1, 1}, {5, 3}, {2, 7}, {9, 9}}) {
      const Tensor out = unet.forward(rt, randn({1, 4, h, w}, 1), 20.0, randn({1, 3, 32}, 2));
      EXPECT_EQ(out.shape(), (Shape{1, 4, h, w})) << folder << " at " << h << "x" << w;
      EXPECT_TRUE(all_finite(out)) << folder << " at " << h << "x" << w;
    }
  }
  // Without padding a stride-2 3x3 convolution needs 2 pixels (after its extra padding of 1);
  // torch refuses smaller inputs as well.
  json j = config_of(kSd15);
  j["downsample_padding"] = 0;
  RandomWeights weights(3);
  const UNet2DConditionModel unet(rt, parse(j), weights);
  EXPECT_THROW(unet.forward(rt, randn({1, 4, 5, 3}, 1), 20.0, randn({1, 3, 32}, 2)), Error);
}

TEST(UNet2DConditionModel, UsesLinearOrConvProjectionsAsConfigured) {
  Runtime rt;
  for (bool linear : {false, true}) {
    json j = config_of(kSd15);
    j["use_linear_projection"] = linear;
    j["transformer_layers_per_block"] = 2;
    RecordingWeights weights(1);
    const UNet2DConditionModel unet(rt, parse(j), weights);
    const auto& s = weights.shapes();
    ASSERT_TRUE(s.count("down_blocks.0.attentions.0.proj_in.weight"));
    EXPECT_EQ(s.at("down_blocks.0.attentions.0.proj_in.weight"),
              linear ? Shape({32, 32}) : Shape({32, 32, 1, 1}));
    EXPECT_EQ(s.at("mid_block.attentions.0.proj_out.weight"),
              linear ? Shape({64, 64}) : Shape({64, 64, 1, 1}));
    EXPECT_TRUE(s.count("up_blocks.3.attentions.2.transformer_blocks.1.ff.net.2.weight"));
    EXPECT_FALSE(s.count("up_blocks.3.attentions.2.transformer_blocks.2.ff.net.2.weight"));
  }
}

TEST(UNet2DConditionModel, HeadCountFollowsDiffusersQuirk) {
  // attention_head_dim is the number of heads unless num_attention_heads is set; the weights have
  // the same shapes either way, so the heads show only in the numbers.
  Runtime rt;
  json heads4 = config_of(kSd15);
  heads4["attention_head_dim"] = 4;
  json heads4_explicit = config_of(kSd15);
  heads4_explicit["attention_head_dim"] = 8;
  heads4_explicit["num_attention_heads"] = 4;
  json heads8 = config_of(kSd15);
  heads8["attention_head_dim"] = 8;
  EXPECT_EQ(parse(heads4_explicit).num_attention_heads, (std::vector<int>{4, 4, 4, 4}));
  json per_block = config_of(kSd15);
  per_block["attention_head_dim"] = {1, 2, 4, 8};
  EXPECT_EQ(parse(per_block).num_attention_heads, (std::vector<int>{1, 2, 4, 8}));
  const Tensor a = run_random(rt, heads4, 8, 8);
  const Tensor b = run_random(rt, heads4_explicit, 8, 8);
  const Tensor c = run_random(rt, heads8, 8, 8);
  EXPECT_EQ(max_abs_diff(a, b), 0.0);
  EXPECT_GT(max_abs_diff(a, c), 1e-4);
}

TEST(UNet2DConditionModel, PerSampleTimestepsMatchSeparateRuns) {
  Runtime rt;
  RandomWeights weights(5);
  const UNet2DConditionModel unet(rt, parse(config_of(kSd15)), weights);
  const Tensor sample = randn({2, 4, 8, 16}, 1), context = randn({2, 5, 32}, 2);
  const Tensor both = unet.forward(rt, sample, std::vector<double>{981, 1}, context);
  const Tensor first = unet.forward(rt, sample.slice0(0, 1), 981.0, context.slice0(0, 1));
  const Tensor second = unet.forward(rt, sample.slice0(1, 2), 1.0, context.slice0(1, 2));
  EXPECT_LT(max_abs_diff(both.slice0(0, 1).clone(), first), 1e-5);
  EXPECT_LT(max_abs_diff(both.slice0(1, 2).clone(), second), 1e-5);
  EXPECT_GT(max_abs_diff(first, unet.forward(rt, sample.slice0(0, 1), 1.0, context.slice0(0, 1))),
            1e-4);
  EXPECT_THROW(unet.forward(rt, sample, std::vector<double>{1, 2, 3}, context), Error);
}

TEST(UNet2DConditionModel, TimestepCondIsAddedThroughCondProj) {
  Runtime rt;
  json j = config_of(kSd15);
  j["time_cond_proj_dim"] = 16;
  RandomWeights weights(5);
  const UNet2DConditionModel unet(rt, parse(j), weights);
  const Tensor sample = randn({2, 4, 8, 8}, 1), context = randn({2, 5, 32}, 2);
  const Tensor cond = randn({2, 16}, 3);
  const Tensor with = unet.forward(rt, sample, 10.0, context, &cond);
  const Tensor without = unet.forward(rt, sample, 10.0, context);
  EXPECT_GT(max_abs_diff(with, without), 1e-4);
  const Tensor bad = randn({2, 8}, 3);
  EXPECT_THROW(unet.forward(rt, sample, 10.0, context, &bad), Error);
  RandomWeights weights2(5);
  const UNet2DConditionModel plain(rt, parse(config_of(kSd15)), weights2);
  EXPECT_THROW(plain.forward(rt, sample, 10.0, context, &cond), Error);
}

TEST(UNet2DConditionModel, RejectsBadInputs) {
  Runtime rt;
  RandomWeights weights(5);
  const UNet2DConditionModel unet(rt, parse(config_of(kSd15)), weights);
  const Tensor context = randn({2, 5, 32}, 2);
  EXPECT_THROW(unet.forward(rt, randn({2, 3, 8, 8}, 1), 1.0, context), Error);  // channels
  EXPECT_THROW(unet.forward(rt, randn({2, 4, 8}, 1), 1.0, context), Error);     // rank
  EXPECT_THROW(unet.forward(rt, randn({3, 4, 8, 8}, 1), 1.0, context), Error);  // batch
  EXPECT_THROW(unet.forward(rt, randn({2, 4, 8, 8}, 1), 1.0, randn({2, 5, 31}, 2)), Error);
  EXPECT_THROW(unet.forward(rt, randn({2, 4, 0, 8}, 1), 1.0, context), Error);
  EXPECT_THROW(unet.forward(rt, randn({2, 4, 8, 8}, 1), std::nan(""), context), Error);
  EXPECT_THROW(unet.forward(rt, randn({2, 4, 8, 8}, 1), 1e300, context), Error);
}

// ---- config validation
// ---------------------------------------------------------------------------

struct BadConfig {
  const char* key;  // must appear in the message, with the config's name
  std::function<void(json&)> edit;
};

TEST(UNet2DConditionModelConfig, ErrorsNameTheFileAndTheKey) {
  const BadConfig cases[] = {
      {"block_out_channels",
       [](json& j) {
         j["block_out_channels"] = {32, 0, 64, 64};
       }},
      {"block_out_channels",
       [](json& j) {
         j["block_out_channels"] = {32, 64, 64};
       }},
      {"up_block_types",
       [](json& j) {
         j["up_block_types"] = {"UpBlock2D", "CrossAttnUpBlock2D"};
       }},
      {"down_block_types", [](json& j) { j["down_block_types"] = json::array(); }},
      {"down_block_types", [](json& j) { j["down_block_types"][0] = "AttnDownBlock2D"; }},
      {"up_block_types", [](json& j) { j["up_block_types"][1] = "SimpleCrossAttnUpBlock2D"; }},
      {"mid_block_type", [](json& j) { j["mid_block_type"] = "UNetMidBlock2DSimpleCrossAttn"; }},
      {"norm_num_groups", [](json& j) { j["norm_num_groups"] = 24; }},
      {"norm_num_groups", [](json& j) { j["norm_num_groups"] = nullptr; }},
      {"norm_num_groups", [](json& j) { j["norm_num_groups"] = 0; }},
      {"in_channels", [](json& j) { j["in_channels"] = -4; }},
      {"out_channels", [](json& j) { j["out_channels"] = 0; }},
      {"layers_per_block",
       [](json& j) {
         j["layers_per_block"] = {2, 2, 2};
       }},
      {"layers_per_block", [](json& j) { j["layers_per_block"] = 0; }},
      {"layers_per_block", [](json& j) { j["layers_per_block"] = nullptr; }},
      {"transformer_layers_per_block",
       [](json& j) {
         j["transformer_layers_per_block"] = {{1, 2}, {1, 2}, {1, 2}, {1, 2}};
       }},
      {"attention_head_dim",
       [](json& j) {
         j["attention_head_dim"] = {8, 8};
       }},
      {"attention_head_dim", [](json& j) { j["attention_head_dim"] = 64; }},  // heads > channels
      {"num_attention_heads",
       [](json& j) {
         j["num_attention_heads"] = {1, 2, 3};
       }},
      {"cross_attention_dim",
       [](json& j) {
         j["cross_attention_dim"] = {32, 32};
       }},
      {"cross_attention_dim", [](json& j) { j["cross_attention_dim"] = -1; }},
      {"only_cross_attention", [](json& j) { j["only_cross_attention"] = {true}; }},
      {"only_cross_attention", [](json& j) { j["only_cross_attention"] = "yes"; }},
      {"class_embed_type", [](json& j) { j["class_embed_type"] = "timestep"; }},
      {"num_class_embeds", [](json& j) { j["num_class_embeds"] = 10; }},
      {"addition_embed_type", [](json& j) { j["addition_embed_type"] = "text_time"; }},
      {"encoder_hid_dim", [](json& j) { j["encoder_hid_dim"] = 64; }},
      {"dual_cross_attention", [](json& j) { j["dual_cross_attention"] = true; }},
      {"time_embedding_type", [](json& j) { j["time_embedding_type"] = "fourier"; }},
      {"resnet_time_scale_shift", [](json& j) { j["resnet_time_scale_shift"] = "scale_shift"; }},
      {"attention_type", [](json& j) { j["attention_type"] = "gated"; }},
      {"act_fn", [](json& j) { j["act_fn"] = "mish"; }},
      {"timestep_post_act", [](json& j) { j["timestep_post_act"] = "mish"; }},
      {"class_embeddings_concat", [](json& j) { j["class_embeddings_concat"] = true; }},
      {"reverse_transformer_layers_per_block",
       [](json& j) {
         j["reverse_transformer_layers_per_block"] = {{1}, {1}, {1}, {1}};
       }},
      {"mid_block_scale_factor", [](json& j) { j["mid_block_scale_factor"] = 0; }},
      {"downsample_padding", [](json& j) { j["downsample_padding"] = -1; }},
      {"conv_in_kernel", [](json& j) { j["conv_in_kernel"] = 0; }},
      {"time_embedding_dim", [](json& j) { j["time_embedding_dim"] = -8; }},
      {"time_cond_proj_dim", [](json& j) { j["time_cond_proj_dim"] = 0; }},
      {"norm_eps", [](json& j) { j["norm_eps"] = -1e-5; }},
      {"_class_name", [](json& j) { j["_class_name"] = "AutoencoderKL"; }},
      {"use_linear_projection", [](json& j) { j["use_linear_projection"] = "true"; }},
      // Absurd sizes fail before anything is allocated.
      {"block_out_channels",
       [](json& j) {
         j["block_out_channels"] = {32, 64, 64, 1 << 30};
       }},
      {"layers_per_block", [](json& j) { j["layers_per_block"] = 1000000; }},
      {"transformer_layers_per_block", [](json& j) { j["transformer_layers_per_block"] = 100000; }},
      {"conv_out_kernel", [](json& j) { j["conv_out_kernel"] = 4097; }},
      {"down_block_types",
       [](json& j) {
         j["down_block_types"] = std::vector<std::string>(40, "DownBlock2D");
         j["up_block_types"] = std::vector<std::string>(40, "UpBlock2D");
         j["block_out_channels"] = std::vector<int>(40, 32);
       }},
  };
  for (const BadConfig& bad : cases) {
    json j = config_of(kSd15);
    bad.edit(j);
    try {
      parse(j);
      ADD_FAILURE() << "no error for a bad \"" << bad.key << "\": " << j.dump();
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("test/unet/config.json"), std::string::npos) << msg;
      EXPECT_NE(msg.find(std::string("\"") + bad.key + "\""), std::string::npos) << msg;
    }
  }
}

TEST(UNet2DConditionModelConfig, ParsesRealArchitectures) {
  // The SD 1.5 / BK-SDM / SD 2.1-base configs are the tiny ones with the real widths.
  json sd15 = config_of(kSd15);
  sd15["block_out_channels"] = {320, 640, 1280, 1280};
  sd15["cross_attention_dim"] = 768;
  const UNet2DConditionModelConfig c = parse(sd15);
  EXPECT_EQ(c.mid_block_type, "UNetMidBlock2DCrossAttn");
  EXPECT_EQ(c.time_embed_dim, 1280);
  EXPECT_EQ(c.num_attention_heads, (std::vector<int>{8, 8, 8, 8}));
  json bk = config_of(kBkSmall);
  EXPECT_EQ(parse(bk).mid_block_type, "");
  EXPECT_EQ(parse(bk).layers_per_block, (std::vector<int>{1, 1, 1, 1}));
}

// ---- loading
// -------------------------------------------------------------------------------------

TEST(UNet2DConditionModel, FullSizeParameterCounts) {
  // Built over untouched zero pages: the counts come from the shapes config.json implies.
  Runtime rt;
  auto count = [&](json j) {
    ZeroWeights weights;
    return UNet2DConditionModel(rt, parse(j), weights).num_parameters();
  };
  json sd15 = config_of(kSd15);
  sd15["block_out_channels"] = {320, 640, 1280, 1280};
  sd15["cross_attention_dim"] = 768;
  EXPECT_EQ(count(sd15), 859520964);
  json bk_small = config_of(kBkSmall);
  bk_small["block_out_channels"] = {320, 640, 1280, 1280};
  bk_small["cross_attention_dim"] = 768;
  EXPECT_EQ(count(bk_small), 482346884);
  json sd21 = sd15;
  sd21["use_linear_projection"] = true;
  sd21["attention_head_dim"] = {5, 10, 20, 20};
  sd21["cross_attention_dim"] = 1024;
  EXPECT_EQ(count(sd21), 865910724);  // the published SD 2.1 UNet size
}

TEST(UNet2DConditionModel, StrictLoadingNamesMissingExtraAndMisshapenTensors) {
  const auto file = SafetensorsFile::open(kSd15 + "/diffusion_pytorch_model.safetensors");
  std::vector<std::pair<std::string, Tensor>> all;
  for (const TensorInfo& t : file->tensors()) all.emplace_back(t.name, file->load(t, DType::F32));
  const std::string config = json(config_of(kSd15)).dump();
  Runtime rt;
  auto load_error = [&](const std::vector<std::pair<std::string, Tensor>>& tensors) -> std::string {
    TempDir dir;
    dir.write("config.json", config);
    write_safetensors(dir.str() + "/diffusion_pytorch_model.safetensors", tensors);
    try {
      UNet2DConditionModel::from_pretrained(rt, dir.str());
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(load_error(all), "");

  auto missing = all;
  const std::string dropped = "up_blocks.2.attentions.1.transformer_blocks.0.attn2.to_k.weight";
  std::erase_if(missing, [&](const auto& p) { return p.first == dropped; });
  ASSERT_EQ(missing.size() + 1, all.size());
  EXPECT_NE(load_error(missing).find(dropped), std::string::npos);

  auto extra = all;
  extra.emplace_back("mid_block.attentions.1.proj_in.weight", Tensor::zeros({64, 64, 1, 1}));
  const std::string extra_msg = load_error(extra);
  EXPECT_NE(extra_msg.find("mid_block.attentions.1.proj_in.weight"), std::string::npos)
      << extra_msg;

  auto misshapen = all;
  for (auto& [name, t] : misshapen)
    if (name == "down_blocks.1.resnets.0.conv1.weight") t = Tensor::zeros({64, 32, 3, 1});
  const std::string shape_msg = load_error(misshapen);
  EXPECT_NE(shape_msg.find("down_blocks.1.resnets.0.conv1.weight"), std::string::npos) << shape_msg;
  EXPECT_NE(shape_msg.find("[64, 32, 3, 3]"), std::string::npos) << shape_msg;

  TempDir empty;
  empty.write("config.json", config);
  EXPECT_THROW(UNet2DConditionModel::from_pretrained(rt, empty.str()), Error);
}

TEST(UNet2DConditionModel, RandomWeightsFromAConfigOnlyFolder) {
  TempDir dir;
  dir.write("config.json", config_of(kBkTiny).dump());
  Runtime rt;
  const auto unet = UNet2DConditionModel::from_config_random(rt, dir.str(), 11);
  EXPECT_EQ(unet.num_parameters(), 1476484);  // as in the golden unet-bk-tiny-tiny weights
  const Tensor out = unet.forward(rt, randn({1, 4, 8, 8}, 1), 3.0, randn({1, 4, 32}, 2));
  EXPECT_TRUE(all_finite(out));
}

// ---- numbers
// -------------------------------------------------------------------------------------

struct GoldenUNet {
  Tensor sample, context, want;
  std::vector<double> timestep;
};

GoldenUNet golden_case(const std::string& name) {
  const auto data = SafetensorsFile::open(kCases + "/" + name + "/data.safetensors");
  GoldenUNet g{data->load("sample", DType::F32),
               data->load("encoder_hidden_states", DType::F32),
               data->load("out.0", DType::F32),
               {}};
  for (float t : data->load("timestep.0", DType::F32).to_vector()) g.timestep.push_back(t);
  return g;
}

TEST(UNet2DConditionModel, Fp16WeightVariantLoads) {
  const GoldenUNet g = golden_case("unet-sd15-tiny");
  Runtime rt;
  const auto unet = UNet2DConditionModel::from_pretrained(
      rt, kSd15, {"diffusion_pytorch_model.fp16.safetensors"});
  const Tensor out = unet.forward(rt, g.sample, g.timestep, g.context);
  // fp16-rounded weights against the float64 reference of the float32 weights.
  EXPECT_LT(max_abs_diff(out, g.want) / max_abs(g.want), 5e-3);
}

TEST(UNet2DConditionModel, FlashAndNaiveAttentionAgreeThroughTheModel) {
  for (const char* name : {"unet-sd15-tiny-nonsquare", "unet-bk-tiny-tiny"}) {
    const GoldenUNet g = golden_case(name);
    const std::string folder = std::string(name) == "unet-bk-tiny-tiny" ? kBkTiny : kSd15;
    for (DType dtype : {DType::F32, DType::BF16}) {
      Tensor outs[2];
      int i = 0;
      for (AttentionKernel kernel : {AttentionKernel::Flash, AttentionKernel::Naive}) {
        Runtime rt(RuntimeOptions{0, dtype, kernel});
        const auto unet = UNet2DConditionModel::from_pretrained(rt, folder);
        outs[i++] = unet.forward(rt, g.sample, g.timestep, g.context);
      }
      const double scale = max_abs(g.want);
      if (dtype == DType::F32) {
        EXPECT_LT(max_abs_diff(outs[0], outs[1]), 1e-5) << name;
        EXPECT_LT(max_abs_diff(outs[0], g.want), 2e-4 + 2e-4 * scale) << name;
        EXPECT_LT(max_abs_diff(outs[1], g.want), 2e-4 + 2e-4 * scale) << name;
      } else {
        EXPECT_LT(max_abs_diff(outs[0], outs[1]) / scale, 2e-2) << name;
        EXPECT_LT(max_abs_diff(outs[0], g.want) / scale, 2e-2) << name;
        EXPECT_LT(max_abs_diff(outs[1], g.want) / scale, 2e-2) << name;
      }
    }
  }
}

TEST(Timesteps, SinusoidalEmbeddingAsDiffusersComputesIt) {
  // half = 2: frequencies exp(-ln(10000) * i / (2 - shift)), i = 0, 1.
  const Tensor flip = Timesteps(4, true, 0).forward({981, 0.5});
  const Tensor noflip = Timesteps(5, false, 1).forward({981});
  const float f1 = std::exp(float(-std::log(10000.0)) * 1.0f / 2.0f);  // 0.01
  const std::vector<float> want_flip = {
      std::cos(981.0f), std::cos(981.0f * f1), std::sin(981.0f), std::sin(981.0f * f1),
      std::cos(0.5f),   std::cos(0.5f * f1),   std::sin(0.5f),   std::sin(0.5f * f1)};
  const float g1 = std::exp(float(-std::log(10000.0)) * 1.0f / 1.0f);  // shift 1: 1e-4
  const std::vector<float> want_noflip = {std::sin(981.0f), std::sin(981.0f * g1), std::cos(981.0f),
                                          std::cos(981.0f * g1), 0.0f};
  ASSERT_EQ(flip.shape(), (Shape{2, 4}));
  ASSERT_EQ(noflip.shape(), (Shape{1, 5}));
  const auto a = flip.to_vector(), b = noflip.to_vector();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], want_flip[i], 1e-6) << i;
  for (size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(b[i], want_noflip[i], 1e-6) << i;
  EXPECT_THROW(Timesteps(2, true, 1), Error);  // half - shift = 0
}

}  // namespace
}  // namespace sdfast::models
