// Diffusers' UNet2DConditionModel (unets/unet_2d_condition.py, v0.26.3), built from config.json
// alone, for the Stable Diffusion 1.x / 2.x family (SD 1.5, SD 2.x with linear projections and
// per-block head counts, BK-SDM base/small/tiny without a mid block):
//
//   t_emb = Timesteps(timestep); emb = TimestepEmbedding(t_emb)
//   x = conv_in(sample); skips = [x]
//   for each down block: x = block(x, emb, context), appending its outputs to skips
//   x = mid_block(x, emb, context)          (absent when mid_block_type is null)
//   for each up block: x = block(x, emb, context, popping its skips), upsampling to the size of
//                      the next skip connection
//   out = conv_out(silu(conv_norm_out(x)))
//
// Activations are NHWC inside; the model boundary is NCHW float32 like Diffusers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/runtime.h"
#include "io/json.h"
#include "io/weights.h"
#include "models/embeddings.h"
#include "models/unet_2d_blocks.h"
#include "models/unet_deep_cache.h"
#include "ops/conv2d.h"
#include "ops/norm.h"

namespace sdfast::models {

// The config.json fields, resolved the way Diffusers' constructor resolves them: per-block values
// expanded to one entry per down block (in down-block order), "UNetRes" prefixes stripped,
// attention_head_dim's quirk applied (it is the number of heads unless num_attention_heads is set),
// time_embed_dim defaulted to 4 * block_out_channels[0].
struct UNet2DConditionModelConfig {
  std::string label;  // where the config came from, for messages ("'.../config.json'")

  int sample_size = 64;  // latent size the model was trained at (the pipeline's default image size / 8)
  int in_channels = 4;
  int out_channels = 4;
  bool center_input_sample = false;
  bool flip_sin_to_cos = true;
  double freq_shift = 0;
  std::vector<std::string> down_block_types;
  std::string mid_block_type;  // empty: no mid block (mid_block_type null, BK-SDM small/tiny)
  std::vector<std::string> up_block_types;
  std::vector<int> block_out_channels;
  std::vector<int> layers_per_block;              // per down block
  std::vector<int> transformer_layers_per_block;  // per down block
  std::vector<int> num_attention_heads;           // per down block
  std::vector<int64_t> cross_attention_dim;       // per down block
  std::vector<bool> only_cross_attention;         // per down block
  int downsample_padding = 1;
  double mid_block_scale_factor = 1.0;
  int norm_num_groups = 32;
  double norm_eps = 1e-5;
  bool use_linear_projection = false;
  bool upcast_attention = false;
  int time_embed_dim = 0;
  std::string timestep_post_act;      // "": none
  std::string time_embedding_act_fn;  // "": none
  int time_cond_proj_dim = 0;         // 0: none
  int conv_in_kernel = 3;
  int conv_out_kernel = 3;

  // Parses and validates; every error names the config (cfg.label()) and the key. Keys the engine
  // does not implement (class/addition embeddings, dual cross-attention, fourier time embedding,
  // other block types, ...) are errors unless they hold their "off" value.
  static UNet2DConditionModelConfig from_json(const Config& cfg);
  // Reads `path` (a config.json).
  static UNet2DConditionModelConfig load(const std::string& path);

  int num_blocks() const { return int(block_out_channels.size()); }
};

class UNet2DConditionModel {
 public:
  // Builds the model, asking `weights` for every tensor the config implies (exact shapes). The
  // caller checks weights.check_all_used() when the source holds only this model.
  UNet2DConditionModel(Runtime& rt, const UNet2DConditionModelConfig& config,
                       WeightSource& weights);
  UNet2DConditionModel(UNet2DConditionModel&&) noexcept = default;
  UNet2DConditionModel& operator=(UNet2DConditionModel&&) noexcept = default;
  ~UNet2DConditionModel();

  // A Diffusers component folder: `folder`/config.json and the weights from `weight_files` (paths
  // relative to `folder` unless absolute), by default diffusion_pytorch_model.safetensors.
  // Strict: every tensor present with the expected shape, every tensor in the files used.
  static UNet2DConditionModel from_pretrained(Runtime& rt, const std::string& folder,
                                              const std::vector<std::string>& weight_files = {});
  // `folder`/config.json with seeded random weights (config-only folders, benchmarks).
  static UNet2DConditionModel from_config_random(Runtime& rt, const std::string& folder,
                                                 uint64_t seed);

  // sample: NCHW [B, in_channels, H, W] (any float dtype); timesteps: one value for the whole
  // batch or one per sample; encoder_hidden_states: [B, L, cross_attention_dim];
  // timestep_cond: [B, time_cond_proj_dim] or nullptr -> float32 NCHW [B, out_channels, H', W']
  // (H' = H, W' = W for the usual odd conv kernels).
  Tensor forward(Runtime& rt, const Tensor& sample, const std::vector<double>& timesteps,
                 const Tensor& encoder_hidden_states, const Tensor* timestep_cond = nullptr) const;
  Tensor forward(Runtime& rt, const Tensor& sample, double timestep,
                 const Tensor& encoder_hidden_states, const Tensor* timestep_cond = nullptr) const {
    return forward(rt, sample, std::vector<double>{timestep}, encoder_hidden_states, timestep_cond);
  }
  // DeepCache (models/unet_deep_cache.h): a full call (`full`) runs everything and stores the deep
  // features in `cache`; a partial call runs only the shallow branch of cache.plan and reuses the
  // stored features (the same batch and size as the full call that stored them).
  Tensor forward(Runtime& rt, const Tensor& sample, const std::vector<double>& timesteps,
                 const Tensor& encoder_hidden_states, UNetDeepCache& cache, bool full,
                 const Tensor* timestep_cond = nullptr) const;

  // Block structure, for DeepCache plans.
  UNetBlockLayout block_layout() const;

  const UNet2DConditionModelConfig& config() const { return config_; }
  // Number of parameters (weight elements) the model loaded.
  int64_t num_parameters() const { return num_parameters_; }
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  void collect_layers(ops::LayerSet& out);

 private:
  Tensor forward_impl(Runtime& rt, const Tensor& sample, const std::vector<double>& timesteps,
                      const Tensor& encoder_hidden_states, const Tensor* timestep_cond,
                      UNetDeepCache* cache, bool full) const;

  UNet2DConditionModelConfig config_;
  int num_upsamplers_ = 0;
  int64_t num_parameters_ = 0;
  ops::Conv2d conv_in_, conv_out_;
  Timesteps time_proj_;
  TimestepEmbedding time_embedding_;
  std::vector<std::unique_ptr<UNetDownBlock>> down_blocks_;
  std::unique_ptr<UNetMidBlock> mid_block_;  // null when mid_block_type is null
  std::vector<std::unique_ptr<UNetUpBlock>> up_blocks_;
  ops::GroupNorm conv_norm_out_;
};

}  // namespace sdfast::models
