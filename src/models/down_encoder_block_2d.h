// Diffusers' DownEncoderBlock2D (unet_2d_blocks.py): the VAE encoder's stage, ResnetBlock2Ds
// without time embedding, then an optional stride-2 Downsample2D.
#pragma once

#include <vector>

#include "models/downsampling.h"
#include "models/resnet_block_2d.h"

namespace sdfast::models {

struct DownEncoderBlock2DConfig {
  int in_channels = 0;
  int out_channels = 0;
  int num_layers = 1;
  int resnet_groups = 32;
  float resnet_eps = 1e-6f;
  bool add_downsample = true;
  int downsample_padding = 1;
};

class DownEncoderBlock2D {
 public:
  DownEncoderBlock2D() = default;
  // Weights under `w`: resnets.{i}.*, downsamplers.0.conv.*
  DownEncoderBlock2D(Runtime& rt, const Weights& w, const DownEncoderBlock2DConfig& config);

  // x: [N, H, W, in] -> [N, H', W', out] (H' = H/2 rounded as the convolution does when
  // downsampling, else H)
  Tensor forward(Runtime& rt, const Tensor& x) const;

 private:
  std::vector<ResnetBlock2D> resnets_;
  Downsample2D downsampler_;
  bool add_downsample_ = false;
};

}  // namespace sdfast::models
