// Diffusers' Attention (attention_processor.py): multi-head self/cross attention with to_q, to_k,
// to_v, to_out.0, optional GroupNorm on the input and residual connection (the VAE's mid-block form).
#pragma once

#include "core/runtime.h"
#include "io/weights.h"
#include "ops/linear.h"
#include "ops/norm.h"

namespace sdfast::models {

struct AttentionConfig {
  int64_t query_dim = 0;
  int64_t cross_attention_dim = 0;  // 0: self-attention (keys/values from the query input)
  int heads = 8;
  int64_t dim_head = 64;
  bool bias = false;      // bias of to_q/to_k/to_v
  bool out_bias = true;   // bias of to_out.0
  int norm_num_groups = 0;  // > 0: GroupNorm over the input channels before the projections
  float eps = 1e-5f;
  bool residual_connection = false;  // output += input (before rescale)
  float rescale_output_factor = 1.0f;
};

class Attention {
 public:
  Attention() = default;
  Attention(Runtime& rt, const Weights& w, const AttentionConfig& config);

  // hidden: [B, L, query_dim] (or NHWC [B, H, W, query_dim]: treated as L = H*W tokens);
  // context: [B, Lc, cross_attention_dim] for cross-attention, nullptr for self-attention;
  // residual: added to the output projection (fused), [same shape as hidden].
  // Returns the shape of hidden.
  Tensor forward(Runtime& rt, const Tensor& hidden, const Tensor* context = nullptr,
                 const Tensor* residual = nullptr) const;
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  void collect_layers(ops::LayerSet& out);

 private:
  AttentionConfig config_;
  ops::GroupNorm group_norm_;
  ops::Linear to_q_, to_k_, to_v_, to_out_;
};

}  // namespace sdfast::models
