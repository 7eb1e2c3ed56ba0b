// Diffusers' UNetMidBlock2D (unets/unet_2d_blocks.py) as UNet2DConditionModel builds it for
// mid_block_type "UNetMidBlock2D": num_layers 0 and add_attention False, i.e. one ResnetBlock2D
// with the mid block's output scale factor, channels unchanged.
#pragma once

#include "models/resnet_block_2d.h"
#include "models/unet_2d_blocks.h"

namespace sdfast::models {

class UNetMidBlock2D final : public UNetMidBlock {
 public:
  // Weights under `w` ("mid_block"): resnets.0.
  UNetMidBlock2D(Runtime& rt, const Weights& w, const UNetBlockConfig& config);

  // x: [N, H, W, C] -> [N, H, W, C]; `context` is not used.
  Tensor forward(Runtime& rt, const Tensor& x, const Tensor& temb,
                 const Tensor& context) const override;

 private:
  ResnetBlock2D resnet_;
};

}  // namespace sdfast::models
