// Reference: diffusers/src/diffusers/models/unets/unet_2d_blocks.py (CrossAttnUpBlock2D),
// v0.26.3.
#include "models/cross_attn_up_block_2d.h"

#include <algorithm>

#include "ops/elementwise.h"

namespace sdfast::models {

CrossAttnUpBlock2D::CrossAttnUpBlock2D(Runtime& rt, const Weights& w, const UNetBlockConfig& c) {
  for (int i = 0; i < c.num_layers; ++i) {
    const int res_skip = i == c.num_layers - 1 ? c.in_channels : c.out_channels;
    const int resnet_in = i == 0 ? c.prev_output_channel : c.out_channels;
    resnets_.emplace_back(rt, w["resnets"][i],
                          block_resnet_config(c, resnet_in + res_skip, c.out_channels));
    attentions_.emplace_back(rt, w["attentions"][i], block_transformer_config(c, c.out_channels));
  }
  if (c.add_sample)
    upsamplers_.emplace_back(rt, w["upsamplers"][0], c.out_channels, c.out_channels);
}

Tensor CrossAttnUpBlock2D::forward_layers(Runtime& rt, const Tensor& x, const Tensor& temb,
                                          const Tensor& context, std::vector<Tensor>& skips,
                                          int first, int end, int64_t upsample_h,
                                          int64_t upsample_w) const {
  Tensor h = x;
  for (int i = std::max(first, 0); i < end && i < num_resnets(); ++i) {
    h = ops::concat_last(rt, h, pop_skip(skips, h));
    h = resnets_[size_t(i)].forward(rt, h, &temb);
    h = attentions_[size_t(i)].forward(rt, h, context);
  }
  if (end < num_resnets()) return h;
  for (const Upsample2D& up : upsamplers_) h = up.forward(rt, h, upsample_h, upsample_w);
  return h;
}

void CrossAttnUpBlock2D::collect_layers(ops::LayerSet& out) {
  for (auto& r : resnets_) r.collect_layers(out);
  for (auto& a : attentions_) a.collect_layers(out);
  for (auto& u : upsamplers_) u.collect_layers(out);
}

}  // namespace sdfast::models
