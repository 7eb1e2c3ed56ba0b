// Reference: diffusers/src/diffusers/models/unets/unet_2d_blocks.py (UNetMidBlock2D,
// resnet_time_scale_shift "default").
#include "models/unet_mid_block_2d.h"

namespace sdfast::models {

UNetMidBlock2D::UNetMidBlock2D(Runtime& rt, const Weights& w, const UNetMidBlock2DConfig& c) {
  const int head_dim = c.attention_head_dim > 0 ? c.attention_head_dim : c.in_channels;
  SDFAST_CHECK(c.in_channels % head_dim == 0, "UNetMidBlock2D '", w.prefix(), "': ", c.in_channels,
               " channels cannot be split into heads of ", head_dim);
  ResnetBlock2DConfig rc;
  rc.in_channels = c.in_channels;
  rc.out_channels = c.in_channels;
  rc.groups = c.resnet_groups;
  rc.eps = c.resnet_eps;
  rc.output_scale_factor = c.output_scale_factor;
  rc.temb_channels = c.temb_channels;
  resnets_.emplace_back(rt, w["resnets"][0], rc);
  for (int i = 0; i < c.num_layers; ++i) {
    if (c.add_attention) {
      AttentionConfig ac;
      ac.query_dim = c.in_channels;
      ac.heads = c.in_channels / head_dim;
      ac.dim_head = head_dim;
      ac.bias = true;
      ac.out_bias = true;
      ac.norm_num_groups = c.resnet_groups;
      ac.eps = c.resnet_eps;
      ac.residual_connection = true;
      ac.rescale_output_factor = c.output_scale_factor;
      attentions_.emplace_back(rt, w["attentions"][i], ac);
    }
    resnets_.emplace_back(rt, w["resnets"][i + 1], rc);
  }
}

Tensor UNetMidBlock2D::forward(Runtime& rt, const Tensor& x, const Tensor* temb) const {
  Tensor h = resnets_[0].forward(rt, x, temb);
  for (size_t i = 1; i < resnets_.size(); ++i) {
    if (!attentions_.empty()) h = attentions_[i - 1].forward(rt, h);
    h = resnets_[i].forward(rt, h, temb);
  }
  return h;
}

void UNetMidBlock2D::collect_layers(ops::LayerSet& out) {
  for (auto& r : resnets_) r.collect_layers(out);
  for (auto& a : attentions_) a.collect_layers(out);
}

}  // namespace sdfast::models
