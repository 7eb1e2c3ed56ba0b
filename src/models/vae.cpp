// Reference: diffusers/src/diffusers/models/autoencoders/vae.py (Encoder, Decoder with norm_type
// "group"; EncoderTiny, DecoderTiny).
#include "models/vae.h"

#include "ops/elementwise.h"

namespace sdfast::models {

namespace {
constexpr float kEps = 1e-6f;  // every norm in the VAE
}  // namespace

Encoder::Encoder(Runtime& rt, const Weights& w, const VaeCoderConfig& c) {
  const std::vector<int>& ch = c.block_out_channels;
  SDFAST_CHECK(!ch.empty(), "Encoder '", w.prefix(), "': no blocks");
  conv_in_ = ops::Conv2d(rt, w["conv_in"], {c.in_channels, ch[0], 3, 1, 1});
  int output_channel = ch[0];
  for (size_t i = 0; i < ch.size(); ++i) {
    DownEncoderBlock2DConfig bc;
    bc.in_channels = output_channel;
    bc.out_channels = output_channel = ch[i];
    bc.num_layers = c.layers_per_block;
    bc.resnet_groups = c.norm_num_groups;
    bc.resnet_eps = kEps;
    bc.add_downsample = i + 1 < ch.size();
    bc.downsample_padding = 0;
    down_blocks_.emplace_back(rt, w["down_blocks"][int64_t(i)], bc);
  }
  UNetMidBlock2DConfig mc;
  mc.in_channels = ch.back();
  mc.resnet_groups = c.norm_num_groups;
  mc.resnet_eps = kEps;
  mc.add_attention = c.mid_block_add_attention;
  mc.attention_head_dim = ch.back();
  mid_block_ = UNetMidBlock2D(rt, w["mid_block"], mc);
  conv_norm_out_ = ops::GroupNorm(w["conv_norm_out"], c.norm_num_groups, ch.back(), kEps);
  conv_out_ = ops::Conv2d(rt, w["conv_out"],
                          {ch.back(), c.double_z ? 2 * c.out_channels : c.out_channels, 3, 1, 1});
}

Tensor Encoder::forward(Runtime& rt, const Tensor& x) const {
  Tensor h = conv_in_.forward(rt, x);
  for (const DownEncoderBlock2D& block : down_blocks_) h = block.forward(rt, h);
  h = mid_block_.forward(rt, h);
  h = conv_norm_out_.forward(rt, h, /*silu=*/true);
  return conv_out_.forward(rt, h);
}

Decoder::Decoder(Runtime& rt, const Weights& w, const VaeCoderConfig& c) {
  const std::vector<int>& ch = c.block_out_channels;
  SDFAST_CHECK(!ch.empty(), "Decoder '", w.prefix(), "': no blocks");
  conv_in_ = ops::Conv2d(rt, w["conv_in"], {c.in_channels, ch.back(), 3, 1, 1});
  UNetMidBlock2DConfig mc;
  mc.in_channels = ch.back();
  mc.resnet_groups = c.norm_num_groups;
  mc.resnet_eps = kEps;
  mc.add_attention = c.mid_block_add_attention;
  mc.attention_head_dim = ch.back();
  mid_block_ = UNetMidBlock2D(rt, w["mid_block"], mc);
  int output_channel = ch.back();
  for (size_t i = 0; i < ch.size(); ++i) {
    UpDecoderBlock2DConfig bc;
    bc.in_channels = output_channel;
    bc.out_channels = output_channel = ch[ch.size() - 1 - i];
    bc.num_layers = c.layers_per_block + 1;
    bc.resnet_groups = c.norm_num_groups;
    bc.resnet_eps = kEps;
    bc.add_upsample = i + 1 < ch.size();
    up_blocks_.emplace_back(rt, w["up_blocks"][int64_t(i)], bc);
  }
  conv_norm_out_ = ops::GroupNorm(w["conv_norm_out"], c.norm_num_groups, ch[0], kEps);
  conv_out_ = ops::Conv2d(rt, w["conv_out"], {ch[0], c.out_channels, 3, 1, 1});
}

Tensor Decoder::forward(Runtime& rt, const Tensor& z) const {
  Tensor h = conv_in_.forward(rt, z);
  h = mid_block_.forward(rt, h);
  for (const UpDecoderBlock2D& block : up_blocks_) h = block.forward(rt, h);
  h = conv_norm_out_.forward(rt, h, /*silu=*/true);
  return conv_out_.forward(rt, h);
}

EncoderTiny::EncoderTiny(Runtime& rt, const Weights& w, const VaeTinyCoderConfig& c) {
  SDFAST_CHECK(!c.num_blocks.empty() && c.num_blocks.size() == c.block_out_channels.size(),
               "EncoderTiny '", w.prefix(), "': num_blocks and block_out_channels disagree");
  const Weights layers = w["layers"];
  int64_t index = 0;
  for (size_t i = 0; i < c.num_blocks.size(); ++i) {
    const int ch = c.block_out_channels[i];
    Stage stage;
    stage.conv = i == 0 ? ops::Conv2d(rt, layers[index++], {c.in_channels, ch, 3, 1, 1})
                        : ops::Conv2d(rt, layers[index++], {ch, ch, 3, 2, 1, 0, false});
    for (int b = 0; b < c.num_blocks[i]; ++b)
      stage.blocks.emplace_back(rt, layers[index++], ch, ch, c.act_fn);
    stages_.push_back(std::move(stage));
  }
  conv_out_ =
      ops::Conv2d(rt, layers[index], {c.block_out_channels.back(), c.out_channels, 3, 1, 1});
}

Tensor EncoderTiny::forward(Runtime& rt, const Tensor& x) const {
  Tensor h = ops::add_scaled(rt, x, Tensor::full({1}, 1.0f), 0.5f);  // [-1, 1] -> [0, 1]
  for (const Stage& stage : stages_) {
    h = stage.conv.forward(rt, h);
    for (const AutoencoderTinyBlock& block : stage.blocks) h = block.forward(rt, h);
  }
  return conv_out_.forward(rt, h);
}

DecoderTiny::DecoderTiny(Runtime& rt, const Weights& w, const VaeTinyCoderConfig& c)
    : act_fn_(c.act_fn), upsampling_scaling_factor_(c.upsampling_scaling_factor) {
  SDFAST_CHECK(!c.num_blocks.empty() && c.num_blocks.size() == c.block_out_channels.size(),
               "DecoderTiny '", w.prefix(), "': num_blocks and block_out_channels disagree");
  const Weights layers = w["layers"];
  conv_in_ = ops::Conv2d(rt, layers[0], {c.in_channels, c.block_out_channels[0], 3, 1, 1});
  int64_t index = 2;  // layers.1 is the activation
  for (size_t i = 0; i < c.num_blocks.size(); ++i) {
    const bool last = i + 1 == c.num_blocks.size();
    const int ch = c.block_out_channels[i];
    Stage stage;
    for (int b = 0; b < c.num_blocks[i]; ++b)
      stage.blocks.emplace_back(rt, layers[index++], ch, ch, c.act_fn);
    if (!last) ++index;  // nn.Upsample
    stage.conv =
        ops::Conv2d(rt, layers[index++], {ch, last ? c.out_channels : ch, 3, 1, 1, 0, last});
    stages_.push_back(std::move(stage));
  }
}

Tensor DecoderTiny::forward(Runtime& rt, const Tensor& z) const {
  Tensor h = ops::tanh_clamp(rt, z, 3.0f);
  h = apply_act_fn(rt, conv_in_.forward(rt, h), act_fn_);
  for (size_t i = 0; i < stages_.size(); ++i) {
    for (const AutoencoderTinyBlock& block : stages_[i].blocks) h = block.forward(rt, h);
    if (i + 1 < stages_.size())
      h = ops::upsample_nearest(rt, h, h.dim(1) * upsampling_scaling_factor_,
                                h.dim(2) * upsampling_scaling_factor_);
    h = stages_[i].conv.forward(rt, h);
  }
  return ops::add_scaled(rt, h, Tensor::full({1}, -0.5f), 2.0f);  // [0, 1] -> [-1, 1]
}

}  // namespace sdfast::models
