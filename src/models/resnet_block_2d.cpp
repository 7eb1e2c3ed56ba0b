// Reference: diffusers/src/diffusers/models/resnet.py (ResnetBlock2D, time_embedding_norm "default").
#include "models/resnet_block_2d.h"

#include "ops/elementwise.h"

namespace sdfast::models {

ResnetBlock2D::ResnetBlock2D(Runtime& rt, const Weights& w, const ResnetBlock2DConfig& c) : config_(c) {
  if (config_.out_channels == 0) config_.out_channels = c.in_channels;
  if (config_.groups_out == 0) config_.groups_out = c.groups;
  const int in = c.in_channels, out = config_.out_channels;
  norm1_ = ops::GroupNorm(w["norm1"], c.groups, in, c.eps);
  conv1_ = ops::Conv2d(rt, w["conv1"], {in, out, 3, 1, 1});
  if (c.temb_channels > 0) time_emb_proj_ = ops::Linear(rt, w["time_emb_proj"], c.temb_channels, out);
  norm2_ = ops::GroupNorm(w["norm2"], config_.groups_out, out, c.eps);
  conv2_ = ops::Conv2d(rt, w["conv2"], {out, out, 3, 1, 1});
  has_shortcut_ = in != out;
  if (has_shortcut_) conv_shortcut_ = ops::Conv2d(rt, w["conv_shortcut"], {in, out, 1, 1, 0});
}

Tensor ResnetBlock2D::forward(Runtime& rt, const Tensor& x, const Tensor* temb) const {
  Tensor h = norm1_.forward(rt, x, /*silu=*/true, rt.compute());
  h = conv1_.forward(rt, h);
  if (config_.temb_channels > 0) {
    SDFAST_CHECK(temb != nullptr, "ResnetBlock2D: time embedding required");
    const Tensor t = time_emb_proj_.forward(rt, ops::silu(rt, *temb));  // [N, out]
    h = ops::add_channel_bias(rt, h, t);
  }
  h = norm2_.forward(rt, h, /*silu=*/true, rt.compute());
  const Tensor shortcut = has_shortcut_ ? conv_shortcut_.forward(rt, x) : x;
  Tensor out = conv2_.forward(rt, h, shortcut);  // conv2(h) + shortcut, fused
  if (config_.output_scale_factor != 1.0f) out = ops::scale(rt, out, 1.0f / config_.output_scale_factor);
  return out;
}

void ResnetBlock2D::collect_layers(ops::LayerSet& out) {
  out.add(conv1_);
  out.add(conv2_);
  out.add(conv_shortcut_);
  out.add(time_emb_proj_);
}

}  // namespace sdfast::models
