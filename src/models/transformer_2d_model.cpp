// Reference: diffusers/src/diffusers/models/transformers/transformer_2d.py (Transformer2DModel,
// is_input_continuous), v0.26.3.
#include "models/transformer_2d_model.h"

#include "core/error.h"

namespace sdfast::models {

namespace {

// A 1x1 convolution (weight [out, in, 1, 1]) or a Linear layer (weight [out, in]) as a Linear.
ops::Linear projection(Runtime& rt, const Weights& w, int64_t in, int64_t out, bool linear) {
  if (linear) return ops::Linear(rt, w, in, out);
  Tensor weight = w.get("weight", {out, in, 1, 1}, rt.weights()).reshape({out, in});
  return ops::Linear(rt, std::move(weight), w.get("bias", {out}, DType::F32), w.prefix());
}

}  // namespace

Transformer2DModel::Transformer2DModel(Runtime& rt, const Weights& w,
                                       const Transformer2DModelConfig& c)
    : config_(c) {
  SDFAST_CHECK(c.num_attention_heads > 0 && c.attention_head_dim > 0 && c.in_channels > 0 &&
                   c.num_layers >= 0 && c.cross_attention_dim > 0,
               "Transformer2DModel '", w.prefix(), "': invalid dimensions (heads ",
               c.num_attention_heads, ", head dim ", c.attention_head_dim, ", in_channels ",
               c.in_channels, ", layers ", c.num_layers, ", cross_attention_dim ",
               c.cross_attention_dim, ")");
  const int64_t inner = c.num_attention_heads * c.attention_head_dim;
  norm_ = ops::GroupNorm(w["norm"], c.norm_num_groups, int(c.in_channels), 1e-6f);
  proj_in_ = projection(rt, w["proj_in"], c.in_channels, inner, c.use_linear_projection);
  BasicTransformerBlockConfig block;
  block.dim = inner;
  block.num_attention_heads = c.num_attention_heads;
  block.attention_head_dim = c.attention_head_dim;
  block.cross_attention_dim = c.cross_attention_dim;
  block.only_cross_attention = c.only_cross_attention;
  block.upcast_attention = c.upcast_attention;
  transformer_blocks_.reserve(size_t(c.num_layers));
  for (int i = 0; i < c.num_layers; ++i)
    transformer_blocks_.emplace_back(rt, w["transformer_blocks"][i], block);
  proj_out_ = projection(rt, w["proj_out"], inner, c.in_channels, c.use_linear_projection);
}

Tensor Transformer2DModel::forward(Runtime& rt, const Tensor& x, const Tensor& context) const {
  SDFAST_CHECK(x.ndim() == 4 && x.dim(3) == config_.in_channels, "Transformer2DModel: input ",
               x.describe(), " is not NHWC with ", config_.in_channels, " channels");
  SDFAST_CHECK(context.ndim() == 3 && context.dim(0) == x.dim(0) &&
                   context.dim(2) == config_.cross_attention_dim,
               "Transformer2DModel: encoder_hidden_states ", context.describe(), " is not [",
               x.dim(0), ", L, ", config_.cross_attention_dim, "]");
  const int64_t n = x.dim(0), tokens = x.dim(1) * x.dim(2);
  Tensor h = norm_.forward(rt, x, false, rt.compute());
  h = proj_in_.forward(rt, h.reshape({n, tokens, config_.in_channels}));  // [N, HW, inner]
  for (const BasicTransformerBlock& block : transformer_blocks_) h = block.forward(rt, h, context);
  return proj_out_.forward(rt, h, x.reshape({n, tokens, config_.in_channels})).reshape(x.shape());
}

void Transformer2DModel::collect_layers(ops::LayerSet& out) {
  out.add(proj_in_);
  out.add(proj_out_);
  for (auto& b : transformer_blocks_) b.collect_layers(out);
}

}  // namespace sdfast::models
