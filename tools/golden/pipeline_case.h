// What the pipeline-shaped golden kinds (pipeline, img2img, inpaint, lora, deepcache) share: the pipeline
// loaded as the case says (model, precision, scheduler with its config), the request built from the
// case's params, and generated images stacked for comparison.
#pragma once

#include <memory>
#include <vector>

#include "golden/golden_case.h"
#include "pipeline/stable_diffusion_pipeline.h"

namespace sdfast::golden {

std::unique_ptr<StableDiffusionPipeline> load_case_pipeline(CaseRun& run);
// prompt, negative_prompt, num_inference_steps, guidance_scale, height, width,
// num_images_per_prompt, eta, clip_skip, generator {type, seeds}; strength when present.
GenerateRequest case_request(const GoldenCase& c);
// images [n, H, W, 3] uint8.
Tensor stack_images(const std::vector<Image>& images);
// An [1, H, W, C] uint8 case tensor (C = 3, or 1 for a grey mask) as an RGB image.
Image case_image(const GoldenCase& c, const std::string& name);

// Compares the outputs img2img and inpaint cases share (kind_img2img.cpp); `image_latents_name` is
// the case's name for the scaled VAE sample of the init image.
void check_edit_outputs(CaseRun& run, const PipelineOutput& out, const std::string& image_latents_name);
// Prompt embeddings [prompts, L, D] in the layout a case stores them: as they are, or (cases
// made with num_images_per_prompt > 1 whose embeddings are [images, L, D]) each row repeated
// per image, as Diffusers' encode_prompt returns them.
Tensor embeds_like_case(const GoldenCase& c, const std::string& name, const Tensor& embeds,
                        int per_prompt);

}  // namespace sdfast::golden
