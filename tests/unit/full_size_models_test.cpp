// Real-size text encoder, VAE and TAESD with random weights, one forward pass each at 512x512.
// Too slow for the regular run, so DISABLED_; run one at a time (peak RSS is per process):
//   build/tests/sdfast_tests --gtest_also_run_disabled_tests --gtest_filter='FullSize.*VaeDecoder*'
// Configs: written inline below, the same as bench/configs (stable-diffusion-v1-5 vae + text_encoder,
// bk-sdm-small-taesd vae).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "models/autoencoder_kl.h"
#include "models/autoencoder_tiny.h"
#include "models/clip_text_model.h"

namespace sdfast::models {
namespace {

const char* kSd15Vae = R"({"_class_name": "AutoencoderKL", "act_fn": "silu",
  "block_out_channels": [128, 256, 512, 512],
  "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
  "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32,
  "out_channels": 3, "sample_size": 512, "scaling_factor": 0.18215,
  "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]})";

const char* kTaesd = R"({"_class_name": "AutoencoderTiny", "act_fn": "relu",
  "block_out_channels": [64, 64, 64, 64], "decoder_block_out_channels": [64, 64, 64, 64],
  "encoder_block_out_channels": [64, 64, 64, 64], "force_upcast": false, "in_channels": 3,
  "latent_channels": 4, "latent_magnitude": 3, "latent_shift": 0.5, "num_decoder_blocks": [3, 3, 3, 1],
  "num_encoder_blocks": [1, 3, 3, 3], "out_channels": 3, "scaling_factor": 1.0,
  "upsampling_scaling_factor": 2})";

const char* kSd15TextEncoder =
    R"({"architectures": ["CLIPTextModel"], "model_type": "clip_text_model",
  "hidden_act": "quick_gelu", "hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12,
  "num_hidden_layers": 12, "max_position_embeddings": 77, "layer_norm_eps": 1e-05,
  "vocab_size": 49408, "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
  "projection_dim": 768, "torch_dtype": "float32"})";

const char* kSd21TextEncoder =
    R"({"architectures": ["CLIPTextModel"], "model_type": "clip_text_model",
  "hidden_act": "gelu", "hidden_size": 1024, "intermediate_size": 4096, "num_attention_heads": 16,
  "num_hidden_layers": 23, "max_position_embeddings": 77, "layer_norm_eps": 1e-05,
  "vocab_size": 49408, "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
  "projection_dim": 512, "torch_dtype": "float32"})";

Config config(const char* text, const char* label) {
  return Config(parse_json(text, label), label);
}

std::string peak_rss() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmHWM:", 0) == 0) return line;
  return "VmHWM: ?";
}

DType dtype_from_env() {
  const char* d = std::getenv("SDFAST_DTYPE");
  return d && std::string(d) == "bf16" ? DType::BF16 : DType::F32;
}

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

TEST(FullSize, DISABLED_VaeDecoder512) {
  Runtime rt(RuntimeOptions{0, dtype_from_env()});
  RandomWeights w(1);
  auto t0 = Clock::now();
  const AutoencoderKL vae(rt, w, AutoencoderKLConfig::from_config(config(kSd15Vae, "sd15 vae")),
                          {.encoder = false});
  const double load = seconds_since(t0);
  EXPECT_EQ(w.parameters_loaded(), 49490179 + 20);  // decoder + post_quant_conv (4x4 + 4)
  t0 = Clock::now();
  const Tensor image = vae.decode(rt, Tensor::full({1, 4, 64, 64}, 0.5f));
  const double run = seconds_since(t0);
  EXPECT_EQ(image.shape(), (Shape{1, 3, 512, 512}));
  std::printf(
      "VAE decoder (%s): %lld parameters loaded, build %.2f s, decode 64x64 -> 512x512 %.2f s, "
      "%s\n",
      dtype_name(rt.compute()), (long long)w.parameters_loaded(), load, run, peak_rss().c_str());
}

TEST(FullSize, DISABLED_TaesdDecoder512) {
  Runtime rt(RuntimeOptions{0, dtype_from_env()});
  RandomWeights w(1);
  auto t0 = Clock::now();
  const AutoencoderTiny vae(rt, w, AutoencoderTinyConfig::from_config(config(kTaesd, "taesd")),
                            {.encoder = false});
  const double load = seconds_since(t0);
  EXPECT_EQ(w.parameters_loaded(), 1222531);
  t0 = Clock::now();
  const Tensor image = vae.decode(rt, Tensor::full({1, 4, 64, 64}, 0.5f));
  const double run = seconds_since(t0);
  EXPECT_EQ(image.shape(), (Shape{1, 3, 512, 512}));
  std::printf(
      "TAESD decoder (%s): %lld parameters, build %.2f s, decode 64x64 -> 512x512 %.2f s, %s\n",
      dtype_name(rt.compute()), (long long)w.parameters_loaded(), load, run, peak_rss().c_str());
}

void run_text_encoder(const char* json, const char* name, int64_t hidden) {
  Runtime rt(RuntimeOptions{0, dtype_from_env()});
  RandomWeights w(1);
  auto t0 = Clock::now();
  const CLIPTextModel te(rt, w, CLIPTextConfig::from_config(config(json, name)));
  const double load = seconds_since(t0);
  Tensor ids = Tensor::empty({1, 77}, DType::I32);
  for (int i = 0; i < 77; ++i) ids.data<int32_t>()[i] = i == 0 ? 49406 : i < 9 ? 320 + i : 49407;
  t0 = Clock::now();
  const Tensor emb = te.encode(rt, ids);
  const double first = seconds_since(t0);  // includes oneDNN primitive creation and weight packing
  t0 = Clock::now();
  te.encode(rt, ids);
  const double second = seconds_since(t0);
  EXPECT_EQ(emb.shape(), (Shape{1, 77, hidden}));
  std::printf(
      "%s text encoder (%s): %lld parameters, build %.2f s, 77 tokens %.3f s (first call %.3f s), "
      "%s\n",
      name, dtype_name(rt.compute()), (long long)w.parameters_loaded(), load, second, first,
      peak_rss().c_str());
}

TEST(FullSize, DISABLED_TextEncoder77) {
  run_text_encoder(kSd15TextEncoder, "SD 1.5 CLIP ViT-L", 768);
}

TEST(FullSize, DISABLED_TextEncoderOpenClipH77) {
  run_text_encoder(kSd21TextEncoder, "SD 2.1 OpenCLIP-H", 1024);
}

}  // namespace
}  // namespace sdfast::models
