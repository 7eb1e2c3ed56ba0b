// Diffusers' BasicTransformerBlock (attention.py) in the configuration Transformer2DModel builds
// for the SD 1.x/2.x UNet: norm_type "layer_norm" (eps 1e-5, affine), no attention bias,
// activation "geglu", no positional embedding, no ada-norm.
//   x = attn1(norm1(x)) + x          self-attention (cross-attention when only_cross_attention)
//   x = attn2(norm2(x), context) + x cross-attention
//   x = ff(norm3(x)) + x
#pragma once

#include "core/runtime.h"
#include "io/weights.h"
#include "models/attention.h"
#include "models/feed_forward.h"
#include "ops/norm.h"

namespace sdfast::models {

struct BasicTransformerBlockConfig {
  int64_t dim = 0;
  int num_attention_heads = 0;
  int64_t attention_head_dim = 0;
  int64_t cross_attention_dim = 0;
  bool only_cross_attention = false;
  // Diffusers computes these scores/softmax in float32 when the model runs in half precision; the
  // engine's attention kernels always accumulate and normalise in float32, so this changes nothing.
  bool upcast_attention = false;
};

class BasicTransformerBlock {
 public:
  BasicTransformerBlock() = default;
  // Weights under `w` ("transformer_blocks.i"): norm1-3, attn1, attn2, ff.
  BasicTransformerBlock(Runtime& rt, const Weights& w, const BasicTransformerBlockConfig& config);

  // x: [B, L, dim]; context: [B, Lc, cross_attention_dim] -> [B, L, dim]
  Tensor forward(Runtime& rt, const Tensor& x, const Tensor& context) const;
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  void collect_layers(ops::LayerSet& out);

 private:
  BasicTransformerBlockConfig config_;
  ops::LayerNorm norm1_, norm2_, norm3_;
  Attention attn1_, attn2_;
  FeedForward ff_;
};

}  // namespace sdfast::models
