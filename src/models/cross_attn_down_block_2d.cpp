// Reference: diffusers/src/diffusers/models/unets/unet_2d_blocks.py (CrossAttnDownBlock2D),
// v0.26.3.
#include "models/cross_attn_down_block_2d.h"

namespace sdfast::models {

CrossAttnDownBlock2D::CrossAttnDownBlock2D(Runtime& rt, const Weights& w,
                                           const UNetBlockConfig& c) {
  for (int i = 0; i < c.num_layers; ++i) {
    const int in = i == 0 ? c.in_channels : c.out_channels;
    resnets_.emplace_back(rt, w["resnets"][i], block_resnet_config(c, in, c.out_channels));
    attentions_.emplace_back(rt, w["attentions"][i], block_transformer_config(c, c.out_channels));
  }
  if (c.add_sample)
    downsamplers_.emplace_back(rt, w["downsamplers"][0], c.out_channels, c.out_channels,
                               c.downsample_padding);
}

Tensor CrossAttnDownBlock2D::forward_layers(Runtime& rt, const Tensor& x, const Tensor& temb,
                                            const Tensor& context, std::vector<Tensor>& skips,
                                            int layers) const {
  Tensor h = x;
  for (size_t i = 0; i < resnets_.size() && int(i) < layers; ++i) {
    h = resnets_[i].forward(rt, h, &temb);
    h = attentions_[i].forward(rt, h, context);
    skips.push_back(h);
  }
  if (layers <= num_resnets()) return h;
  for (const Downsample2D& down : downsamplers_) {
    h = down.forward(rt, h);
    skips.push_back(h);
  }
  return h;
}

void CrossAttnDownBlock2D::collect_layers(ops::LayerSet& out) {
  for (auto& r : resnets_) r.collect_layers(out);
  for (auto& a : attentions_) a.collect_layers(out);
  for (auto& d : downsamplers_) d.collect_layers(out);
}

}  // namespace sdfast::models
