// Diffusers' Downsample2D (downsampling.py): stride-2 3x3 convolution; padding 0 means F.pad(0,1,0,1)
// first (the VAE encoder's form).
#pragma once

#include "ops/conv2d.h"

namespace sdfast::models {

class Downsample2D {
 public:
  Downsample2D() = default;
  // Weights under `w` ("downsamplers.0"): conv.weight/bias.
  Downsample2D(Runtime& rt, const Weights& w, int channels, int out_channels, int padding);
  // x: [N, H, W, C] -> [N, ceil-ish(H/2), ., out]
  Tensor forward(Runtime& rt, const Tensor& x) const { return conv_.forward(rt, x); }
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  void collect_layers(ops::LayerSet& out);

 private:
  ops::Conv2d conv_;
};

}  // namespace sdfast::models
