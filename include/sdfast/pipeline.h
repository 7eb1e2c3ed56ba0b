// sdfast's C++ API, shaped like Diffusers' StableDiffusionPipeline:
//
//   sdfast::PipelineOptions opt;
//   opt.dtype = sdfast::Precision::BF16;                  // torch_dtype=torch.float16 on a GPU
//   auto pipe = sdfast::Pipeline::from_pretrained("stable-diffusion-v1-5", opt);
//   pipe->set_scheduler("DDIMScheduler");                 // DDIMScheduler.from_config(pipe.scheduler.config)
//   pipe->set_vae("taesd");                               // pipe.vae = AutoencoderTiny.from_pretrained(...)
//   sdfast::GenerateRequest req;
//   req.prompts = {"a photo of an astronaut riding a horse on mars"};
//   req.num_images_per_prompt = 4;
//   req.seeds = {0, 1, 2, 3};                             // one numpy PCG64 generator per image
//   auto result = pipe->generate(req);
//   sdfast::save_png(sdfast::make_image_grid(result.images, 2, 2), "grid.png");
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sdfast/error.h"
#include "sdfast/image.h"
#include "sdfast/options.h"

namespace sdfast {

struct PipelineOptions {
  Precision dtype = Precision::F32;    // F32 (reference), BF16 (fast path, fp32 accumulation), Auto
  std::optional<Precision> vae_dtype;  // the VAE's precision; unset: the same as dtype
  std::string variant;                 // "" or "fp16": load *.fp16.safetensors where a component has it
  int threads = 0;                     // 0: all cores; each request may ask for its own
  AttentionKind attention = AttentionKind::Flash;
  bool random_weights = false;         // config-only folders: seeded random weights (benchmarks)
  uint64_t random_weights_seed = 0;
  // A CLIP tokenizer folder (vocab.json, merges.txt) for model folders whose tokenizer/ has no
  // vocabulary (config-only folders); "": such a folder is an error. The library knows no path of
  // its own: the command-line tools pass the bundled demo model's.
  std::string fallback_tokenizer;

  // Throws InvalidArgument naming the first bad field (as `names` calls it, default the field's
  // own name). Pipeline::from_pretrained calls it; a front end may call it before loading.
  void validate(const FieldNames& names = {}) const;
};

// Thrown out of generate() when the step callback asks to stop.
class Cancelled : public Error {
 public:
  Cancelled() : Error("generation cancelled by the step callback") {}
};

struct StepInfo {
  int step = 0;         // 1-based model evaluation index
  int total_steps = 0;  // model evaluations in all (Heun/PNDM-PRK evaluate more than once a step)
  double timestep = 0;
  double step_seconds = 0;  // duration of this step
};

struct GenerateRequest {
  std::vector<std::string> prompts;           // one or more prompts (batch)
  std::vector<std::string> negative_prompts;  // none, one for all prompts, or one per prompt
  int num_inference_steps = 50;
  double guidance_scale = 7.5;  // classifier-free guidance is off when <= 1
  int height = 0;               // 0: the UNet's sample_size * VAE scale factor
  int width = 0;
  int num_images_per_prompt = 1;
  // Seeds of the per-image generators, prompt-major. Empty: 0, 1, 2, ...; one seed S: S, S+1, ...
  std::vector<uint64_t> seeds;
  GeneratorKind generator = GeneratorKind::Numpy;
  double eta = 0.0;                 // DDIM's eta
  int clip_skip = 0;                // 0: last layer; n: the layer n before the last (Diffusers clip_skip)
  int threads = 0;                  // this run's threads; 0: PipelineOptions::threads
  // Optional initial latents, NCHW [images, 4, height/8, width/8], used instead of drawing them.
  std::vector<float> latents;
  bool return_latents = false;
  // Called after every model evaluation; return false to cancel (generate throws Cancelled).
  std::function<bool(const StepInfo&)> callback;

  // Checks every field against Limits, as far as it can without the model (generate() also checks
  // what depends on it: clip_skip against the text encoder's layers, the latents' shape). Throws
  // InvalidArgument naming the first bad field (as `names` calls it).
  void validate(const FieldNames& names = {}) const;
};

struct GenerateTimings {
  double text_encoder_s = 0;
  std::vector<double> unet_steps_s;  // one entry per model evaluation (UNet call)
  double vae_decode_s = 0;
  double total_s = 0;
};

struct GenerateResult {
  std::vector<Image> images;   // prompt-major: prompt 0's images first
  std::vector<uint64_t> seeds;  // the seed of each image
  std::vector<float> latents;   // final latents (before the VAE), when requested
  std::vector<int64_t> latents_shape;
  std::string scheduler;        // class name of the scheduler used
  std::vector<std::string> warnings;  // e.g. the part of a prompt that was truncated
  GenerateTimings timings;
};

// What was loaded, for messages and metadata.
struct PipelineInfo {
  std::string path;              // the model folder
  std::string name;              // folder name
  std::string unet_class, vae_class, text_encoder_class, scheduler_class;
  std::vector<std::string> weight_files;  // every weights file read
  std::vector<std::string> notes;         // e.g. "safety_checker present: not run"
  int64_t unet_parameters = 0, vae_parameters = 0, text_encoder_parameters = 0;
  int default_height = 0, default_width = 0;
  double load_s = 0;
  std::string dtype;
};

class Pipeline {
 public:
  // Loads a Diffusers pipeline folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/,
  // scheduler/). Throws Error naming what is missing or wrong.
  static std::unique_ptr<Pipeline> from_pretrained(const std::string& path,
                                                   const PipelineOptions& options = {});
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Replaces the scheduler by class name or alias, built from the model's scheduler config
  // (as SchedulerClass.from_config(pipe.scheduler.config)). Throws InvalidArgument listing the names.
  void set_scheduler(const std::string& name);
  // Replaces the VAE by the AutoencoderKL / AutoencoderTiny component folder `path`.
  void set_vae(const std::string& path);

  // Thread-safe: several threads may call generate() on one Pipeline at the same time (the loaded
  // models are read-only; each call has its own execution context and scheduler). set_scheduler
  // and set_vae must not be called while a generate() runs.
  GenerateResult generate(const GenerateRequest& request) const;
  const PipelineInfo& info() const;

  // Scheduler names accepted by set_scheduler (class names and aliases).
  static std::vector<std::string> scheduler_names();

  struct Impl;

 private:
  explicit Pipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sdfast
