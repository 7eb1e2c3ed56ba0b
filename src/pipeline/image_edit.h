// Image-to-image and inpainting inputs, prepared as Diffusers' StableDiffusionImg2ImgPipeline and
// StableDiffusionInpaintPipeline prepare them: the init image and mask preprocessed
// (VaeImageProcessor), the first timestep from `strength` (get_timesteps), the image encoded and
// sampled with generator 0, the per-image noise, the start latents (scheduler.add_noise), the mask
// at latent size. The denoising loop itself stays in stable_diffusion_pipeline.cpp.
//
// Reference: diffusers/src/diffusers/pipelines/stable_diffusion/pipeline_stable_diffusion_img2img.py
// (get_timesteps, prepare_latents, retrieve_latents), pipeline_stable_diffusion_inpaint.py
// (prepare_latents, _encode_vae_image, prepare_mask_latents, __call__), image_processor.py
// (VaeImageProcessor.preprocess / binarize), v0.26.3.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/runtime.h"
#include "core/tensor.h"
#include "models/vae_interface.h"
#include "random/generator.h"
#include "schedulers/scheduler.h"
#include "sdfast/pipeline.h"

namespace sdfast {

enum class EditMode { TextToImage, ImageToImage, Inpaint };
EditMode edit_mode(const GenerateRequest& r);

// Checks the img2img / inpainting fields of `r` for an output of height x width and a UNet with
// `unet_in_channels` input channels (`latent_channels` from the VAE): strength, image and mask sizes,
// which UNet fits which mode. Throws InvalidArgument naming the value.
void check_edit_request(const GenerateRequest& r, int height, int width, int unet_in_channels,
                        int latent_channels);

// VaeImageProcessor.preprocess of an 8-bit RGB image: [1, 3, H, W] float32, 2 * (x / 255) - 1.
Tensor image_to_tensor(const Image& image);
// The mask processor (grey, binarised, not normalised): PIL's "L" conversion
// (R*299 + G*587 + B*114)/1000, then 1 where value / 255 >= 0.5, else 0: [1, 1, H, W] float32.
Tensor binarize_mask(const Image& mask);
// image * (mask < 0.5): the pixels to repaint become 0 (mid grey). image [1, 3, H, W], mask [1, 1, H, W].
Tensor mask_out(const Tensor& image, const Tensor& mask);
// torch.nn.functional.interpolate(mask, size=(height, width)) in mode "nearest": source index
// floor(i * in / out). mask [N, C, H, W].
Tensor resize_nearest(const Tensor& mask, int64_t height, int64_t width);
// get_timesteps: the index of the first entry of scheduler.timesteps() that runs, t_start * order
// with t_start = steps - min(int(steps * strength), steps). InvalidArgument when no step would run.
size_t first_timestep_index(int num_inference_steps, double strength, int order);
// (1 - mask) * known + mask * generated, the mask [N, 1, h, w] broadcast over the channels.
Tensor blend_known(const Tensor& known, const Tensor& generated, const Tensor& mask);

// What the denoising loop needs for img2img and inpainting, beyond text-to-image.
struct EditLatents {
  size_t first_timestep = 0;    // index into scheduler.timesteps(): the loop runs from here
  Tensor image_latents;         // [images, C, h, w] scaling_factor * VAE sample of the init image
                                // (undefined for inpainting at strength 1 with a 9-channel UNet)
  Tensor noise;                 // [images, C, h, w] one draw per image generator
  Tensor start_latents;         // the loop's first latents
  Tensor mask;                  // inpainting: [images, 1, h, w], 1 = repaint
  Tensor masked_image_latents;  // inpainting: [images, C, h, w] of the masked image
  bool unet_takes_mask = false;  // 9-channel UNet: cat([latents, mask, masked_image_latents])
  bool blend_known = false;      // 4-channel UNet inpainting: known region blended after each step
  double vae_encode_s = 0;
};

// Draws and encodes in Diffusers' order: [generator 0: VAE sample of the init image], the noise of
// every generator, [generator 0: VAE sample of the masked image]. `scheduler` has its timesteps set.
EditLatents prepare_edit_latents(const GenerateRequest& r, const models::Vae& encoder, Runtime& vae_rt,
                                 Scheduler& scheduler, std::vector<std::unique_ptr<Generator>>& generators,
                                 int unet_in_channels, int64_t latent_height, int64_t latent_width);

}  // namespace sdfast
