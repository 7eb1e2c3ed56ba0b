// Diffusers' UNetMidBlock2D (unet_2d_blocks.py): ResnetBlock2D, then (attention, ResnetBlock2D) x
// num_layers, where the attention is Diffusers' Attention with GroupNorm on its input and a residual
// connection. The VAE uses it without time embedding; UNet2DConditionModel's mid_block_type
// "UNetMidBlock2D" uses it with time embedding, num_layers 0 and no attention.
#pragma once

#include <vector>

#include "models/attention.h"
#include "models/resnet_block_2d.h"

namespace sdfast::models {

struct UNetMidBlock2DConfig {
  int in_channels = 0;
  int num_layers = 1;
  int resnet_groups = 32;
  float resnet_eps = 1e-6f;
  bool add_attention = true;
  int attention_head_dim = 0;  // channels per head; 0: in_channels (one head, the VAE's form)
  float output_scale_factor = 1.0f;
  int temb_channels = 0;  // 0: no time embedding (the VAE's form)
};

class UNetMidBlock2D {
 public:
  UNetMidBlock2D() = default;
  // Weights under `w`: resnets.{i}.*, attentions.{i}.{group_norm,to_q,to_k,to_v,to_out.0}.*
  UNetMidBlock2D(Runtime& rt, const Weights& w, const UNetMidBlock2DConfig& config);

  // x: [N, H, W, C] -> [N, H, W, C]; temb: [N, temb_channels] when temb_channels > 0.
  Tensor forward(Runtime& rt, const Tensor& x, const Tensor* temb = nullptr) const;
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  void collect_layers(ops::LayerSet& out);

 private:
  std::vector<ResnetBlock2D> resnets_;  // num_layers + 1
  std::vector<Attention> attentions_;   // num_layers, or none without attention
};

}  // namespace sdfast::models
