// Golden kind "inpaint": StableDiffusionInpaintPipeline end to end, with a 9-channel inpainting UNet
// (latents, mask, masked-image latents as input) or an ordinary 4-channel UNet (the known region
// blended back after every step), against Diffusers in float64.
#include "golden/kinds.h"
#include "golden/pipeline_case.h"

namespace sdfast::golden {

void run_inpaint(CaseRun& run) {
  const GoldenCase& c = run.golden();
  auto pipe = load_case_pipeline(run);
  GenerateRequest req = case_request(c);
  req.image = case_image(c, "init_image_uint8");
  req.mask_image = case_image(c, "mask_image_uint8");
  const PipelineOutput out = pipe->generate(req);
  run.check("mask_latent", out.mask_latent.slice0(0, 1).clone(), /*exact=*/true);
  run.check("masked_image_latents", out.masked_image_latents.slice0(0, 1).clone());
  check_edit_outputs(run, out, "image_latents");
}

}  // namespace sdfast::golden
