// What the pipeline-running golden kinds (pipeline, deepcache) share: loading the case's pipeline
// with its scheduler, building the request from case.json params, stacking uint8 images.
#pragma once

#include <memory>
#include <vector>

#include "golden/golden_case.h"
#include "pipeline/stable_diffusion_pipeline.h"

namespace sdfast::golden {

// The case's pipeline in the run's precision, with params.scheduler / scheduler_config applied.
std::unique_ptr<StableDiffusionPipeline> load_case_pipeline(CaseRun& run);
// prompt, negative_prompt, num_inference_steps, guidance_scale, height, width,
// num_images_per_prompt, eta, clip_skip, generator {type, seeds} from case.json params.
GenerateRequest case_request(const nlohmann::json& params);
// Prompt embeddings [prompts, L, D] in the layout a case stores them: as they are, or (cases
// made with num_images_per_prompt > 1 whose embeddings are [images, L, D]) each row repeated
// per image, as Diffusers' encode_prompt returns them.
Tensor embeds_like_case(const GoldenCase& c, const std::string& name, const Tensor& embeds,
                        int per_prompt);
// [n, H, W, 3] uint8.
Tensor stack_images(const std::vector<Image>& images);

}  // namespace sdfast::golden
