// Bench job "pipeline": end-to-end text-to-image latency through the public Pipeline API, as a
// user of `sdfast generate` sees it once the model is loaded.
//
// params: model (pipeline folder), vae ("" or a VAE component folder to swap in), dtype,
// vae_dtype ("" = dtype), scheduler, steps, images (num_images_per_prompt), size (height = width),
// attention, prompt, seed, threads, repeats, warmup, estimate_from_steps (0: run all `steps`).
//
// With estimate_from_steps = k > 0 each repetition runs k steps end to end (text encoder, k steps,
// VAE decode) and reports latency = measured total - time in the k steps + (model evaluations of
// the full schedule) x (median step time of that repetition): an extrapolation, flagged as such.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "bench/job.h"
#include "bench/measure.h"
#include "core/error.h"
#include "io/json.h"
#include "schedulers/scheduler.h"
#include "common/demo_model.h"
#include "sdfast/pipeline.h"

namespace sdfast::bench::detail {

namespace {

// Model evaluations the pipeline makes for `steps` steps of `scheduler` on `model`'s schedule.
int model_evaluations(const std::string& model, const std::string& scheduler, int steps) {
  const auto config_path = std::filesystem::path(model) / "scheduler" / "scheduler_config.json";
  auto s = make_scheduler(scheduler, Config::load(config_path.string()));
  s->set_timesteps(steps);
  return int(s->timesteps().size());
}

}  // namespace

nlohmann::json run_pipeline_job(const Job& job) {
  const std::string model = param<std::string>(job, "model");
  const std::string vae = param<std::string>(job, "vae", "");
  const std::string scheduler = param<std::string>(job, "scheduler");
  const int steps = param<int>(job, "steps"), images = param<int>(job, "images");
  const int size = param<int>(job, "size");
  const int estimate = param<int>(job, "estimate_from_steps", 0);
  if (estimate < 0 || estimate > steps)
    fail_argument("bench job '", job.id, "': estimate_from_steps must be 0..", steps, ", got ",
                  estimate);

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
  // Warm-up: the same shapes (batch, size, decode) with at most two steps creates every oneDNN
  // primitive and packs every weight the timed runs use.
  GenerateRequest warm = request;
  warm.num_inference_steps = std::min(request.num_inference_steps, 2);

  const int evaluations = model_evaluations(model, scheduler, steps);
  std::vector<double> latency, measured, text_encoder, decode, step_median;
  int measured_evaluations = 0;
  const auto run = [&] {
    const GenerateResult r = pipe->generate(request);
    const GenerateTimings& t = r.timings;
    SDFAST_CHECK(!t.unet_steps_s.empty(), "bench job '", job.id, "': no UNet step was timed");
    double in_steps = 0;
    for (double s : t.unet_steps_s) in_steps += s;
    measured_evaluations = int(t.unet_steps_s.size());
    measured.push_back(t.total_s);
    text_encoder.push_back(t.text_encoder_s);
    decode.push_back(t.vae_decode_s);
    step_median.push_back(median(t.unet_steps_s));
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
  result["unet_step_median_s"] = step_median;
  return result;
}

}  // namespace sdfast::bench::detail
