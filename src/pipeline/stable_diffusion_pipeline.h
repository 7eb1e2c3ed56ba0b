// Text-to-image orchestration as Diffusers' StableDiffusionPipeline.__call__ does it: encode the
// prompts, draw per-image latents, run the denoising loop with classifier-free guidance batched
// into one UNet call, decode. No model math lives here.
//
// Reference: diffusers/src/diffusers/pipelines/stable_diffusion/pipeline_stable_diffusion.py (0.26.3).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/runtime.h"
#include "core/tensor.h"
#include "io/json.h"
#include "io/memory_budget.h"
#include "models/clip_text_model.h"
#include "models/unet_2d_condition_model.h"
#include "models/vae_interface.h"
#include "schedulers/scheduler.h"
#include "sdfast/pipeline.h"
#include "tokenizer/clip_tokenizer.h"

namespace sdfast {

struct Component;

// Everything a generation produced, including the intermediates the golden cases compare.
struct PipelineOutput {
  Tensor prompt_embeds;           // [prompts, L, D] float32, one row per prompt (before repeat)
  Tensor negative_prompt_embeds;  // [prompts, L, D]; undefined without guidance
  Tensor initial_latents;         // [images, C, h, w] as drawn (before init_noise_sigma)
  Tensor final_latents;           // [images, C, h, w] before the VAE
  Tensor images;                  // [images, H, W, 3] float32 in [0, 1] (output_type="np")
  std::vector<Image> images_uint8;
  std::vector<uint64_t> seeds;
  std::vector<std::string> warnings;  // e.g. truncated prompts
  std::string scheduler;
  GenerateTimings timings;
};

class StableDiffusionPipeline {
 public:
  // Loads a Diffusers pipeline folder. Throws Error naming what is missing or wrong, and before
  // loading anything when the weights need more memory than `memory` says is available.
  static std::unique_ptr<StableDiffusionPipeline> load(const std::string& path,
                                                       const PipelineOptions& options,
                                                       const MemorySources& memory = {});

  // SchedulerClass.from_config(config): `config` defaults to the model's scheduler config.
  void set_scheduler(const std::string& name, const std::optional<Config>& config = std::nullopt);
  // Swaps in another VAE component folder (AutoencoderKL or AutoencoderTiny).
  void set_vae(const std::string& path);

  // Thread-safe: several generate() calls may run at the same time on one pipeline (each makes its
  // own Runtime and scheduler; the models are read-only). set_scheduler and set_vae must not run
  // while a generate() does.
  PipelineOutput generate(const GenerateRequest& request) const;
  const PipelineInfo& info() const { return info_; }

 private:
  StableDiffusionPipeline() = default;
  void load_vae(const Component& component);
  // Validates the request against this pipeline; throws InvalidArgument.
  void check_request(const GenerateRequest& r, int height, int width) const;
  // [texts, 77, D] embeddings (Diffusers encode_prompt; clip_skip applies to prompts only).
  Tensor encode_text(Runtime& rt, const std::vector<std::string>& texts, int clip_skip,
                     std::vector<std::string>& warnings) const;

  PipelineOptions options_;
  std::unique_ptr<Engine> engine_;      // text encoder and UNet
  std::unique_ptr<Engine> vae_engine_;  // the VAE (its own precision)
  std::optional<ClipTokenizer> tokenizer_;
  std::optional<models::CLIPTextModel> text_encoder_;
  std::optional<models::UNet2DConditionModel> unet_;
  std::unique_ptr<models::Vae> vae_;
  Config scheduler_config_;
  std::string scheduler_name_;
  std::optional<Config> scheduler_config_override_;
  uint64_t random_weights_budget_ = UINT64_MAX;  // bytes random weights may still take
  PipelineInfo info_;
};

}  // namespace sdfast
