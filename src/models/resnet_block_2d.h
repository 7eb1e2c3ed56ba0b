// Diffusers' ResnetBlock2D (resnet.py): GroupNorm-SiLU-Conv twice, time embedding added in between,
// 1x1 conv shortcut when the channel count changes.
#pragma once

#include "core/runtime.h"
#include "io/weights.h"
#include "ops/conv2d.h"
#include "ops/linear.h"
#include "ops/norm.h"

namespace sdfast::models {

struct ResnetBlock2DConfig {
  int in_channels = 0;
  int out_channels = 0;  // 0: same as in_channels
  int temb_channels = 0;  // 0: no time embedding (VAE)
  int groups = 32;
  int groups_out = 0;  // 0: same as groups
  float eps = 1e-6f;
  float output_scale_factor = 1.0f;
};

class ResnetBlock2D {
 public:
  ResnetBlock2D() = default;
  ResnetBlock2D(Runtime& rt, const Weights& w, const ResnetBlock2DConfig& config);

  // x: [N, H, W, in] NHWC; temb: [N, temb_channels] (nullptr when temb_channels == 0)
  // -> [N, H, W, out]
  Tensor forward(Runtime& rt, const Tensor& x, const Tensor* temb = nullptr) const;
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  void collect_layers(ops::LayerSet& out);
  int out_channels() const { return config_.out_channels; }

 private:
  ResnetBlock2DConfig config_;
  ops::GroupNorm norm1_, norm2_;
  ops::Conv2d conv1_, conv2_, conv_shortcut_;
  ops::Linear time_emb_proj_;
  bool has_shortcut_ = false;
};

}  // namespace sdfast::models
