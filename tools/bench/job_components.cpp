// Bench jobs "unet", "text_encoder" and "vae_decode": one model component alone, built from its
// folder's config.json with seeded random weights (the cost does not depend on the values), at the
// shapes the pipeline runs it at.
//
// Common params: folder (the component folder), dtype (f32 / bf16), attention (flash / naive),
// seed, threads, repeats, warmup.
//   unet:         batch (2 = one image with classifier-free guidance), latent (h = w), tokens,
//                 timestep; deepcache_branch >= 0 (default -1: off) times DeepCache's full and
//                 partial calls instead, and with `schedules` ([{scheduler, steps}], configs from
//                 the pipeline folder above `folder`) and `intervals` derives the UNet time per
//                 image of each schedule and cache interval (deepcache_estimates)
//   text_encoder: batch (sequences of max_position_embeddings token ids)
//   vae_decode:   batch, latent (h = w); AutoencoderKL or AutoencoderTiny by config _class_name,
//                 decoder only
#include <filesystem>

#include "bench/job.h"
#include "bench/measure.h"
#include "core/error.h"
#include "io/json.h"
#include "io/weights.h"
#include "io/diffusers_folder.h"
#include "models/component_loader.h"
#include "models/unet_deep_cache.h"
#include "schedulers/scheduler.h"

namespace sdfast::bench::detail {

namespace fs = std::filesystem;

namespace {

DType dtype_param(const Job& job) {
  const std::string s = param<std::string>(job, "dtype");
  if (s == "f32") return DType::F32;
  if (s == "bf16") return DType::BF16;
  fail_argument("bench job '", job.id, "': dtype must be f32 or bf16, got '", s, "'");
}

RuntimeOptions runtime_options(const Job& job) {
  RuntimeOptions o;
  o.threads = param<int>(job, "threads", 0);
  o.precision = dtype_param(job);
  const std::string attention = param<std::string>(job, "attention", "flash");
  if (attention != "flash" && attention != "naive")
    fail_argument("bench job '", job.id, "': attention must be flash or naive, got '", attention,
                  "'");
  o.attention = attention == "naive" ? AttentionKernel::Naive : AttentionKernel::Flash;
  return o;
}

// A size parameter in [1, limit].
int64_t size_param(const Job& job, const char* key, int64_t limit) {
  const int64_t v = param<int64_t>(job, key);
  if (v < 1 || v > limit)
    fail_argument("bench job '", job.id, "': ", key, " must be 1..", limit, ", got ", v);
  return v;
}

Tensor randn(Shape shape, uint64_t seed) {
  Tensor t = Tensor::empty(std::move(shape), DType::F32);
  fill_randn(t.data<float>(), t.numel(), seed);
  return t;
}

// The job's "folder" as a component (config only: weights are random), through the production
// loader.
Component component(const Job& job) {
  FolderOptions fo;
  fo.require_weights = false;
  return open_component_folder(param<std::string>(job, "folder"), fo);
}

// DeepCache: params.repeats full calls (timed as usual), then as many partial calls, then the UNet
// time per image each schedule x interval implies (calls counted with the pipeline's rule).
void time_deepcache_calls(const Job& job, Runtime& rt, const models::UNet2DConditionModel& unet,
                          const Tensor& sample, double timestep, const Tensor& context, int branch,
                          nlohmann::json& result) {
  models::UNetDeepCache cache(models::make_deepcache_plan(unet.block_layout(), branch));
  const std::vector<double> t{timestep};
  const auto full = [&] { unet.forward(rt, sample, t, context, cache, true); };
  const auto partial = [&] { unet.forward(rt, sample, t, context, cache, false); };
  time_calls(
      job, rt.threads(),
      [&] {
        full();
        partial();
      },
      full, result);
  std::vector<double> wall, cpu;
  for (int i = 0; i < param<int>(job, "repeats"); ++i) {
    Stopwatch sw;
    partial();
    wall.push_back(sw.wall_s());
    cpu.push_back(sw.cpu_s());
    std::fprintf(stderr, "  [%s] partial call %d: %.3f s wall, %.3f s cpu\n", job.id.c_str(), i + 1,
                 wall.back(), cpu.back());
  }
  result["deepcache_branch"] = branch;
  result["partial_wall_s"] = wall;
  result["partial_cpu_s"] = cpu;
  result["partial_median_s"] = median(wall);
  const double full_s = result["median_s"].get<double>(), partial_s = median(wall);
  std::vector<double> full_cpu = result["cpu_s"].get<std::vector<double>>();
  const double full_cpu_s = median(full_cpu), partial_cpu_s = median(cpu);
  result["full_cpu_median_s"] = full_cpu_s;
  result["partial_cpu_median_s"] = partial_cpu_s;

  nlohmann::json estimates = nlohmann::json::array();
  const fs::path pipeline_dir = fs::path(param<std::string>(job, "folder")).parent_path();
  const nlohmann::json schedules = job.params.value("schedules", nlohmann::json::array());
  const std::vector<int> intervals =
      job.params.value("intervals", nlohmann::json::array()).get<std::vector<int>>();
  for (const nlohmann::json& s : schedules) {
    if (!s.is_object() || !s.contains("scheduler") || !s.contains("steps") ||
        !s["scheduler"].is_string() || !s["steps"].is_number_integer())
      fail_argument("bench job '", job.id, "': schedules entries are {scheduler, steps}, got ",
                    s.dump());
    const std::string name = s["scheduler"].get<std::string>();
    const int steps = s["steps"].get<int>();
    auto scheduler = make_scheduler(
        name, Config::load((pipeline_dir / "scheduler" / "scheduler_config.json").string()));
    scheduler->set_timesteps(steps);
    const std::vector<double> timesteps = scheduler->timesteps();
    const int calls = int(timesteps.size());
    for (int interval : intervals) {
      models::DeepCacheSchedule schedule(interval, timesteps);
      int full_calls = 0;
      for (double ts : timesteps) full_calls += schedule.next_call_is_full(ts);
      const int partial_calls = calls - full_calls;
      const double cached = full_calls * full_s + partial_calls * partial_s;
      const double cached_cpu = full_calls * full_cpu_s + partial_calls * partial_cpu_s;
      estimates.push_back({{"scheduler", name},
                           {"steps", steps},
                           {"interval", interval},
                           {"calls", calls},
                           {"full_calls", full_calls},
                           {"uncached_unet_s", calls * full_s},
                           {"cached_unet_s", cached},
                           {"speedup", calls * full_s / cached},
                           {"uncached_unet_cpu_s", calls * full_cpu_s},
                           {"cached_unet_cpu_s", cached_cpu},
                           {"speedup_cpu", calls * full_cpu_s / cached_cpu}});
    }
  }
  result["deepcache_estimates"] = estimates;
}

}  // namespace

nlohmann::json run_unet_job(const Job& job) {
  const int64_t batch = size_param(job, "batch", 64), latent = size_param(job, "latent", 512);
  const int64_t tokens = size_param(job, "tokens", 1024);
  const double timestep = param<double>(job, "timestep", 981.0);
  const uint64_t seed = param<uint64_t>(job, "seed", 0);
  nlohmann::json result;
  Runtime rt(runtime_options(job));
  Stopwatch load;
  const auto loaded = models::load_unet(rt, component(job), {.random = true, .seed = seed});
  const models::UNet2DConditionModel& unet = loaded.model;
  record_load(load.wall_s(), result);
  const auto& c = unet.config();
  const Tensor sample = randn({batch, c.in_channels, latent, latent}, seed + 1);
  const Tensor context = randn({batch, tokens, c.cross_attention_dim.at(0)}, seed + 2);
  const int branch = param<int>(job, "deepcache_branch", -1);
  if (branch >= 0) {
    time_deepcache_calls(job, rt, unet, sample, timestep, context, branch, result);
  } else {
    const auto forward = [&] { unet.forward(rt, sample, timestep, context); };
    time_calls(job, rt.threads(), forward, forward, result);
  }
  result["parameters"] = unet.num_parameters();
  result["sample_shape"] = sample.shape();
  result["context_shape"] = context.shape();
  return result;
}

nlohmann::json run_text_encoder_job(const Job& job) {
  const int64_t batch = size_param(job, "batch", 64);
  const uint64_t seed = param<uint64_t>(job, "seed", 0);
  nlohmann::json result;
  Runtime rt(runtime_options(job));
  Stopwatch load;
  const auto loaded = models::load_text_encoder(rt, component(job), {.random = true, .seed = seed});
  const models::CLIPTextModel& encoder = loaded.model;
  record_load(load.wall_s(), result);
  const auto& c = encoder.config();
  // Token ids spread over the vocabulary; the cost does not depend on them.
  const int64_t len = c.max_position_embeddings;
  Tensor ids = Tensor::empty({batch, len}, DType::I32);
  for (int64_t i = 0; i < ids.numel(); ++i)
    ids.data<int32_t>()[i] = int32_t((i * 7919 + 49406) % c.vocab_size);
  const auto encode = [&] { encoder.encode(rt, ids); };
  time_calls(job, rt.threads(), encode, encode, result);
  result["parameters"] = loaded.parameters;
  result["ids_shape"] = ids.shape();
  return result;
}

nlohmann::json run_vae_decode_job(const Job& job) {
  const int64_t batch = size_param(job, "batch", 64), latent = size_param(job, "latent", 512);
  const uint64_t seed = param<uint64_t>(job, "seed", 0);
  nlohmann::json result;
  Runtime rt(runtime_options(job));
  const Component c = component(job);
  const std::string cls = c.class_name;
  Stopwatch load;
  const models::AutoencoderParts decoder_only{/*encoder=*/false, /*decoder=*/true};
  const auto loaded = models::load_vae(rt, c, {.random = true, .seed = seed}, decoder_only);
  const std::unique_ptr<models::Vae>& vae = loaded.model;
  record_load(load.wall_s(), result);
  const Tensor latents = randn({batch, vae->latent_channels(), latent, latent}, seed + 1);
  const auto decode = [&] { vae->decode(rt, latents); };
  time_calls(job, rt.threads(), decode, decode, result);
  result["class"] = cls;
  result["parameters"] = loaded.parameters;
  result["latents_shape"] = latents.shape();
  return result;
}

}  // namespace sdfast::bench::detail
