// Diffusers' Transformer2DModel (transformers/transformer_2d.py), continuous input, as the UNet's
// cross-attention blocks build it:
//   h = GroupNorm(norm_num_groups, eps 1e-6)(x) -> proj_in -> BasicTransformerBlock x num_layers
//   -> proj_out, + x
// proj_in/proj_out are 1x1 convolutions (weights [out, in, 1, 1]) or, with use_linear_projection
// (SD 2.x), Linear layers (weights [out, in]); on NHWC activations both are the same matmul over
// the channels, so [N, H, W, C] is used directly as [N, H*W, C] tokens, with no transposes.
#pragma once

#include <vector>

#include "core/runtime.h"
#include "io/weights.h"
#include "models/basic_transformer_block.h"
#include "ops/linear.h"
#include "ops/norm.h"

namespace sdfast::models {

struct Transformer2DModelConfig {
  int num_attention_heads = 16;
  int64_t attention_head_dim = 88;  // inner_dim = heads * head_dim (may differ from in_channels)
  int64_t in_channels = 0;
  int num_layers = 1;
  int64_t cross_attention_dim = 0;
  int norm_num_groups = 32;
  bool use_linear_projection = false;
  bool only_cross_attention = false;
  bool upcast_attention = false;
};

class Transformer2DModel {
 public:
  Transformer2DModel() = default;
  // Weights under `w` ("attentions.i"): norm, proj_in, transformer_blocks.j, proj_out.
  Transformer2DModel(Runtime& rt, const Weights& w, const Transformer2DModelConfig& config);

  // x: [N, H, W, in_channels] NHWC; context: [N, L, cross_attention_dim] -> [N, H, W, in_channels]
  Tensor forward(Runtime& rt, const Tensor& x, const Tensor& context) const;
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  void collect_layers(ops::LayerSet& out);

 private:
  Transformer2DModelConfig config_;
  ops::GroupNorm norm_;
  ops::Linear proj_in_, proj_out_;
  std::vector<BasicTransformerBlock> transformer_blocks_;
};

}  // namespace sdfast::models
