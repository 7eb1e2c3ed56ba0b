// Diffusers' UpDecoderBlock2D (unet_2d_blocks.py): the VAE decoder's stage, ResnetBlock2Ds
// without time embedding, then an optional nearest-x2 Upsample2D.
#pragma once

#include <vector>

#include "models/resnet_block_2d.h"
#include "models/upsampling.h"

namespace sdfast::models {

struct UpDecoderBlock2DConfig {
  int in_channels = 0;
  int out_channels = 0;
  int num_layers = 1;
  int resnet_groups = 32;
  float resnet_eps = 1e-6f;
  bool add_upsample = true;
};

class UpDecoderBlock2D {
 public:
  UpDecoderBlock2D() = default;
  // Weights under `w`: resnets.{i}.*, upsamplers.0.conv.*
  UpDecoderBlock2D(Runtime& rt, const Weights& w, const UpDecoderBlock2DConfig& config);

  // x: [N, H, W, in] -> [N, 2H, 2W, out] when upsampling, else [N, H, W, out]
  Tensor forward(Runtime& rt, const Tensor& x) const;

 private:
  std::vector<ResnetBlock2D> resnets_;
  Upsample2D upsampler_;
  bool add_upsample_ = false;
};

}  // namespace sdfast::models
