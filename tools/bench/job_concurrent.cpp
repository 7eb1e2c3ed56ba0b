// Bench job "concurrent": two requests on ONE loaded pipeline, either at the same time on two
// threads with `threads_each` OpenMP threads each (mode "concurrent"), or one after the other with
// `threads_each` threads (mode "sequential"). One timed repetition is the pair of requests; the
// result gives the pair's wall time, the throughput (images per minute) and the peak memory: one
// copy of the weights either way, since the runs share the read-only models and only their
// activations are their own.
//
// params: model, dtype, scheduler, steps, size, mode, threads_each, repeats, warmup, seed.
#include <algorithm>
#include <exception>
#include <thread>

#include "bench/job.h"
#include "bench/measure.h"
#include "core/error.h"
#include "core/runtime.h"
#include "common/demo_model.h"
#include "sdfast/pipeline.h"

namespace sdfast::bench::detail {

nlohmann::json run_concurrent_job(const Job& job) {
  const std::string mode = param<std::string>(job, "mode");
  if (mode != "concurrent" && mode != "sequential")
    fail_argument("bench job '", job.id, "': mode must be concurrent or sequential, got '", mode, "'");
  const int threads_each = param<int>(job, "threads_each");
  check_threads(threads_each);

  PipelineOptions opt;
  opt.dtype = parse_precision(param<std::string>(job, "dtype"));
  opt.random_weights = true;
  opt.fallback_tokenizer = bundled_tokenizer();  // config-only folders have no vocabulary
  opt.random_weights_seed = param<uint64_t>(job, "seed", 0);
  nlohmann::json result;
  Stopwatch load;
  const auto pipe = Pipeline::from_pretrained(param<std::string>(job, "model"), opt);
  pipe->set_scheduler(param<std::string>(job, "scheduler"));
  record_load(load.wall_s(), result);

  GenerateRequest a;
  a.prompts = {"a photo of an astronaut riding a horse on mars"};
  a.num_inference_steps = param<int>(job, "steps");
  a.height = a.width = param<int>(job, "size");
  a.threads = threads_each;
  a.seeds = {1};
  GenerateRequest b = a;
  b.prompts = {"a golden vase with different flowers"};
  b.seeds = {2};

  std::vector<double> unet_step_s;  // the timed pairs' steps
  bool timed = false;
  const auto keep_steps = [&](const GenerateResult& r) {
    if (timed) unet_step_s.insert(unet_step_s.end(), r.timings.unet_steps_s.begin(), r.timings.unet_steps_s.end());
  };
  const auto pair = [&] {
    if (mode == "sequential") {
      keep_steps(pipe->generate(a));
      keep_steps(pipe->generate(b));
      return;
    }
    GenerateResult ra, rb;
    std::exception_ptr error;
    std::thread other([&] {
      try {
        rb = pipe->generate(b);
      } catch (...) {
        error = std::current_exception();
      }
    });
    ra = pipe->generate(a);
    other.join();
    if (error) std::rethrow_exception(error);
    keep_steps(ra);
    keep_steps(rb);
  };
  const int total_threads = mode == "concurrent" ? 2 * threads_each : threads_each;
  time_calls(job, total_threads, pair, [&] {
    timed = true;
    pair();
  }, result);
  result["mode"] = mode;
  result["threads_each"] = threads_each;
  result["images_per_pair"] = 2;
  result["images_per_minute"] = 2 * 60.0 / result["median_s"].get<double>();
  result["unet_step_median_s"] = median(unet_step_s);
  return result;
}

}  // namespace sdfast::bench::detail
