// Diffusers' AutoencoderKL (autoencoders/autoencoder_kl.py): the Stable Diffusion VAE.
//
// encode: image -> Encoder -> quant_conv -> DiagonalGaussianDistribution (mean, logvar)
// decode: latents -> post_quant_conv -> Decoder -> image
// Built from config.json alone; weights by their Diffusers keys (checkpoints that still use the
// deprecated mid-block attention names query/key/value/proj_attn are translated at load time).
#pragma once

#include <string>
#include <vector>

#include "io/json.h"
#include "models/vae.h"
#include "models/vae_interface.h"

namespace sdfast::models {

struct AutoencoderKLConfig {
  int in_channels = 3;
  int out_channels = 3;
  std::vector<int> block_out_channels = {64};  // one per Down/UpDecoder block
  int layers_per_block = 1;
  int latent_channels = 4;
  int norm_num_groups = 32;
  float scaling_factor = 0.18215f;
  bool force_upcast = true;
  bool use_quant_conv = true;
  bool use_post_quant_conv = true;
  bool mid_block_add_attention = true;

  // Parses and validates config.json (Diffusers' defaults for absent keys); errors name the file
  // and the key.
  static AutoencoderKLConfig from_config(const Config& config);
};

// The encoder's output distribution, NCHW float32 [N, latent_channels, h, w] each.
struct DiagonalGaussianDistribution {
  Tensor mean;
  Tensor logvar;  // clamped to [-30, 20]
};

class AutoencoderKL final : public Vae {
 public:
  // Builds the model from `config` with tensors from `weights`, then checks that `weights` held
  // nothing else (tensors of a part left out count as known extras).
  AutoencoderKL(Runtime& rt, WeightSource& weights, const AutoencoderKLConfig& config,
                AutoencoderParts parts = {});
  // From a component folder: `dir`/config.json and `weight_files` (default
  // `dir`/diffusion_pytorch_model.safetensors).
  static AutoencoderKL from_pretrained(Runtime& rt, const std::string& dir,
                                       const std::vector<std::string>& weight_files = {},
                                       AutoencoderParts parts = {});

  // image: [N, in_channels, H, W] NCHW in [-1, 1] -> the latent distribution at H/f x W/f
  // (Diffusers' `vae.encode(image).latent_dist`).
  DiagonalGaussianDistribution encode(Runtime& rt, const Tensor& image) const;
  // latents: [N, latent_channels, h, w] NCHW (already divided by scaling_factor)
  // -> image [N, out_channels, h*f, w*f] NCHW float32 (Diffusers' `vae.decode(latents).sample`).
  Tensor decode(Runtime& rt, const Tensor& latents) const override;
  Tensor encode_sample(Runtime& rt, const Tensor& image, const DrawNormal& draw) const override;

  const AutoencoderKLConfig& config() const { return config_; }
  float scaling_factor() const override { return config_.scaling_factor; }
  int latent_channels() const override { return config_.latent_channels; }
  int vae_scale_factor() const override { return 1 << (config_.block_out_channels.size() - 1); }
  bool force_upcast() const override { return config_.force_upcast; }

 private:
  AutoencoderKLConfig config_;
  AutoencoderParts parts_;
  Encoder encoder_;
  Decoder decoder_;
  ops::Conv2d quant_conv_, post_quant_conv_;
};

}  // namespace sdfast::models
