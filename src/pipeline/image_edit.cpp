// Reference: diffusers/src/diffusers/pipelines/stable_diffusion/pipeline_stable_diffusion_img2img.py
// and pipeline_stable_diffusion_inpaint.py, image_processor.py, v0.26.3 (see image_edit.h).
#include "pipeline/image_edit.h"

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "pipeline/batch.h"

namespace sdfast {

namespace {

void check_image(const Image& im, const char* what) {
  if (im.width < 1 || im.height < 1 || im.rgb.size() != size_t(im.width) * size_t(im.height) * 3)
    fail_argument(what, ": ", im.width, "x", im.height, " with ", im.rgb.size(),
                  " bytes is not an 8-bit RGB image (width * height * 3 bytes)");
}

// Multiplies every value by `s` in float32 (scaling_factor * latents, noise * init_noise_sigma).
Tensor scaled(Tensor t, float s) {
  for (float& v : t.span<float>()) v = s * v;
  return t;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

EditMode edit_mode(const GenerateRequest& r) {
  if (!r.image) return EditMode::TextToImage;
  return r.mask_image ? EditMode::Inpaint : EditMode::ImageToImage;
}

void check_edit_request(const GenerateRequest& r, int height, int width, int unet_in_channels,
                        int latent_channels) {
  const EditMode mode = edit_mode(r);
  const bool inpaint_unet = unet_in_channels == 2 * latent_channels + 1;
  if (r.mask_image && !r.image) fail_argument("a mask_image needs an init image (image) to inpaint");
  if (mode == EditMode::TextToImage) {
    if (inpaint_unet)
      fail_argument("this UNet has ", unet_in_channels,
                    " input channels (an inpainting model): it needs an init image and a mask (inpaint)");
    return;
  }
  if (unet_in_channels != latent_channels && !inpaint_unet)
    fail_argument("the UNet has ", unet_in_channels, " input channels; image-to-image and inpainting need ",
                  latent_channels, " (the VAE's latent channels) or ", 2 * latent_channels + 1, " (inpainting)");
  if (mode == EditMode::ImageToImage && inpaint_unet)
    fail_argument("this UNet has ", unet_in_channels,
                  " input channels (an inpainting model) and cannot do image-to-image: give a mask "
                  "(inpaint) or use an ordinary model");
  if (!(r.strength >= 0.0 && r.strength <= 1.0))
    fail_argument("strength must be between 0 and 1, got ", r.strength);
  if (r.num_inference_steps >= 1)  // (a bad step count is check_request's to name)
    first_timestep_index(r.num_inference_steps, r.strength, 1);  // throws when no step runs
  if (!r.latents.empty())
    fail_argument("latents cannot be given with an init image (the start latents come from it)");
  check_image(*r.image, "init image");
  if (r.image->width != width || r.image->height != height)
    fail_argument("the init image is ", r.image->width, "x", r.image->height, " but ", width, "x", height,
                  " was requested (width x height); sdfast does not resize: give the image's size or 0");
  if (r.image->width % 8 != 0 || r.image->height % 8 != 0)
    fail_argument("the init image is ", r.image->width, "x", r.image->height,
                  ": width and height must be multiples of 8");
  if (r.mask_image) {
    check_image(*r.mask_image, "mask image");
    if (r.mask_image->width != r.image->width || r.mask_image->height != r.image->height)
      fail_argument("the mask is ", r.mask_image->width, "x", r.mask_image->height,
                    " but the init image is ", r.image->width, "x", r.image->height, ": they must be the same size");
  }
}

Tensor image_to_tensor(const Image& image) {
  check_image(image, "image");
  const int64_t h = image.height, w = image.width;
  Tensor t = Tensor::empty({1, 3, h, w}, DType::F32);
  float* dst = t.data<float>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t p = 0; p < h * w; ++p) {
      const float x = float(image.rgb[size_t(p * 3 + c)]) / 255.0f;
      dst[c * h * w + p] = 2.0f * x - 1.0f;
    }
  return t;
}

Tensor binarize_mask(const Image& mask) {
  check_image(mask, "mask image");
  const int64_t h = mask.height, w = mask.width;
  Tensor t = Tensor::empty({1, 1, h, w}, DType::F32);
  float* dst = t.data<float>();
  for (int64_t p = 0; p < h * w; ++p) {
    const uint8_t* px = &mask.rgb[size_t(p * 3)];
    // PIL ImagingConvert RGB -> L: (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16.
    const uint32_t grey = (uint32_t(px[0]) * 19595u + uint32_t(px[1]) * 38470u + uint32_t(px[2]) * 7471u + 0x8000u) >> 16;
    dst[p] = float(grey) / 255.0f >= 0.5f ? 1.0f : 0.0f;
  }
  return t;
}

Tensor mask_out(const Tensor& image, const Tensor& mask) {
  SDFAST_CHECK(image.ndim() == 4 && mask.ndim() == 4 && image.dim(0) == 1 && mask.dim(0) == 1 &&
                   mask.dim(1) == 1 && image.dim(2) == mask.dim(2) && image.dim(3) == mask.dim(3),
               "mask_out: image ", image.describe(), " and mask ", mask.describe(), " do not fit");
  Tensor out = Tensor::empty(image.shape(), DType::F32);
  const int64_t plane = image.dim(2) * image.dim(3);
  const float* src = image.data<float>();
  const float* m = mask.data<float>();
  float* dst = out.data<float>();
  for (int64_t c = 0; c < image.dim(1); ++c)
    for (int64_t p = 0; p < plane; ++p) dst[c * plane + p] = src[c * plane + p] * (m[p] < 0.5f ? 1.0f : 0.0f);
  return out;
}

Tensor resize_nearest(const Tensor& mask, int64_t height, int64_t width) {
  SDFAST_CHECK(mask.ndim() == 4 && height > 0 && width > 0, "resize_nearest: ", mask.describe());
  const int64_t n = mask.dim(0) * mask.dim(1), ih = mask.dim(2), iw = mask.dim(3);
  // ATen's nearest: scale = float(in) / out, src = min(floor(dst * scale), in - 1).
  const float sh = float(ih) / float(height), sw = float(iw) / float(width);
  Tensor out = Tensor::empty({mask.dim(0), mask.dim(1), height, width}, DType::F32);
  const float* src = mask.data<float>();
  float* dst = out.data<float>();
  for (int64_t k = 0; k < n; ++k)
    for (int64_t y = 0; y < height; ++y) {
      const int64_t sy = std::min(int64_t(std::floor(float(y) * sh)), ih - 1);
      for (int64_t x = 0; x < width; ++x) {
        const int64_t sx = std::min(int64_t(std::floor(float(x) * sw)), iw - 1);
        dst[(k * height + y) * width + x] = src[(k * ih + sy) * iw + sx];
      }
    }
  return out;
}

size_t first_timestep_index(int num_inference_steps, double strength, int order) {
  const int init_timestep =
      std::min(int(double(num_inference_steps) * strength), num_inference_steps);
  const int t_start = std::max(num_inference_steps - init_timestep, 0);
  if (num_inference_steps - t_start < 1)
    fail_argument("strength ", strength, " with ", num_inference_steps,
                  " steps runs no denoising step (int(steps * strength) = ", init_timestep,
                  "): raise strength or num_inference_steps");
  return size_t(t_start) * size_t(order);
}

Tensor blend_known(const Tensor& known, const Tensor& generated, const Tensor& mask) {
  SDFAST_CHECK(known.shape() == generated.shape() && mask.ndim() == 4 && mask.dim(0) == known.dim(0) &&
                   mask.dim(1) == 1 && mask.dim(2) == known.dim(2) && mask.dim(3) == known.dim(3),
               "blend_known: ", known.describe(), ", ", generated.describe(), ", mask ", mask.describe());
  Tensor out = Tensor::empty(known.shape(), DType::F32);
  const int64_t c = known.dim(1), plane = known.dim(2) * known.dim(3);
  const float* k = known.data<float>();
  const float* g = generated.data<float>();
  const float* m = mask.data<float>();
  float* o = out.data<float>();
  for (int64_t b = 0; b < known.dim(0); ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < plane; ++p) {
        const int64_t i = (b * c + ch) * plane + p;
        const float mv = m[b * plane + p];
        const float keep = (1.0f - mv) * k[i];
        const float gen = mv * g[i];
        o[i] = keep + gen;
      }
  return out;
}

EditLatents prepare_edit_latents(const GenerateRequest& r, const models::Vae& encoder, Runtime& vae_rt,
                                 Scheduler& scheduler, std::vector<std::unique_ptr<Generator>>& generators,
                                 int unet_in_channels, int64_t latent_height, int64_t latent_width) {
  const EditMode mode = edit_mode(r);
  SDFAST_CHECK(mode != EditMode::TextToImage && !generators.empty(), "prepare_edit_latents: no init image");
  const int64_t images = int64_t(generators.size()), channels = encoder.latent_channels();
  const float sf = encoder.scaling_factor();
  EditLatents e;
  e.first_timestep = first_timestep_index(r.num_inference_steps, r.strength, scheduler.order());
  SDFAST_CHECK(e.first_timestep < scheduler.timesteps().size(), "strength ", r.strength, ": first timestep ",
               e.first_timestep, " of ", scheduler.timesteps().size());
  const double t0 = scheduler.timesteps()[e.first_timestep];
  // _encode_vae_image / retrieve_latents with a list of generators encodes image[i:i+1] with
  // generator[i]: one init image, so only generator 0 samples, and its latents serve every image.
  Generator& first = *generators[0];
  const models::DrawNormal draw0 = [&first](const Shape& shape) { return first.randn(shape); };
  auto encode = [&](const Tensor& image) {
    const auto ts = std::chrono::steady_clock::now();
    Tensor latents = scaled(encoder.encode_sample(vae_rt, image, draw0).to(DType::F32), sf);
    SDFAST_CHECK(latents.ndim() == 4 && latents.dim(1) == channels && latents.dim(2) == latent_height &&
                     latent_width == latents.dim(3),
                 "VAE encoding gave ", latents.describe(), ", expected ", channels, " channels at ",
                 latent_height, "x", latent_width);
    e.vae_encode_s += seconds_since(ts);
    return repeat_rows(latents, images);
  };
  const Tensor image = image_to_tensor(*r.image);
  const bool strength_max = r.strength == 1.0;
  const bool legacy_inpaint = mode == EditMode::Inpaint && unet_in_channels == channels;
  if (mode == EditMode::ImageToImage || legacy_inpaint || !strength_max) e.image_latents = encode(image);

  std::vector<Tensor> parts;
  for (auto& g : generators) parts.push_back(g->randn({1, channels, latent_height, latent_width}));
  e.noise = cat0(parts);
  if (mode == EditMode::Inpaint && strength_max)
    e.start_latents = scaled(e.noise.clone(), float(scheduler.init_noise_sigma()));
  else
    e.start_latents = scheduler.add_noise(e.image_latents, e.noise, t0);

  if (mode == EditMode::Inpaint) {
    const Tensor mask = binarize_mask(*r.mask_image);
    e.mask = repeat_rows(resize_nearest(mask, latent_height, latent_width), images);
    // Computed (and drawn) for the 4-channel UNet too, which does not read it.
    e.masked_image_latents = encode(mask_out(image, mask));
    e.unet_takes_mask = !legacy_inpaint;
    e.blend_known = legacy_inpaint;
  }
  return e;
}

}  // namespace sdfast
