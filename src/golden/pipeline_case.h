// What the pipeline-shaped golden kinds (pipeline, lora) share: the pipeline a case names, with
// its scheduler, and the GenerateRequest its params describe.
#pragma once

#include <memory>
#include <vector>

#include "golden/golden_case.h"
#include "pipeline/stable_diffusion_pipeline.h"

namespace sdfast::golden {

// The case's model folder as a pipeline in the run's precision, with params.scheduler (and its
// scheduler_config) set.
std::unique_ptr<StableDiffusionPipeline> load_case_pipeline(CaseRun& run);
// prompt, negative_prompt, num_inference_steps, guidance_scale, height, width,
// num_images_per_prompt, eta, clip_skip, generator from the case's params.
GenerateRequest case_request(const GoldenCase& c);
// uint8 images as one [N, H, W, 3] tensor.
Tensor stack_images(const std::vector<Image>& images);

}  // namespace sdfast::golden
