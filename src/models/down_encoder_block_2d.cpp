// Reference: diffusers/src/diffusers/models/unets/unet_2d_blocks.py (DownEncoderBlock2D).
#include "models/down_encoder_block_2d.h"

namespace sdfast::models {

DownEncoderBlock2D::DownEncoderBlock2D(Runtime& rt, const Weights& w,
                                       const DownEncoderBlock2DConfig& c)
    : add_downsample_(c.add_downsample) {
  for (int i = 0; i < c.num_layers; ++i) {
    ResnetBlock2DConfig rc;
    rc.in_channels = i == 0 ? c.in_channels : c.out_channels;
    rc.out_channels = c.out_channels;
    rc.groups = c.resnet_groups;
    rc.eps = c.resnet_eps;
    resnets_.emplace_back(rt, w["resnets"][i], rc);
  }
  if (c.add_downsample)
    downsampler_ = Downsample2D(rt, w["downsamplers"][0], c.out_channels, c.out_channels,
                                c.downsample_padding);
}

Tensor DownEncoderBlock2D::forward(Runtime& rt, const Tensor& x) const {
  Tensor h = x;
  for (const ResnetBlock2D& resnet : resnets_) h = resnet.forward(rt, h);
  if (add_downsample_) h = downsampler_.forward(rt, h);
  return h;
}

}  // namespace sdfast::models
