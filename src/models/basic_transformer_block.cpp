// Reference: diffusers/src/diffusers/models/attention.py (BasicTransformerBlock, norm_type
// "layer_norm"), v0.26.3.
#include "models/basic_transformer_block.h"

#include "core/error.h"

namespace sdfast::models {

BasicTransformerBlock::BasicTransformerBlock(Runtime& rt, const Weights& w,
                                             const BasicTransformerBlockConfig& c)
    : config_(c) {
  SDFAST_CHECK(c.dim > 0 && c.num_attention_heads > 0 && c.attention_head_dim > 0 &&
                   c.cross_attention_dim > 0,
               "BasicTransformerBlock '", w.prefix(), "': invalid dimensions (dim ", c.dim,
               ", heads ", c.num_attention_heads, ", head dim ", c.attention_head_dim,
               ", cross_attention_dim ", c.cross_attention_dim, ")");
  constexpr float kNormEps = 1e-5f;
  AttentionConfig attn;
  attn.query_dim = c.dim;
  attn.heads = c.num_attention_heads;
  attn.dim_head = c.attention_head_dim;
  attn.bias = false;
  attn.out_bias = true;

  norm1_ = ops::LayerNorm(w["norm1"], c.dim, kNormEps);
  AttentionConfig attn1 = attn;
  attn1.cross_attention_dim = c.only_cross_attention ? c.cross_attention_dim : 0;
  attn1_ = Attention(rt, w["attn1"], attn1);

  norm2_ = ops::LayerNorm(w["norm2"], c.dim, kNormEps);
  AttentionConfig attn2 = attn;
  attn2.cross_attention_dim = c.cross_attention_dim;
  attn2_ = Attention(rt, w["attn2"], attn2);

  norm3_ = ops::LayerNorm(w["norm3"], c.dim, kNormEps);
  ff_ = FeedForward(rt, w["ff"], c.dim);
}

Tensor BasicTransformerBlock::forward(Runtime& rt, const Tensor& x, const Tensor& context) const {
  Tensor h = attn1_.forward(rt, norm1_.forward(rt, x, rt.compute()),
                            config_.only_cross_attention ? &context : nullptr, &x);
  h = attn2_.forward(rt, norm2_.forward(rt, h, rt.compute()), &context, &h);
  return ff_.forward(rt, norm3_.forward(rt, h, rt.compute()), &h);
}

void BasicTransformerBlock::collect_layers(ops::LayerSet& out) {
  attn1_.collect_layers(out);
  attn2_.collect_layers(out);
  ff_.collect_layers(out);
}

}  // namespace sdfast::models
