// Golden kind "pipeline": StableDiffusionPipeline end to end (prompt embeddings, denoising loop
// with per-image generators, VAE decode, postprocessing), against Diffusers in float64.
#include "golden/kinds.h"
#include "golden/pipeline_case.h"

namespace sdfast::golden {

void run_pipeline(CaseRun& run) {
  const GoldenCase& c = run.golden();
  auto pipe = load_case_pipeline(run);
  // The engine draws the initial latents from the seeds itself; they must equal the case's input.
  PipelineOutput out = pipe->generate(case_request(c));
  if (c.has("initial_latents")) run.check("initial_latents", out.initial_latents, /*exact=*/true);
  run.check("prompt_embeds", out.prompt_embeds);
  if (c.has("negative_prompt_embeds") && out.negative_prompt_embeds.defined())
    run.check("negative_prompt_embeds", out.negative_prompt_embeds);
  run.check("final_latents", out.final_latents);
  run.check("images", out.images);
  run.check("images_uint8", stack_images(out.images_uint8));
}

}  // namespace sdfast::golden
