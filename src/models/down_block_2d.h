// Diffusers' DownBlock2D (unets/unet_2d_blocks.py): num_layers ResnetBlock2D, then an optional
// stride-2 Downsample2D.
#pragma once

#include <vector>

#include "models/downsampling.h"
#include "models/resnet_block_2d.h"
#include "models/unet_2d_blocks.h"

namespace sdfast::models {

class DownBlock2D final : public UNetDownBlock {
 public:
  // Weights under `w` ("down_blocks.i"): resnets.j, downsamplers.0.
  DownBlock2D(Runtime& rt, const Weights& w, const UNetBlockConfig& config);

  // x: [N, H, W, in] -> [N, H', W', out]; runs the first `layers` layers (resnet j, then the
  // downsampler), pushing one skip each. `context` is not used.
  Tensor forward_layers(Runtime& rt, const Tensor& x, const Tensor& temb, const Tensor& context,
                        std::vector<Tensor>& skips, int layers) const override;
  int num_resnets() const override { return int(resnets_.size()); }
  bool has_attentions() const override { return false; }
  bool has_downsampler() const override { return !downsamplers_.empty(); }
  void collect_layers(ops::LayerSet& out) override;

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Downsample2D> downsamplers_;  // empty or one
};

}  // namespace sdfast::models
