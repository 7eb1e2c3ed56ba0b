// Image-to-image and inpainting beyond the golden cases (tests/golden/cases/img2img-*, inpaint-*):
// the preprocessing helpers, Diffusers' draw order with several images per prompt, TAESD as the
// encoder (no distribution, no draw), every scheduler through img2img, and the request errors.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "pipeline/image_edit.h"
#include "pipeline/stable_diffusion_pipeline.h"
#include "random/generator.h"

namespace sdfast {
namespace {

const std::string kModels = std::string(SDFAST_TEST_DATA) + "/golden/models/";

Image flat(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  Image im{w, h, {}};
  for (int i = 0; i < w * h; ++i) im.rgb.insert(im.rgb.end(), {r, g, b});
  return im;
}

// A 64x64 picture with some structure (gradients), so that the VAE sees more than a constant.
Image picture() {
  Image im = flat(64, 64, 0, 0, 0);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) {
      uint8_t* p = &im.rgb[size_t((y * 64 + x) * 3)];
      p[0] = uint8_t(x * 4);
      p[1] = uint8_t(y * 4);
      p[2] = uint8_t((x + y) % 64 * 4);
    }
  return im;
}

GenerateRequest request() {
  GenerateRequest r;
  r.prompts = {"a red circle"};
  r.num_inference_steps = 4;
  r.guidance_scale = 3;
  r.image = picture();
  r.strength = 0.5;
  return r;
}

bool all_finite(const Tensor& t) {
  for (float v : t.span<float>())
    if (!std::isfinite(v)) return false;
  return true;
}

TEST(ImageEditInputs, PreprocessingAsDiffusers) {
  // [-1, 1]: 0 -> -1, 255 -> 1, 51 -> 2 * 0.2 - 1.
  const Tensor t = image_to_tensor(flat(8, 8, 0, 255, 51));
  EXPECT_EQ(t.shape(), (Shape{1, 3, 8, 8}));
  EXPECT_EQ(t.data<float>()[0], -1.0f);
  EXPECT_EQ(t.data<float>()[64], 1.0f);
  EXPECT_EQ(t.data<float>()[128], 2.0f * (51.0f / 255.0f) - 1.0f);
  // PIL "L" then >= 0.5: grey 128 is repainted, 127 is kept; pure red is grey 76 (kept), white 255.
  EXPECT_EQ(binarize_mask(flat(8, 8, 128, 128, 128)).data<float>()[0], 1.0f);
  EXPECT_EQ(binarize_mask(flat(8, 8, 127, 127, 127)).data<float>()[0], 0.0f);
  EXPECT_EQ(binarize_mask(flat(8, 8, 255, 0, 0)).data<float>()[0], 0.0f);
  EXPECT_EQ(binarize_mask(flat(8, 8, 0, 255, 0)).data<float>()[0], 1.0f);  // grey 150
  // Masked pixels become 0 (mid grey); the others keep their value.
  Image m = flat(8, 8, 0, 0, 0);
  m.rgb[0] = m.rgb[1] = m.rgb[2] = 255;
  const Tensor masked = mask_out(t, binarize_mask(m));
  EXPECT_EQ(masked.data<float>()[0], 0.0f);
  EXPECT_EQ(masked.data<float>()[1], -1.0f);
  // Nearest: the top-left pixel of each 8x8 cell.
  Tensor big = Tensor::zeros({1, 1, 16, 16});
  big.data<float>()[8 * 16 + 8] = 1;  // cell (1, 1)'s top-left
  big.data<float>()[1] = 1;           // inside cell (0, 0), not its top-left
  const Tensor small = resize_nearest(big, 2, 2);
  EXPECT_EQ(small.to_vector(), (std::vector<float>{0, 0, 0, 1}));
}

TEST(ImageEditInputs, StrengthPicksTheFirstTimestepAsGetTimesteps) {
  EXPECT_EQ(first_timestep_index(10, 0.7, 1), 3u);   // int(10 * 0.7) = 7 steps run
  EXPECT_EQ(first_timestep_index(10, 1.0, 1), 0u);
  EXPECT_EQ(first_timestep_index(10, 0.6, 2), 8u);   // Heun: t_start * order
  EXPECT_EQ(first_timestep_index(50, 0.6, 1), 20u);
  EXPECT_EQ(first_timestep_index(3, 0.34, 1), 2u);   // int(1.02) = 1
  EXPECT_THROW(first_timestep_index(10, 0.09, 1), InvalidArgument);  // int(0.9) = 0: no step
  EXPECT_THROW(first_timestep_index(10, 0.0, 1), InvalidArgument);
}

TEST(ImageEdit, SeveralImagesDrawAsDiffusers) {
  PipelineOptions o;
  auto pipe = StableDiffusionPipeline::load(kModels + "tiny-sd15-pipeline", o);
  GenerateRequest r = request();
  r.num_images_per_prompt = 2;
  r.seeds = {5, 9};
  const PipelineOutput out = pipe->generate(r);
  // Generator 0 samples the VAE, then draws its noise; generator 1 draws only its noise.
  auto g0 = make_generator("numpy", 5), g1 = make_generator("numpy", 9);
  const Shape one{1, 4, 8, 8};
  g0->randn(one);
  const std::vector<float> n0 = g0->randn(one).to_vector(), n1 = g1->randn(one).to_vector();
  const std::vector<float> noise = out.initial_latents.to_vector();
  ASSERT_EQ(noise.size(), 2 * n0.size());
  EXPECT_EQ(std::vector<float>(noise.begin(), noise.begin() + 256), n0);
  EXPECT_EQ(std::vector<float>(noise.begin() + 256, noise.end()), n1);
  // Image 0's sampled latents serve both images.
  const std::vector<float> lat = out.image_latents.to_vector();
  EXPECT_EQ(std::vector<float>(lat.begin(), lat.begin() + 256), std::vector<float>(lat.begin() + 256, lat.end()));
  // int(4 * 0.5) = 2 steps of PNDM's 5-entry array (one timestep doubled): entries 2, 3, 4.
  EXPECT_EQ(out.timesteps.size(), 3u);
  EXPECT_TRUE(all_finite(out.final_latents));
}

TEST(ImageEdit, TinyAutoencoderEncodesWithoutADraw) {
  PipelineOptions o;
  auto pipe = StableDiffusionPipeline::load(kModels + "tiny-bk-small-taesd-pipeline", o);
  GenerateRequest r = request();
  r.seeds = {3};
  const PipelineOutput out = pipe->generate(r);
  // The first draw of generator 0 is the noise: TAESD has no latent distribution to sample.
  EXPECT_EQ(out.initial_latents.to_vector(), make_generator("numpy", 3)->randn({1, 4, 8, 8}).to_vector());
  EXPECT_TRUE(all_finite(out.images));
  // Inpainting the legacy way with the same encoder.
  r.mask_image = flat(64, 64, 255, 255, 255);
  EXPECT_TRUE(all_finite(pipe->generate(r).images));
}

TEST(ImageEdit, EverySchedulerRunsImg2ImgAndLegacyInpainting) {
  PipelineOptions o;
  auto pipe = StableDiffusionPipeline::load(kModels + "tiny-sd15-pipeline", o);
  for (const char* name : {"ddim", "pndm", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "lms", "heun",
                           "unipc", "lcm", "ddpm"}) {
    pipe->set_scheduler(name);
    GenerateRequest r = request();
    const PipelineOutput out = pipe->generate(r);
    EXPECT_TRUE(all_finite(out.images)) << name;
    EXPECT_FALSE(out.timesteps.empty()) << name;
    r.mask_image = flat(64, 64, 0, 0, 0);
    r.mask_image->rgb[0] = 255;
    EXPECT_TRUE(all_finite(pipe->generate(r).images)) << name;
  }
}

TEST(ImageEdit, RequestErrorsNameTheValue) {
  PipelineOptions o;
  auto pipe = StableDiffusionPipeline::load(kModels + "tiny-sd15-pipeline", o);
  auto inpaint_pipe = StableDiffusionPipeline::load(kModels + "tiny-sd15-inpaint-pipeline", o);
  const auto error = [](auto& p, const GenerateRequest& r) -> std::string {
    try {
      p->generate(r);
    } catch (const InvalidArgument& e) {
      return e.what();
    }
    return "no InvalidArgument";
  };
  GenerateRequest r = request();
  r.strength = 1.5;
  EXPECT_NE(error(pipe, r).find("strength must be between 0 and 1, got 1.5"), std::string::npos);
  r.strength = std::nan("");
  EXPECT_NE(error(pipe, r).find("strength"), std::string::npos);
  r.strength = 0.2;  // int(4 * 0.2) = 0
  EXPECT_NE(error(pipe, r).find("no denoising step"), std::string::npos);
  r = request();
  r.mask_image = flat(32, 64, 255, 255, 255);
  EXPECT_NE(error(pipe, r).find("the mask is 32x64 but the init image is 64x64"), std::string::npos);
  r = request();
  r.width = 128;
  EXPECT_NE(error(pipe, r).find("the init image is 64x64 but 128x64 was requested"), std::string::npos);
  r = request();
  r.image = flat(60, 64, 1, 2, 3);
  EXPECT_NE(error(pipe, r).find("multiple"), std::string::npos);
  r = request();
  r.image->rgb.pop_back();
  EXPECT_NE(error(pipe, r).find("not an 8-bit RGB image"), std::string::npos);
  r = request();
  r.latents.assign(256, 0.0f);
  EXPECT_NE(error(pipe, r).find("latents cannot be given with an init image"), std::string::npos);
  r = request();
  r.image.reset();
  r.mask_image = flat(64, 64, 0, 0, 0);
  EXPECT_NE(error(pipe, r).find("needs an init image"), std::string::npos);
  // The inpainting UNet needs both; it cannot do text-to-image or img2img.
  r = request();
  EXPECT_NE(error(inpaint_pipe, r).find("9 input channels (an inpainting model) and cannot do image-to-image"),
            std::string::npos);
  r.image.reset();
  EXPECT_NE(error(inpaint_pipe, r).find("needs an init image and a mask"), std::string::npos);
  r = request();
  r.mask_image = flat(64, 64, 255, 255, 255);
  EXPECT_TRUE(all_finite(inpaint_pipe->generate(r).images));
}

}  // namespace
}  // namespace sdfast
