// Bench job "pipeline": end-to-end text-to-image (or image-to-image) latency through the public
// Pipeline API, as a user of `sdfast generate` / `sdfast img2img` sees it once the model is loaded.
//
// params: model (pipeline folder), vae ("" or a VAE component folder to swap in), dtype,
// vae_dtype ("" = dtype), scheduler, steps, images (num_images_per_prompt), size (height = width),
// attention, prompt, seed, threads, repeats, warmup, estimate_from_steps (0: run all `steps`),
// strength (absent: text-to-image; else img2img from a synthetic init image at that strength).
// deepcache (cache interval, 0: off) and deepcache_branch (DeepCache rows: full runs only).
//
// With estimate_from_steps = k > 0 each repetition runs k steps end to end (text encoder, k steps,
// VAE decode) and reports latency = measured total - time in the k steps + (model evaluations of
// the full schedule) x (median step time of that repetition): an extrapolation, flagged as such.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "bench/job.h"
#include "bench/measure.h"
#include "core/error.h"
#include "io/json.h"
#include "pipeline/image_edit.h"
#include "schedulers/scheduler.h"
#include "common/demo_model.h"
#include "sdfast/pipeline.h"

namespace sdfast::bench::detail {

namespace {

// Model evaluations the pipeline makes for `steps` steps of `scheduler` on `model`'s schedule
// (img2img: the tail of the schedule that `strength` selects, as Diffusers' get_timesteps).
int model_evaluations(const std::string& model, const std::string& scheduler, int steps,
                      std::optional<double> strength) {
  const auto config_path = std::filesystem::path(model) / "scheduler" / "scheduler_config.json";
  auto s = make_scheduler(scheduler, Config::load(config_path.string()));
  s->set_timesteps(steps);
  const int all = int(s->timesteps().size());
  return strength ? all - int(first_timestep_index(steps, *strength, s->order())) : all;
}

// A smooth synthetic picture (gradients) to start img2img from.
Image gradient_image(int size) {
  Image im{size, size, std::vector<uint8_t>(size_t(size) * size_t(size) * 3)};
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      uint8_t* p = &im.rgb[(size_t(y) * size_t(size) + size_t(x)) * 3];
      p[0] = uint8_t(x * 255 / size);
      p[1] = uint8_t(y * 255 / size);
      p[2] = uint8_t(128);
    }
  return im;
}

}  // namespace

nlohmann::json run_pipeline_job(const Job& job) {
  const std::string model = param<std::string>(job, "model");
  const std::string vae = param<std::string>(job, "vae", "");
  const std::string scheduler = param<std::string>(job, "scheduler");
  const int steps = param<int>(job, "steps"), images = param<int>(job, "images");
  const int size = param<int>(job, "size");
  const int estimate = param<int>(job, "estimate_from_steps", 0);
  std::optional<double> strength;
  if (job.params.contains("strength")) strength = param<double>(job, "strength", 0.0);
  if (estimate < 0 || estimate > steps)
    fail_argument("bench job '", job.id, "': estimate_from_steps must be 0..", steps, ", got ",
                  estimate);
  const int deepcache = param<int>(job, "deepcache", 0);
  if (deepcache > 1 && estimate > 0)
    fail_argument("bench job '", job.id,
                  "': a DeepCache run mixes full and partial UNet calls and "
                  "cannot be extrapolated from a few steps (estimate_from_steps must be 0)");

  PipelineOptions opt;
  opt.dtype = parse_precision(param<std::string>(job, "dtype"));
  if (const std::string vae_dtype = param<std::string>(job, "vae_dtype", ""); !vae_dtype.empty())
    opt.vae_dtype = parse_precision(vae_dtype, "vae_dtype");
  opt.threads = param<int>(job, "threads", 0);
  opt.attention = parse_attention(param<std::string>(job, "attention", "flash"));
  opt.random_weights = true;
  opt.fallback_tokenizer = bundled_tokenizer();  // config-only folders have no vocabulary
  opt.random_weights_seed = param<uint64_t>(job, "seed", 0);

  nlohmann::json result;
  Stopwatch load;
  auto pipe = Pipeline::from_pretrained(model, opt);
  pipe->set_scheduler(scheduler);
  if (!vae.empty()) pipe->set_vae(vae);
  record_load(load.wall_s(), result);
  const PipelineInfo& info = pipe->info();
  result["model"] = {{"name", info.name},
                     {"unet_class", info.unet_class},
                     {"unet_parameters", info.unet_parameters},
                     {"vae_class", info.vae_class},
                     {"vae_parameters", info.vae_parameters},
                     {"text_encoder_parameters", info.text_encoder_parameters},
                     {"scheduler", info.scheduler_class},
                     {"notes", info.notes}};

  GenerateRequest request;
  request.prompts = {
      param<std::string>(job, "prompt", "a photo of an astronaut riding a horse on mars")};
  request.num_images_per_prompt = images;
  request.height = request.width = size;
  request.num_inference_steps = estimate > 0 ? estimate : steps;
  request.seeds = {opt.random_weights_seed};
  if (strength) {
    request.image = gradient_image(size);
    request.strength = *strength;
    // At least one step must run when only a few are measured (estimate_from_steps).
    while (int(request.num_inference_steps * *strength) < 1) ++request.num_inference_steps;
  }
  request.deepcache_interval = deepcache;
  request.deepcache_branch_id = param<int>(job, "deepcache_branch", 0);
  // Warm-up: the same shapes (batch, size, decode) with at most two steps creates every oneDNN
  // primitive and packs every weight the timed runs use.
  GenerateRequest warm = request;
  warm.num_inference_steps = std::min(request.num_inference_steps, strength ? request.num_inference_steps : 2);

  const int evaluations = model_evaluations(model, scheduler, steps, strength);
  std::vector<double> latency, measured, text_encoder, encode, decode, step_median, full_median,
      partial_median;
  int measured_evaluations = 0, full_calls = 0;
  const auto run = [&] {
    const GenerateResult r = pipe->generate(request);
    const GenerateTimings& t = r.timings;
    SDFAST_CHECK(!t.unet_steps_s.empty(), "bench job '", job.id, "': no UNet step was timed");
    double in_steps = 0;
    for (double s : t.unet_steps_s) in_steps += s;
    measured_evaluations = int(t.unet_steps_s.size());
    measured.push_back(t.total_s);
    text_encoder.push_back(t.text_encoder_s);
    encode.push_back(t.vae_encode_s);
    decode.push_back(t.vae_decode_s);
    step_median.push_back(median(t.unet_steps_s));
    if (deepcache > 1) {  // DeepCache: full and partial UNet calls separately
      std::vector<double> full, partial;
      for (size_t i = 0; i < t.unet_steps_s.size(); ++i)
        (std::find(t.deepcache_full_calls.begin(), t.deepcache_full_calls.end(), int(i)) !=
                 t.deepcache_full_calls.end()
             ? full
             : partial)
            .push_back(t.unet_steps_s[i]);
      full_calls = int(full.size());
      if (!full.empty()) full_median.push_back(median(full));
      if (!partial.empty()) partial_median.push_back(median(partial));
    }
    latency.push_back(estimate > 0 ? t.total_s - in_steps + evaluations * step_median.back()
                                   : t.total_s);
  };
  // Each run sets OpenMP's thread count on its own thread: opt.threads, or this thread's default.
  time_calls(
      job, opt.threads > 0 ? opt.threads : omp_get_max_threads(), [&] { pipe->generate(warm); }, run, result);

  result["estimated"] = estimate > 0;
  result["measured_steps"] = request.num_inference_steps;
  result["measured_evaluations"] = measured_evaluations;
  result["steps"] = steps;
  result["unet_evaluations"] = evaluations;
  result["latency_s"] = latency;
  result["latency_median_s"] = median(latency);
  result["measured_total_s"] = measured;
  result["text_encoder_s"] = text_encoder;
  result["vae_decode_s"] = decode;
  if (strength) {
    result["strength"] = *strength;
    result["vae_encode_s"] = encode;
  }
  result["unet_step_median_s"] = step_median;
  if (deepcache > 1) {
    result["deepcache"] = deepcache;
    result["deepcache_branch"] = request.deepcache_branch_id;
    result["unet_full_calls"] = full_calls;
    result["unet_full_step_median_s"] = full_median;
    result["unet_partial_step_median_s"] = partial_median;
  }
  return result;
}

}  // namespace sdfast::bench::detail
