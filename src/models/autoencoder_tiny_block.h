// Diffusers' AutoencoderTinyBlock (unet_2d_blocks.py), TAESD's residual block:
// relu(conv(act(conv(act(conv(x))))) + skip(x)), skip a bias-free 1x1 conv when the channel count
// changes. Also the activations TAESD's act_fn may name (Diffusers' get_activation).
#pragma once

#include <optional>
#include <string>

#include "ops/conv2d.h"

namespace sdfast::models {

enum class ActFn { Relu, Silu, Gelu };

// Diffusers' get_activation names: "relu", "silu" / "swish", "gelu"; nullopt for anything else.
std::optional<ActFn> act_fn_from_name(const std::string& name);
// x -> act(x), in the runtime's activation dtype.
Tensor apply_act_fn(Runtime& rt, const Tensor& x, ActFn act);

class AutoencoderTinyBlock {
 public:
  AutoencoderTinyBlock() = default;
  // Weights under `w`: conv.0, conv.2, conv.4 (3x3 with bias), skip (1x1, no bias, when in != out).
  AutoencoderTinyBlock(Runtime& rt, const Weights& w, int in_channels, int out_channels, ActFn act);

  // x: [N, H, W, in] -> [N, H, W, out]
  Tensor forward(Runtime& rt, const Tensor& x) const;

 private:
  ActFn act_ = ActFn::Relu;
  ops::Conv2d conv0_, conv2_, conv4_, skip_;
  bool has_skip_ = false;
};

}  // namespace sdfast::models
