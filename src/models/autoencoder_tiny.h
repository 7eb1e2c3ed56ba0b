// Diffusers' AutoencoderTiny (autoencoders/autoencoder_tiny.py): TAESD, the distilled tiny VAE.
//
// encode: image in [-1, 1] -> EncoderTiny -> latents (no distribution, no quant_conv)
// decode: latents -> DecoderTiny -> image in [-1, 1]
// Built from config.json alone; weights by their Diffusers keys (encoder.layers.N,
// decoder.layers.N).
#pragma once

#include <string>
#include <vector>

#include "io/json.h"
#include "models/vae.h"
#include "models/vae_interface.h"

namespace sdfast::models {

struct AutoencoderTinyConfig {
  int in_channels = 3;
  int out_channels = 3;
  std::vector<int> encoder_block_out_channels = {64, 64, 64, 64};
  std::vector<int> decoder_block_out_channels = {64, 64, 64, 64};
  std::vector<int> num_encoder_blocks = {1, 3, 3, 3};
  std::vector<int> num_decoder_blocks = {3, 3, 3, 1};
  ActFn act_fn = ActFn::Relu;
  int upsampling_scaling_factor = 2;  // nearest-neighbour ("upsample_fn" must be "nearest")
  int latent_channels = 4;
  // Only for storing latents as 8-bit images (Diffusers' scale_latents/unscale_latents).
  double latent_magnitude = 3.0;
  double latent_shift = 0.5;
  float scaling_factor = 1.0f;
  bool force_upcast = false;

  // Parses and validates config.json (Diffusers' defaults for absent keys); errors name the file
  // and the key.
  static AutoencoderTinyConfig from_config(const Config& config);
};

class AutoencoderTiny final : public Vae {
 public:
  // Builds the model from `config` with tensors from `weights`, then checks that `weights` held
  // nothing else (tensors of a part left out count as known extras).
  AutoencoderTiny(Runtime& rt, WeightSource& weights, const AutoencoderTinyConfig& config,
                  AutoencoderParts parts = {});
  // From a component folder: `dir`/config.json and `weight_files` (default
  // `dir`/diffusion_pytorch_model.safetensors).
  static AutoencoderTiny from_pretrained(Runtime& rt, const std::string& dir,
                                         const std::vector<std::string>& weight_files = {},
                                         AutoencoderParts parts = {});

  // image: [N, in_channels, H, W] NCHW in [-1, 1] -> latents [N, latent_channels, H/8, W/8]
  // float32 (Diffusers' `AutoencoderTiny.encode(image).latents`, for the default 4 stages).
  Tensor encode(Runtime& rt, const Tensor& image) const;
  // latents: [N, latent_channels, h, w] NCHW -> image [N, out_channels, 8h, 8w] float32 in
  // [-1, 1] (Diffusers' `AutoencoderTiny.decode(latents).sample`, for the default 4 stages).
  Tensor decode(Runtime& rt, const Tensor& latents) const override;
  Tensor encode_sample(Runtime& rt, const Tensor& image, const DrawNormal& draw) const override;

  const AutoencoderTinyConfig& config() const { return config_; }
  float scaling_factor() const override { return config_.scaling_factor; }
  int latent_channels() const override { return config_.latent_channels; }
  // Diffusers registers block_out_channels = decoder_block_out_channels, and the pipeline derives
  // its vae_scale_factor from that list's length.
  int vae_scale_factor() const override {
    return 1 << (config_.decoder_block_out_channels.size() - 1);
  }
  bool force_upcast() const override { return config_.force_upcast; }

 private:
  AutoencoderTinyConfig config_;
  AutoencoderParts parts_;
  EncoderTiny encoder_;
  DecoderTiny decoder_;
};

}  // namespace sdfast::models
