// Reference: diffusers/src/diffusers/models/unets/unet_2d_condition.py (UNet2DConditionModel:
// __init__, _set_time_proj, get_time_embed, forward), v0.26.3. Config parsing:
// unet_2d_condition_model_config.cpp.
#include "models/unet_2d_condition_model.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "ops/elementwise.h"

namespace sdfast::models {

namespace fs = std::filesystem;

UNet2DConditionModel::~UNet2DConditionModel() = default;

UNet2DConditionModel::UNet2DConditionModel(Runtime& rt, const UNet2DConditionModelConfig& config,
                                           WeightSource& weights)
    : config_(config) {
  const UNet2DConditionModelConfig& c = config_;
  const int64_t params_before = weights.parameters_loaded();
  const Weights w(weights, rt.weights());
  const int n = c.num_blocks();
  SDFAST_CHECK(
      n > 0 && int(c.down_block_types.size()) == n && int(c.up_block_types.size()) == n &&
          int(c.layers_per_block.size()) == n && int(c.transformer_layers_per_block.size()) == n &&
          int(c.num_attention_heads.size()) == n && int(c.cross_attention_dim.size()) == n &&
          int(c.only_cross_attention.size()) == n,
      c.label, ": UNet2DConditionModel config has per-block lists of different lengths");
  const int ch0 = c.block_out_channels[0];

  conv_in_ = ops::Conv2d(rt, w["conv_in"],
                         {c.in_channels, ch0, c.conv_in_kernel, 1, (c.conv_in_kernel - 1) / 2});
  time_proj_ = Timesteps(ch0, c.flip_sin_to_cos, c.freq_shift);
  TimestepEmbeddingConfig te;
  te.in_channels = ch0;
  te.time_embed_dim = c.time_embed_dim;
  te.act_fn = "silu";
  te.post_act_fn = c.timestep_post_act;
  te.cond_proj_dim = c.time_cond_proj_dim;
  time_embedding_ = TimestepEmbedding(rt, w["time_embedding"], te);

  UNetBlockConfig base;
  base.temb_channels = c.time_embed_dim;
  base.resnet_eps = float(c.norm_eps);
  base.resnet_groups = c.norm_num_groups;
  base.downsample_padding = c.downsample_padding;
  base.use_linear_projection = c.use_linear_projection;
  base.upcast_attention = c.upcast_attention;

  int output_channel = ch0;
  for (int i = 0; i < n; ++i) {
    UNetBlockConfig b = base;
    b.in_channels = output_channel;
    output_channel = c.block_out_channels[size_t(i)];
    b.out_channels = output_channel;
    b.num_layers = c.layers_per_block[size_t(i)];
    b.transformer_layers = c.transformer_layers_per_block[size_t(i)];
    b.add_sample = i != n - 1;
    b.cross_attention_dim = c.cross_attention_dim[size_t(i)];
    b.num_attention_heads = c.num_attention_heads[size_t(i)];
    b.only_cross_attention = c.only_cross_attention[size_t(i)];
    down_blocks_.push_back(
        get_down_block(rt, w["down_blocks"][i], c.down_block_types[size_t(i)], b));
  }

  if (!c.mid_block_type.empty()) {
    UNetBlockConfig b = base;
    b.in_channels = b.out_channels = c.block_out_channels.back();
    b.num_layers = 1;
    b.transformer_layers = c.transformer_layers_per_block.back();
    b.cross_attention_dim = c.cross_attention_dim.back();
    b.num_attention_heads = c.num_attention_heads.back();
    b.output_scale_factor = float(c.mid_block_scale_factor);
    mid_block_ = get_mid_block(rt, w["mid_block"], c.mid_block_type, b);
  }

  // The up path walks the per-block lists in reverse.
  output_channel = c.block_out_channels.back();
  for (int i = 0; i < n; ++i) {
    const size_t r = size_t(n - 1 - i);  // the matching down block
    UNetBlockConfig b = base;
    b.prev_output_channel = output_channel;
    output_channel = c.block_out_channels[r];
    b.out_channels = output_channel;
    b.in_channels = c.block_out_channels[size_t(std::max(n - 2 - i, 0))];
    b.num_layers = c.layers_per_block[r] + 1;
    b.transformer_layers = c.transformer_layers_per_block[r];
    b.add_sample = i != n - 1;
    b.cross_attention_dim = c.cross_attention_dim[r];
    b.num_attention_heads = c.num_attention_heads[r];
    b.only_cross_attention = c.only_cross_attention[r];
    if (b.add_sample) ++num_upsamplers_;
    up_blocks_.push_back(get_up_block(rt, w["up_blocks"][i], c.up_block_types[size_t(i)], b));
  }

  conv_norm_out_ = ops::GroupNorm(w["conv_norm_out"], c.norm_num_groups, ch0, float(c.norm_eps));
  conv_out_ = ops::Conv2d(rt, w["conv_out"],
                          {ch0, c.out_channels, c.conv_out_kernel, 1, (c.conv_out_kernel - 1) / 2});
  num_parameters_ = weights.parameters_loaded() - params_before;
}

UNet2DConditionModel UNet2DConditionModel::from_pretrained(
    Runtime& rt, const std::string& folder, const std::vector<std::string>& weight_files) {
  const UNet2DConditionModelConfig config =
      UNet2DConditionModelConfig::load((fs::path(folder) / "config.json").string());
  std::vector<std::string> files;
  for (const std::string& f : weight_files)
    files.push_back(fs::path(f).is_absolute() ? f : (fs::path(folder) / f).string());
  if (files.empty()) {
    const fs::path file = fs::path(folder) / "diffusion_pytorch_model.safetensors";
    if (!fs::is_regular_file(file)) {
      std::string found;
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(folder, ec))
        if (e.path().filename().string().rfind("diffusion_pytorch_model", 0) == 0)
          found += (found.empty() ? "" : ", ") + e.path().filename().string();
      fail("'", folder, "' has no diffusion_pytorch_model.safetensors",
           found.empty() ? std::string() : " (found: " + found + "; name the file to load)");
    }
    files.push_back(file.string());
  }
  SafetensorsWeights source(files);
  UNet2DConditionModel model(rt, config, source);
  source.check_all_used(nullptr);
  return model;
}

UNet2DConditionModel UNet2DConditionModel::from_config_random(Runtime& rt,
                                                              const std::string& folder,
                                                              uint64_t seed) {
  RandomWeights source(seed);
  return UNet2DConditionModel(
      rt, UNet2DConditionModelConfig::load((fs::path(folder) / "config.json").string()), source);
}

UNetBlockLayout UNet2DConditionModel::block_layout() const {
  UNetBlockLayout layout;
  for (const auto& b : down_blocks_)
    layout.down.push_back({b->num_resnets(), b->has_attentions(), b->has_downsampler()});
  layout.mid_block = mid_block_ != nullptr;
  for (const auto& b : up_blocks_)
    layout.up.push_back({b->num_resnets(), b->has_attentions(), b->has_upsampler()});
  return layout;
}

Tensor UNet2DConditionModel::forward(Runtime& rt, const Tensor& sample,
                                     const std::vector<double>& timesteps,
                                     const Tensor& encoder_hidden_states,
                                     const Tensor* timestep_cond) const {
  return forward_impl(rt, sample, timesteps, encoder_hidden_states, timestep_cond, nullptr, true);
}

Tensor UNet2DConditionModel::forward(Runtime& rt, const Tensor& sample,
                                     const std::vector<double>& timesteps,
                                     const Tensor& encoder_hidden_states, UNetDeepCache& cache,
                                     bool full, const Tensor* timestep_cond) const {
  if (!full) {
    SDFAST_CHECK(cache.filled(), "UNet2DConditionModel: a DeepCache partial call before any full "
                 "call stored the deep features");
    SDFAST_CHECK(sample.shape() == cache.sample_shape, "UNet2DConditionModel: DeepCache features "
                 "were stored for a sample of ", shape_str(cache.sample_shape), ", this call has ",
                 sample.describe());
  } else {
    cache.sample_shape = sample.shape();
  }
  return forward_impl(rt, sample, timesteps, encoder_hidden_states, timestep_cond, &cache, full);
}

Tensor UNet2DConditionModel::forward_impl(Runtime& rt, const Tensor& sample,
                                          const std::vector<double>& timesteps,
                                          const Tensor& encoder_hidden_states,
                                          const Tensor* timestep_cond, UNetDeepCache* cache,
                                          bool full) const {
  const UNet2DConditionModelConfig& c = config_;
  SDFAST_CHECK(sample.ndim() == 4 && sample.dim(1) == c.in_channels && sample.dim(0) > 0 &&
                   sample.dim(2) > 0 && sample.dim(3) > 0,
               "UNet2DConditionModel: sample ", sample.describe(), " is not NCHW [B, ",
               c.in_channels, ", H, W]");
  SDFAST_CHECK(dtype_is_float(sample.dtype()), "UNet2DConditionModel: sample ", sample.describe(),
               " is not floating point");
  const int64_t batch = sample.dim(0), height = sample.dim(2), width = sample.dim(3);
  SDFAST_CHECK(encoder_hidden_states.ndim() == 3 && encoder_hidden_states.dim(0) == batch &&
                   encoder_hidden_states.dim(1) > 0 &&
                   dtype_is_float(encoder_hidden_states.dtype()),
               "UNet2DConditionModel: encoder_hidden_states ", encoder_hidden_states.describe(),
               " is not [", batch, ", L, D]");
  for (size_t i = 0; i < c.cross_attention_dim.size(); ++i) {
    const bool uses =
        c.down_block_types[i] == "CrossAttnDownBlock2D" ||
        c.up_block_types[c.cross_attention_dim.size() - 1 - i] == "CrossAttnUpBlock2D" ||
        (i + 1 == c.cross_attention_dim.size() && c.mid_block_type == "UNetMidBlock2DCrossAttn");
    SDFAST_CHECK(!uses || encoder_hidden_states.dim(2) == c.cross_attention_dim[i],
                 "UNet2DConditionModel: encoder_hidden_states ", encoder_hidden_states.describe(),
                 " has ", encoder_hidden_states.dim(2),
                 " features, the model's cross_attention_dim is ", c.cross_attention_dim[i]);
  }
  SDFAST_CHECK(timesteps.size() == 1 || int64_t(timesteps.size()) == batch,
               "UNet2DConditionModel: ", timesteps.size(), " timesteps for a batch of ", batch,
               " (give one, or one per sample)");
  // Sizes along the down path (a stride-2 3x3 convolution needs 3 pixels with its padding).
  for (int64_t size : {height, width}) {
    const int pad = (c.conv_in_kernel - 1) / 2;
    int64_t s = size + 2 * pad - c.conv_in_kernel + 1;
    SDFAST_CHECK(s >= 1, "UNet2DConditionModel: sample ", sample.describe(),
                 " is too small for conv_in (kernel ", c.conv_in_kernel, ")");
    for (int i = 0; i + 1 < c.num_blocks(); ++i) {
      const int64_t padded = s + 2 * c.downsample_padding + (c.downsample_padding == 0 ? 1 : 0);
      SDFAST_CHECK(padded >= 3, "UNet2DConditionModel: sample ", sample.describe(),
                   " is too small for ", c.num_blocks() - 1, " downsamplings");
      s = (padded - 3) / 2 + 1;
    }
  }

  // 0. center input, NCHW -> NHWC in the activation dtype.
  Tensor x;
  if (c.center_input_sample) {
    Tensor centered = sample.to(DType::F32).clone();
    for (float& v : centered.span<float>()) v = 2.0f * v - 1.0f;
    x = ops::nchw_to_nhwc(centered, rt.activation());
  } else {
    x = ops::nchw_to_nhwc(sample, rt.activation());
  }

  // 1. time
  std::vector<double> t = timesteps;
  if (t.size() == 1) t.assign(size_t(batch), timesteps[0]);
  Tensor emb = time_embedding_.forward(rt, time_proj_.forward(t), timestep_cond);  // [B, temb]
  if (!c.time_embedding_act_fn.empty()) emb = apply_activation(rt, emb, c.time_embedding_act_fn);
  const Tensor context = encoder_hidden_states.to(rt.activation());

  // 2. pre-process
  x = conv_in_.forward(rt, x);

  // 3. down (a DeepCache partial call runs the shallow prefix and appends the stored skips)
  const bool partial = cache != nullptr && !full;
  std::vector<Tensor> skips{x};
  if (!partial) {
    for (const auto& block : down_blocks_) x = block->forward(rt, x, emb, context, skips);
    if (cache != nullptr)
      cache->deep_skips.assign(skips.begin() + std::ptrdiff_t(cache->plan.fresh_skips), skips.end());
  } else {
    const DeepCachePlan& plan = cache->plan;
    for (int i = 0; i < plan.down_full_blocks; ++i)
      x = down_blocks_[size_t(i)]->forward(rt, x, emb, context, skips);
    if (plan.down_partial_layers > 0)
      x = down_blocks_[size_t(plan.down_full_blocks)]->forward_layers(rt, x, emb, context, skips,
                                                                      plan.down_partial_layers);
    SDFAST_CHECK(skips.size() == plan.fresh_skips, "UNet2DConditionModel: DeepCache plan expects ",
                 plan.fresh_skips, " fresh skip connections, the down path made ", skips.size());
    skips.insert(skips.end(), cache->deep_skips.begin(), cache->deep_skips.end());
  }

  // 4. mid (reused on partial calls: it is inside the stored up input)
  if (mid_block_ && !partial) x = mid_block_->forward(rt, x, emb, context);

  // 5. up: when the input size is not a multiple of the total downsampling, each upsampler is told
  // the size of the skip connection it meets next (Diffusers' forward_upsample_size).
  const int64_t factor = int64_t(1) << num_upsamplers_;
  const bool forward_upsample_size = height % factor != 0 || width % factor != 0;
  for (size_t i = 0; i < up_blocks_.size(); ++i) {
    const size_t take = size_t(up_blocks_[i]->num_resnets());
    SDFAST_CHECK(skips.size() >= take, "UNet2DConditionModel: up_blocks.", i, " needs ", take,
                 " skip connections, ", skips.size(), " left");
    int64_t up_h = 0, up_w = 0;
    if (i + 1 < up_blocks_.size() && forward_upsample_size && skips.size() > take) {
      const Tensor& next = skips[skips.size() - take - 1];
      up_h = next.dim(1);
      up_w = next.dim(2);
    }
    if (cache == nullptr || int(i) > cache->plan.up_block) {
      x = up_blocks_[i]->forward(rt, x, emb, context, skips, up_h, up_w);
      continue;
    }
    // DeepCache: up blocks before plan.up_block and the first resnets of that one are the deep
    // branch. A full call runs them and stores the hidden state where the shallow branch
    // resumes; a partial call drops their skip connections and resumes from the stored state.
    const int first = int(i) < cache->plan.up_block ? int(take) : cache->plan.up_first_layer;
    if (full) {
      x = up_blocks_[i]->forward_layers(rt, x, emb, context, skips, 0, first, up_h, up_w);
      if (int(i) == cache->plan.up_block) cache->up_input = x;
    } else {
      skips.resize(skips.size() - size_t(first));
      if (int(i) == cache->plan.up_block && !cache->plan.up_input_fresh) x = cache->up_input;
    }
    if (int(i) == cache->plan.up_block)
      x = up_blocks_[i]->forward_layers(rt, x, emb, context, skips, first, int(take), up_h, up_w);
  }

  // 6. post-process
  x = conv_norm_out_.forward(rt, x, /*silu=*/true);
  x = conv_out_.forward(rt, x);
  return ops::nhwc_to_nchw(x);
}

void UNet2DConditionModel::collect_layers(ops::LayerSet& out) {
  out.add(conv_in_);
  // Diffusers 0.26 runs time_embedding without the LoRA scale (TimestepEmbedding.forward).
  ops::LayerSet time_embedding;
  time_embedding_.collect_layers(time_embedding);
  out.add_unscaled(time_embedding);
  for (auto& b : down_blocks_) b->collect_layers(out);
  if (mid_block_) mid_block_->collect_layers(out);
  for (auto& b : up_blocks_) b->collect_layers(out);
  out.add(conv_out_);
}

}  // namespace sdfast::models
