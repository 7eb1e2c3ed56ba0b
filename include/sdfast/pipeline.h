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
//
// Image-to-image and inpainting (StableDiffusionImg2ImgPipeline / StableDiffusionInpaintPipeline):
//   req.image = sdfast::load_image("photo.png");          // init image
//   req.strength = 0.6;                                   // run the last 60 % of the schedule
//   auto edited = pipe->img2img(req);
//   req.mask_image = sdfast::load_image("mask.png");      // white: repaint
//   auto painted = pipe->inpaint(req);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sdfast/error.h"
#include "sdfast/generator_state.h"
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
  // Instead of seeds: one numpy PCG64 state per image (generator Numpy), to continue generators
  // the caller already holds; GenerateResult::generator_states hands back where they ended.
  std::vector<GeneratorState> generator_states;
  // This run's scheduler: a class name or alias set_scheduler takes, built from the model's
  // scheduler config; empty: the pipeline's (set_scheduler). Lets concurrent runs on one pipeline
  // use different schedulers.
  std::string scheduler;
  double eta = 0.0;                 // DDIM's eta
  int clip_skip = 0;                // 0: last layer; n: the layer n before the last (Diffusers clip_skip)
  int threads = 0;                  // this run's threads; 0: PipelineOptions::threads
  // Optional initial latents, NCHW [images, 4, height/8, width/8], used instead of drawing them.
  std::vector<float> latents;
  bool return_latents = false;
  bool return_float_images = false;  // GenerateResult::float_images (output_type="np")
  // Image-to-image and inpainting, with Diffusers' argument names. Without `image`, generate() makes
  // images from noise (text-to-image); with `image` alone it starts from that picture (img2img);
  // with `image` and `mask_image` it repaints the mask's white part (inpainting). The init image sets
  // the output size: height and width are 0 or equal to it, both multiples of 8 (no resizing). The
  // mask has the image's size; its grey value (PIL's "L" conversion) >= 128 marks pixels to repaint.
  // A 9-channel (inpainting) UNet takes the mask as input; an ordinary 4-channel UNet keeps the
  // known region by blending it back after every step, as Diffusers' legacy path does.
  std::optional<Image> image;
  std::optional<Image> mask_image;
  // How far into the noise the init image goes: int(steps * strength) of the num_inference_steps
  // steps run, the last ones of the schedule (0 < strength <= 1; at 1 inpainting starts from pure
  // noise). 0.8 is Diffusers' img2img default; its inpainting default is 1.0.
  double strength = 0.8;
  // DeepCache (opt-in, approximate): compute the UNet's deep features on every
  // deepcache_interval-th step only and reuse them in between (0 or 1: off, the exact output).
  // deepcache_branch_id = 3 * block + layer picks how much of the UNet is reused (0: all but the
  // outermost layers; see docs/deepcache.md); parse_deepcache() reads "N[:BRANCH]".
  int deepcache_interval = 0;
  int deepcache_branch_id = 0;
  // Called after every model evaluation; return false to cancel (generate throws Cancelled).
  std::function<bool(const StepInfo&)> callback;

  // Checks every field against Limits, as far as it can without the model (generate() also checks
  // what depends on it: clip_skip against the text encoder's layers, the latents' shape). Throws
  // InvalidArgument naming the first bad field (as `names` calls it).
  void validate(const FieldNames& names = {}) const;
};

struct GenerateTimings {
  double text_encoder_s = 0;
  double vae_encode_s = 0;  // img2img / inpainting: the init (and masked) image encoded
  std::vector<double> unet_steps_s;  // one entry per model evaluation (UNet call)
  std::vector<int> deepcache_full_calls;  // with DeepCache: the UNet calls (0-based) that were full
  double vae_decode_s = 0;
  double total_s = 0;
};

struct GenerateResult {
  std::vector<Image> images;   // prompt-major: prompt 0's images first
  std::vector<uint64_t> seeds;  // the seed of each image
  std::vector<float> latents;   // final latents (before the VAE), when requested
  std::vector<int64_t> latents_shape;
  // The decoded images before 8-bit rounding, NHWC float32 in [0, 1], when requested.
  std::vector<float> float_images;
  // Each image's numpy generator state after the run (generator "numpy"): what a numpy
  // Generator that made the same draws would hold.
  std::vector<GeneratorState> generator_states;
  std::string scheduler;        // class name of the scheduler used
  std::vector<std::string> warnings;  // e.g. the part of a prompt that was truncated
  GenerateTimings timings;
};

// A LoRA file applied by Pipeline::load_lora.
struct LoraInfo {
  std::string path;
  int modules = 0;                  // low-rank modules in the file
  int unet_layers = 0;              // UNet layers it patches
  int text_encoder_layers = 0;      // text-encoder layers it patches
  std::vector<std::string> unmatched;  // modules that matched no layer (a partial match)
  std::string summary;              // "LoRA 'f': 12 of 14 modules matched (...); no layer for: ..."
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

// "N" or "N:BRANCH" (the CLI's --deepcache) -> {interval, branch id}; N from 1 to 1000 (1: off),
// BRANCH from 0 to 99 (checked against the UNet by generate()). Throws InvalidArgument naming
// what is wrong.
struct DeepCacheSetting {
  int interval = 0;
  int branch_id = 0;
};
DeepCacheSetting parse_deepcache(const std::string& text);

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
  // The same with a scheduler config given as JSON text (SchedulerClass.from_config(config, **kw)),
  // checked as the model's own would be.
  void set_scheduler(const std::string& name, const std::string& config_json);
  // Replaces the VAE by the AutoencoderKL / AutoencoderTiny component folder `path`.
  void set_vae(const std::string& path);

  // Text-to-image, img2img or inpainting, by which of request.image / mask_image are set.
  // Thread-safe: several threads may call generate() (img2img, inpaint) on one Pipeline at the same
  // time (the loaded models are read-only; each call has its own execution context, scheduler and
  // DeepCache features). set_scheduler, set_vae and the LoRA calls below change the pipeline: they
  // must not be called while a generation runs.
  GenerateResult generate(const GenerateRequest& request) const;
  // generate() after checking that request.image is set and mask_image is not (InvalidArgument).
  GenerateResult img2img(const GenerateRequest& request) const;
  // generate() after checking that request.image and request.mask_image are set (InvalidArgument).
  GenerateResult inpaint(const GenerateRequest& request) const;
  const PipelineInfo& info() const;

  // LoRA (kohya/A1111, Diffusers or PEFT .safetensors) on the UNet and the text encoder, as
  // Diffusers' load_lora_weights + cross_attention_kwargs={"scale": scale} (merge = false) or
  // + fuse_lora(lora_scale=scale) (merge = true: no cost per step). Several may be loaded, each
  // with its own scale. These change the models: never call them while generate() runs.
  // Throws InvalidArgument for a bad file (nothing is applied then).
  LoraInfo load_lora(const std::string& path, double scale = 1.0, bool merge = true);
  // The scale of LoRA `index` (load order); unmerged ones rebuild their small adapters (0.09 s for
  // a rank-64 LoRA on SD1.5), merged ones are merged again.
  void set_lora_scale(size_t index, double scale);
  // Removes every LoRA, restoring the original weights bit for bit.
  void unload_loras();

  // Scheduler names accepted by set_scheduler (class names and aliases).
  static std::vector<std::string> scheduler_names();

  struct Impl;

 private:
  explicit Pipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sdfast
