// Diffusers' Encoder and Decoder (autoencoders/vae.py): the two halves of AutoencoderKL.
//
// Encoder: conv_in -> DownEncoderBlock2D x n (stride-2 downsampling after all but the last)
//          -> UNetMidBlock2D -> GroupNorm+SiLU -> conv_out (2 x latent channels with double_z).
// Decoder: conv_in -> UNetMidBlock2D -> UpDecoderBlock2D x n (layers_per_block + 1 resnets,
//          nearest x2 upsampling after all but the last) -> GroupNorm+SiLU -> conv_out.
// And their TAESD counterparts EncoderTiny and DecoderTiny (AutoencoderTiny's halves), plain
// sequences of convolutions and AutoencoderTinyBlocks stored as `layers.{i}`.
#pragma once

#include <vector>

#include "models/autoencoder_tiny_block.h"
#include "models/down_encoder_block_2d.h"
#include "models/unet_mid_block_2d.h"
#include "models/up_decoder_block_2d.h"
#include "ops/conv2d.h"
#include "ops/norm.h"

namespace sdfast::models {

// The arguments AutoencoderKL passes to Encoder and Decoder (already validated there).
struct VaeCoderConfig {
  int in_channels = 3;
  int out_channels = 3;
  std::vector<int> block_out_channels;
  int layers_per_block = 2;
  int norm_num_groups = 32;
  bool double_z = true;  // Encoder only: conv_out gives mean and logvar
  bool mid_block_add_attention = true;
};

class Encoder {
 public:
  Encoder() = default;
  // Weights under `w` ("encoder"): conv_in, down_blocks.{i}, mid_block, conv_norm_out, conv_out.
  Encoder(Runtime& rt, const Weights& w, const VaeCoderConfig& config);

  // x: [N, H, W, in_channels] -> [N, H/2^(n-1), W/2^(n-1), (2x) out_channels]
  Tensor forward(Runtime& rt, const Tensor& x) const;

 private:
  ops::Conv2d conv_in_, conv_out_;
  std::vector<DownEncoderBlock2D> down_blocks_;
  UNetMidBlock2D mid_block_;
  ops::GroupNorm conv_norm_out_;
};

class Decoder {
 public:
  Decoder() = default;
  // Weights under `w` ("decoder"): conv_in, mid_block, up_blocks.{i}, conv_norm_out, conv_out.
  Decoder(Runtime& rt, const Weights& w, const VaeCoderConfig& config);

  // z: [N, h, w, in_channels] -> [N, h*2^(n-1), w*2^(n-1), out_channels]
  Tensor forward(Runtime& rt, const Tensor& z) const;

 private:
  ops::Conv2d conv_in_, conv_out_;
  UNetMidBlock2D mid_block_;
  std::vector<UpDecoderBlock2D> up_blocks_;
  ops::GroupNorm conv_norm_out_;
};

// The arguments AutoencoderTiny passes to EncoderTiny and DecoderTiny (already validated there:
// all stages have the same channel count, as the stage convolutions map it to itself).
struct VaeTinyCoderConfig {
  int in_channels = 3;
  int out_channels = 4;
  std::vector<int> num_blocks;          // AutoencoderTinyBlocks per stage
  std::vector<int> block_out_channels;  // channels per stage
  ActFn act_fn = ActFn::Relu;
  int upsampling_scaling_factor = 2;  // DecoderTiny only (nearest)
};

class EncoderTiny {
 public:
  EncoderTiny() = default;
  // Weights under `w` ("encoder"): layers.{i} in nn.Sequential order.
  EncoderTiny(Runtime& rt, const Weights& w, const VaeTinyCoderConfig& config);

  // x: [N, H, W, in_channels] image in [-1, 1] -> [N, H/2^(n-1), W/2^(n-1), out_channels] latents
  // (the image is mapped to TAESD's [0, 1] first).
  Tensor forward(Runtime& rt, const Tensor& x) const;

 private:
  struct Stage {
    ops::Conv2d conv;  // stride 1 with bias for the first stage, else stride 2 without bias
    std::vector<AutoencoderTinyBlock> blocks;
  };
  std::vector<Stage> stages_;
  ops::Conv2d conv_out_;
};

class DecoderTiny {
 public:
  DecoderTiny() = default;
  // Weights under `w` ("decoder"): layers.{i} in nn.Sequential order.
  DecoderTiny(Runtime& rt, const Weights& w, const VaeTinyCoderConfig& config);

  // z: [N, h, w, in_channels] latents -> [N, h*s^(n-1), w*s^(n-1), out_channels] image in
  // [-1, 1] (latents soft-clamped with tanh(z/3)*3 first; TAESD's [0, 1] output mapped back).
  Tensor forward(Runtime& rt, const Tensor& z) const;

 private:
  struct Stage {
    std::vector<AutoencoderTinyBlock> blocks;
    ops::Conv2d conv;  // after the upsampling; the last stage's is the output convolution
  };
  ActFn act_fn_ = ActFn::Relu;
  int upsampling_scaling_factor_ = 2;
  ops::Conv2d conv_in_;
  std::vector<Stage> stages_;
};

}  // namespace sdfast::models
