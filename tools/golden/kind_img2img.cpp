// Golden kind "img2img": StableDiffusionImg2ImgPipeline end to end (strength -> first timestep,
// VAE sample of the init image with generator 0, add_noise, the denoising loop over the tail of the
// schedule, decode), against Diffusers in float64. The engine draws every random value from the
// seeds; the case's draws (`noise`, `vae_noise`) are only compared.
#include "golden/kinds.h"
#include "golden/pipeline_case.h"

namespace sdfast::golden {

namespace {

Tensor f64_values(const std::vector<double>& v) {
  Tensor t = Tensor::empty({int64_t(v.size())}, DType::F64);
  std::copy(v.begin(), v.end(), t.data<double>());
  return t;
}

}  // namespace

// The outputs img2img and inpaint share; `image_latents_name` is what the case calls the scaled
// VAE sample of the init image.
void check_edit_outputs(CaseRun& run, const PipelineOutput& out, const std::string& image_latents_name) {
  const GoldenCase& c = run.golden();
  run.check("noise", out.initial_latents, /*exact=*/true);
  run.check("prompt_embeds", out.prompt_embeds);
  if (c.has("negative_prompt_embeds") && out.negative_prompt_embeds.defined())
    run.check("negative_prompt_embeds", out.negative_prompt_embeds);
  run.check("timesteps", f64_values(out.timesteps), /*exact=*/true);
  if (c.has("latent_timestep")) run.check("latent_timestep", f64_values({out.timesteps.at(0)}), /*exact=*/true);
  if (c.has(image_latents_name)) run.check(image_latents_name, out.image_latents);
  run.check("start_latents", out.start_latents);
  run.check("final_latents", out.final_latents);
  run.check("images", out.images);
  run.check("images_uint8", stack_images(out.images_uint8));
}

void run_img2img(CaseRun& run) {
  const GoldenCase& c = run.golden();
  auto pipe = load_case_pipeline(run);
  GenerateRequest req = case_request(c);
  req.image = case_image(c, "init_image_uint8");
  check_edit_outputs(run, pipe->generate(req), "init_latents");
}

}  // namespace sdfast::golden
