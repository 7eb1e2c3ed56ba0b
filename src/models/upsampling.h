// Diffusers' Upsample2D (upsampling.py): nearest-neighbour x2 (or to a given size) then 3x3 conv.
#pragma once

#include "ops/conv2d.h"

namespace sdfast::models {

class Upsample2D {
 public:
  Upsample2D() = default;
  // Weights under `w` ("upsamplers.0"): conv.weight/bias.
  Upsample2D(Runtime& rt, const Weights& w, int channels, int out_channels);
  // x: [N, H, W, C] -> [N, out_h, out_w, out]; out_h/out_w <= 0 means 2H x 2W.
  Tensor forward(Runtime& rt, const Tensor& x, int64_t out_h = 0, int64_t out_w = 0) const;
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  void collect_layers(ops::LayerSet& out);

 private:
  ops::Conv2d conv_;
};

}  // namespace sdfast::models
