// Reference: diffusers/src/diffusers/models/unets/unet_2d_blocks.py (UNetMidBlock2D) and
// unets/unet_2d_condition.py (mid_block_type "UNetMidBlock2D": num_layers=0, add_attention=False),
// v0.26.3.
#include "models/unet_mid_block_2d.h"

namespace sdfast::models {

UNetMidBlock2D::UNetMidBlock2D(Runtime& rt, const Weights& w, const UNetBlockConfig& c)
    : resnet_(rt, w["resnets"][0], block_resnet_config(c, c.in_channels, c.in_channels)) {}

Tensor UNetMidBlock2D::forward(Runtime& rt, const Tensor& x, const Tensor& temb,
                               const Tensor& /*context*/) const {
  return resnet_.forward(rt, x, &temb);
}

}  // namespace sdfast::models
