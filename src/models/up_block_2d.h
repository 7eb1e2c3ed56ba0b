// Diffusers' UpBlock2D (unets/unet_2d_blocks.py): num_layers x (concat skip -> ResnetBlock2D),
// then an optional Upsample2D (nearest x2, or to the next skip connection's size).
#pragma once

#include <vector>

#include "models/resnet_block_2d.h"
#include "models/unet_2d_blocks.h"
#include "models/upsampling.h"

namespace sdfast::models {

class UpBlock2D final : public UNetUpBlock {
 public:
  // Weights under `w` ("up_blocks.i"): resnets.j, upsamplers.0. Resnet j takes
  // (j == 0 ? prev_output_channel : out_channels) + (j == last ? in_channels : out_channels).
  UpBlock2D(Runtime& rt, const Weights& w, const UNetBlockConfig& config);

  // x: resnet `first`'s input ([N, H, W, prev_output_channel] when first == 0) -> [N, H', W', out];
  // `context` is not used.
  Tensor forward_layers(Runtime& rt, const Tensor& x, const Tensor& temb, const Tensor& context,
                        std::vector<Tensor>& skips, int first, int end, int64_t upsample_h,
                        int64_t upsample_w) const override;
  void collect_layers(ops::LayerSet& out) override;
  int num_resnets() const override { return int(resnets_.size()); }
  bool has_attentions() const override { return false; }
  bool has_upsampler() const override { return !upsamplers_.empty(); }

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Upsample2D> upsamplers_;  // empty or one
};

}  // namespace sdfast::models
