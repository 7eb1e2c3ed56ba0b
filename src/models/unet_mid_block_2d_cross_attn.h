// Diffusers' UNetMidBlock2DCrossAttn (unets/unet_2d_blocks.py) with num_layers 1, as the UNet
// builds it: ResnetBlock2D -> Transformer2DModel -> ResnetBlock2D, channels unchanged.
#pragma once

#include <vector>

#include "models/resnet_block_2d.h"
#include "models/transformer_2d_model.h"
#include "models/unet_2d_blocks.h"

namespace sdfast::models {

class UNetMidBlock2DCrossAttn final : public UNetMidBlock {
 public:
  // Weights under `w` ("mid_block"): resnets.0-1, attentions.0. c.num_layers is the number of
  // attention/resnet pairs after the first resnet (Diffusers' num_layers, 1 in the UNet).
  UNetMidBlock2DCrossAttn(Runtime& rt, const Weights& w, const UNetBlockConfig& config);

  // x: [N, H, W, C] -> [N, H, W, C]
  Tensor forward(Runtime& rt, const Tensor& x, const Tensor& temb,
                 const Tensor& context) const override;
  void collect_layers(ops::LayerSet& out) override;

 private:
  std::vector<ResnetBlock2D> resnets_;  // num_layers + 1
  std::vector<Transformer2DModel> attentions_;
};

}  // namespace sdfast::models
