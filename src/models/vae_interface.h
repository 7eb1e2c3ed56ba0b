// What the pipelines need from a VAE, whichever class the folder holds
// (AutoencoderKL or AutoencoderTiny): decode latents into an image, encode an image into latents\n// (image-to-image, inpainting), and the latent scale.
#pragma once

#include <functional>

#include "core/runtime.h"
#include "core/tensor.h"

namespace sdfast::models {

// Which halves of an autoencoder to load. A half that is left out is not read from the weight
// file (its tensors count as known extras), and calling it throws.
struct AutoencoderParts {
  bool encoder = true;
  bool decoder = true;
};

// Standard normal float32 values of a shape, from the caller's generator.
using DrawNormal = std::function<Tensor(const Shape& shape)>;

class Vae {
 public:
  virtual ~Vae() = default;

  // latents: [N, latent_channels, h, w] NCHW, already divided by scaling_factor()
  // -> image [N, out_channels, H, W] NCHW float32, nominally in [-1, 1] (not clamped), as
  // Diffusers' `vae.decode(latents).sample`.
  virtual Tensor decode(Runtime& rt, const Tensor& latents) const = 0;
  // image: [N, in_channels, H, W] NCHW in [-1, 1] -> latents [N, latent_channels, H/f, W/f]
  // float32, not yet multiplied by scaling_factor(): Diffusers' `retrieve_latents(vae.encode(image),
  // generator)` with sample_mode "sample". AutoencoderKL samples its latent distribution, drawing
  // once from `draw` (the mean's shape); AutoencoderTiny has no distribution and draws nothing.
  virtual Tensor encode_sample(Runtime& rt, const Tensor& image, const DrawNormal& draw) const = 0;
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
