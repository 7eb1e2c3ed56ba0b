// Text-to-image orchestration as Diffusers' StableDiffusionPipeline.__call__ does it: encode the
// prompts, draw per-image latents, run the denoising loop with classifier-free guidance batched
// into one UNet call, decode. With an init image (and a mask) the same loop runs image-to-image and
// inpainting as StableDiffusionImg2ImgPipeline / StableDiffusionInpaintPipeline do, from the start
// latents that image_edit.h prepares. No model math lives here.
//
// Reference: diffusers/src/diffusers/pipelines/stable_diffusion/pipeline_stable_diffusion.py,
// pipeline_stable_diffusion_img2img.py, pipeline_stable_diffusion_inpaint.py (0.26.3).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/runtime.h"
#include "core/tensor.h"
#include "io/json.h"
#include "io/memory_budget.h"
#include "lora/lora_stack.h"
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
  std::vector<uint64_t> seeds;    // empty when the generators were given as states
  std::vector<GeneratorState> generator_states;  // numpy generators' states after the run
  // img2img / inpainting (undefined for text-to-image): see EditLatents in image_edit.h.
  std::vector<double> timesteps;  // the timesteps the loop ran
  Tensor image_latents, start_latents, mask_latent, masked_image_latents;
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

  // LoRA on the UNet and the text encoder (lora/lora_stack.h). These mutate the models: never
  // while generate() runs. load_lora throws InvalidArgument for a bad file (nothing applied).
  lora::LoraMatch load_lora(const std::string& path, float scale, lora::LoraMode mode);
  void set_lora_scale(size_t index, float scale);
  void unload_loras();
  size_t loras_loaded() const { return loras_.size(); }

 private:
  StableDiffusionPipeline() = default;
  void load_vae(const Component& component);
  // `random_weights_budget`: bytes random weights may still take (random-weights mode), decreased.
  std::unique_ptr<models::Vae> build_vae(const Component& component, models::AutoencoderParts parts,
                                         uint64_t* random_weights_budget, int64_t* parameters) const;
  // The VAE's encoder, loaded on first use (img2img, inpainting) so that text-to-image never holds
  // it; safe to call from concurrent generations (the one lazily built part, under its mutex).
  const models::Vae& vae_encoder() const;
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
  std::unique_ptr<models::Vae> vae_;  // decoder only
  std::shared_ptr<const Component> vae_component_;
  mutable std::mutex vae_encoder_mutex_;
  // Encoder only, loaded by vae_encoder() (guarded by vae_encoder_mutex_, as its budget).
  mutable std::unique_ptr<models::Vae> vae_encoder_;
  mutable uint64_t vae_encoder_budget_ = UINT64_MAX;
  lora::LoraStack loras_;  // patches unet_ and text_encoder_
  Config scheduler_config_;
  std::string scheduler_name_;
  std::optional<Config> scheduler_config_override_;
  uint64_t random_weights_budget_ = UINT64_MAX;  // bytes random weights may still take
  PipelineInfo info_;
};

}  // namespace sdfast
