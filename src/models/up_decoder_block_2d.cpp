// Reference: diffusers/src/diffusers/models/unets/unet_2d_blocks.py (UpDecoderBlock2D).
#include "models/up_decoder_block_2d.h"

namespace sdfast::models {

UpDecoderBlock2D::UpDecoderBlock2D(Runtime& rt, const Weights& w, const UpDecoderBlock2DConfig& c)
    : add_upsample_(c.add_upsample) {
  for (int i = 0; i < c.num_layers; ++i) {
    ResnetBlock2DConfig rc;
    rc.in_channels = i == 0 ? c.in_channels : c.out_channels;
    rc.out_channels = c.out_channels;
    rc.groups = c.resnet_groups;
    rc.eps = c.resnet_eps;
    resnets_.emplace_back(rt, w["resnets"][i], rc);
  }
  if (c.add_upsample)
    upsampler_ = Upsample2D(rt, w["upsamplers"][0], c.out_channels, c.out_channels);
}

Tensor UpDecoderBlock2D::forward(Runtime& rt, const Tensor& x) const {
  Tensor h = x;
  for (const ResnetBlock2D& resnet : resnets_) h = resnet.forward(rt, h);
  if (add_upsample_) h = upsampler_.forward(rt, h);
  return h;
}

}  // namespace sdfast::models
