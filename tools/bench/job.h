// One benchmark measurement ("job"), run in a process of its own so that its peak resident memory
// (VmHWM, which is per process) belongs to it alone. The parent describes the job as JSON; the
// child (`sdfast bench --one JOB --result FILE`) builds the model, runs warm-up and timed
// repetitions, and writes a result JSON. Kinds:
//
//   pipeline      Pipeline::from_pretrained + generate (end to end), or a short run extrapolated
//                 to the full step count (params.estimate_from_steps > 0)
//   unet          UNet2DConditionModel::forward at one batch and latent size
//   text_encoder  CLIPTextModel::encode of `batch` sequences of 77 token ids
//   vae_decode    AutoencoderKL / AutoencoderTiny decode of one latent
//   attention     the attention kernel alone (flash or naive) at one shape
//   matmul        a plain oneDNN matmul (the roofline calibration)
//   lora          a random rank-R LoRA on a UNet: load + merge time, or a step's cost unmerged
//   concurrent    two requests on one loaded pipeline, at once on two threads or one after the other
//
// Every result has: kind, threads, load_s, rss_after_load_mb, peak_rss_mb (VmHWM of the whole
// process), run_peak_rss_mb (peak during the timed repetitions, VmHWM reset after the warm-up;
// null where the kernel does not allow the reset), wall_s and cpu_s (one entry per timed
// repetition), median_s, cpu_utilization (CPU time / (wall time x threads) over the repetitions),
// load_average_start, plus kind-specific fields.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace sdfast::bench {

struct Job {
  std::string id;         // unique within a run, e.g. "t1.bf16"
  std::string kind;       // see above
  nlohmann::json params;  // kind-specific; repeats, warmup, threads, seed for all

  nlohmann::json to_json() const;
  // Throws InvalidArgument naming the missing or mistyped field.
  static Job from_json(const nlohmann::json& j);
};

// Runs `job` in this process and returns its result. Throws Error / InvalidArgument.
nlohmann::json run_job_here(const Job& job);

// The pieces the kinds share (job_*.cpp).
namespace detail {

// A required parameter of `job`; throws InvalidArgument naming the job and the key.
template <class T>
T param(const Job& job, const char* key);
template <class T>
T param(const Job& job, const char* key, const T& fallback);

// Runs params.warmup untimed calls of `warmup_fn`, resets the peak-RSS mark, then
// params.repeats timed calls of `fn`, and fills the common result fields (wall_s, cpu_s,
// median_s, cpu_utilization, peak_rss_mb, run_peak_rss_mb, threads) into `result`. Logs one line
// per call to stderr.
void time_calls(const Job& job, int threads, const std::function<void()>& warmup_fn,
                const std::function<void()>& fn, nlohmann::json& result);

// Records load_s and the resident memory after loading (rss_after_load_mb).
void record_load(double load_s, nlohmann::json& result);

// Seeded standard-normal float32 values (inputs only; weights come from RandomWeights).
void fill_randn(float* data, int64_t n, uint64_t seed);

nlohmann::json run_pipeline_job(const Job& job);
nlohmann::json run_unet_job(const Job& job);
nlohmann::json run_text_encoder_job(const Job& job);
nlohmann::json run_vae_decode_job(const Job& job);
nlohmann::json run_attention_job(const Job& job);
nlohmann::json run_matmul_job(const Job& job);
nlohmann::json run_lora_job(const Job& job);
nlohmann::json run_concurrent_job(const Job& job);

}  // namespace detail

}  // namespace sdfast::bench
