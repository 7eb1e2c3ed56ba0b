// Reference: diffusers/src/diffusers/models/unets/unet_2d_blocks.py (UNetMidBlock2DCrossAttn),
// v0.26.3.
#include "models/unet_mid_block_2d_cross_attn.h"

namespace sdfast::models {

UNetMidBlock2DCrossAttn::UNetMidBlock2DCrossAttn(Runtime& rt, const Weights& w,
                                                 const UNetBlockConfig& c) {
  const int ch = c.in_channels;
  resnets_.emplace_back(rt, w["resnets"][0], block_resnet_config(c, ch, ch));
  for (int i = 0; i < c.num_layers; ++i) {
    attentions_.emplace_back(rt, w["attentions"][i], block_transformer_config(c, ch));
    resnets_.emplace_back(rt, w["resnets"][i + 1], block_resnet_config(c, ch, ch));
  }
}

Tensor UNetMidBlock2DCrossAttn::forward(Runtime& rt, const Tensor& x, const Tensor& temb,
                                        const Tensor& context) const {
  Tensor h = resnets_[0].forward(rt, x, &temb);
  for (size_t i = 0; i < attentions_.size(); ++i) {
    h = attentions_[i].forward(rt, h, context);
    h = resnets_[i + 1].forward(rt, h, &temb);
  }
  return h;
}

void UNetMidBlock2DCrossAttn::collect_layers(ops::LayerSet& out) {
  for (auto& r : resnets_) r.collect_layers(out);
  for (auto& a : attentions_) a.collect_layers(out);
}

}  // namespace sdfast::models
