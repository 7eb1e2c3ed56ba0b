// What the text-to-image pipeline needs from a VAE, whichever class the folder holds
// (AutoencoderKL or AutoencoderTiny): decode latents into an image, and the latent scale.
#pragma once

#include "core/runtime.h"
#include "core/tensor.h"

namespace sdfast::models {

// Which halves of an autoencoder to load. A half that is left out is not read from the weight
// file (its tensors count as known extras), and calling it throws.
struct AutoencoderParts {
  bool encoder = true;
  bool decoder = true;
};

class Vae {
 public:
  virtual ~Vae() = default;

  // latents: [N, latent_channels, h, w] NCHW, already divided by scaling_factor()
  // -> image [N, out_channels, H, W] NCHW float32, nominally in [-1, 1] (not clamped), as
  // Diffusers' `vae.decode(latents).sample`.
  virtual Tensor decode(Runtime& rt, const Tensor& latents) const = 0;
  // config.json "scaling_factor": the pipeline divides the final latents by it before decode().
  virtual float scaling_factor() const = 0;
  virtual int latent_channels() const = 0;
  // The pipeline's `vae_scale_factor`, 2 ** (len(block_out_channels) - 1): image size / latent
  // size.
  virtual int vae_scale_factor() const = 0;
  // config.json "force_upcast": Diffusers runs this VAE in float32 even in a half-precision
  // pipeline.
  virtual bool force_upcast() const = 0;
};

}  // namespace sdfast::models
