// Reference: diffusers/src/diffusers/models/unets/unet_2d_blocks.py (AutoencoderTinyBlock),
// diffusers/src/diffusers/models/activations.py (get_activation).
#include "models/autoencoder_tiny_block.h"

#include "ops/elementwise.h"

namespace sdfast::models {

std::optional<ActFn> act_fn_from_name(const std::string& name) {
  if (name == "relu") return ActFn::Relu;
  if (name == "silu" || name == "swish") return ActFn::Silu;
  if (name == "gelu") return ActFn::Gelu;
  return std::nullopt;
}

Tensor apply_act_fn(Runtime& rt, const Tensor& x, ActFn act) {
  switch (act) {
    case ActFn::Relu:
      return ops::relu(rt, x);
    case ActFn::Silu:
      return ops::silu(rt, x);
    case ActFn::Gelu:
      return ops::gelu(rt, x);
  }
  fail("apply_act_fn: unknown activation");
}

AutoencoderTinyBlock::AutoencoderTinyBlock(Runtime& rt, const Weights& w, int in_channels,
                                           int out_channels, ActFn act)
    : act_(act), has_skip_(in_channels != out_channels) {
  const Weights conv = w["conv"];
  conv0_ = ops::Conv2d(rt, conv[0], {in_channels, out_channels, 3, 1, 1});
  conv2_ = ops::Conv2d(rt, conv[2], {out_channels, out_channels, 3, 1, 1});
  conv4_ = ops::Conv2d(rt, conv[4], {out_channels, out_channels, 3, 1, 1});
  if (has_skip_) skip_ = ops::Conv2d(rt, w["skip"], {in_channels, out_channels, 1, 1, 0, 0, false});
}

Tensor AutoencoderTinyBlock::forward(Runtime& rt, const Tensor& x) const {
  Tensor h = apply_act_fn(rt, conv0_.forward(rt, x), act_);
  h = apply_act_fn(rt, conv2_.forward(rt, h), act_);
  h = conv4_.forward(rt, h, has_skip_ ? skip_.forward(rt, x) : x);  // conv(x) + skip(x), fused
  return ops::relu(rt, h);                                          // fuse: always ReLU
}

}  // namespace sdfast::models
