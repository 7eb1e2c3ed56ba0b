// sdfast's benchmark: the speed-up guide's tables reproduced on this CPU, at full size, with the
// real architectures built from their config.json files and seeded random weights.
//
//   Table 1  SD1.5, 1 image 512x512, 50 DDIM steps: fp32 baseline vs bf16 (the guide's fp16).
//   Table 2  4 images 512x512, 25 PNDM steps, bf16: SD1.5 vs BK-SDM-small vs BK-SDM-small + TAESD.
//   Table 3  components: UNet step with guidance (fp32/bf16, effective TFLOP/s), text encoder,
//            VAE and TAESD decode, attention flash vs naive (time and memory).
//   Table 4  (opt-in) DeepCache: SD1.5 and BK-SDM-small at 512x512, bf16 then fp32: full and
//            partial UNet calls, and the UNet time per image for 50 DDIM / 25 PNDM steps with
//            cache interval N = 2, 3, 5 against no caching (end to end with deepcache_full_runs).
//
// Every measurement runs in a process of its own (the benchmark re-runs its own executable with
// `child_command`), so its peak resident memory (VmHWM) is its own. Medians over repeats.
//
//   sdfast::bench::BenchOptions o;
//   o.child_command = {"/proc/self/exe", "bench"};   // + {"--one", JOB, "--result", FILE}
//   o.tables = {1, 3};
//   auto report = sdfast::bench::run_benchmarks(o);
//   std::cout << report.markdown;
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace sdfast::bench {

struct BenchOptions {
  std::vector<int> tables = {1, 2, 3};  // which of the tables to run (the roofline always runs)
  int repeats = 3;                      // timed repetitions per measurement (medians reported)
  int warmup = 1;                       // untimed runs before them
  // Tables 1 and 2: 0 runs every step; N > 0 runs N steps end to end and extrapolates to the
  // full step count from the median step time (reported as an estimate).
  int estimate_from_steps = 0;
  // Tiny golden models at 128x128 and a few steps: a smoke run in seconds (numbers meaningless).
  bool quick = false;
  // Table 3 also times the UNets of BK-SDM-base/-tiny and SD 2.1-base and the OpenCLIP-H encoder.
  bool extra_models = false;
  // Table 4 also runs every model x scheduler x dtype x cache interval end to end (32 full
  // generations; hours on a small machine). Without it table 4 times full and partial UNet calls
  // and derives the UNet time per image.
  bool deepcache_full_runs = false;
  // Where the model folders are: the architectures (stable-diffusion-v1-5, bk-sdm-small, ...) or,
  // in quick mode, the tiny golden models. "": the copies in the source tree (see plan.h).
  std::string models_dir;
  int threads = 0;  // 0: all cores
  // argv prefix that runs one measurement in a new process; the runner appends
  // {"--one", <job JSON>, "--result", <file>}. Required.
  std::vector<std::string> child_command;
  // Written after every measurement (complete: false until the end) and at the end; "": none.
  std::string json_path;
  // The command line, recorded in the report.
  std::string command_line;
  // Progress lines (which measurement runs now); null: silent.
  std::function<void(const std::string&)> log;
};

struct BenchReport {
  std::string markdown;  // the tables
  std::string json;      // everything, machine-readable (schema "sdfast-bench/1")
  int failures = 0;      // measurements that did not complete
};

// Runs the benchmark. Throws InvalidArgument for bad options or missing model folders (before
// measuring anything); a measurement that fails is reported in the tables, not thrown.
BenchReport run_benchmarks(const BenchOptions& options);

// "sdfast-bench-20250131-120000.json" (UTC now): the report's default file name.
std::string default_json_report_name();

// The markdown tables of a JSON report written by run_benchmarks (e.g. to re-render a saved run).
// Throws Error when `json_text` is not such a report.
std::string render_report_markdown(const std::string& json_text);

// The child side of one measurement: runs the job described by `job_json` in this process and
// writes its result JSON to `result_path` ({"error": message} when it throws, then rethrows).
void run_job(const std::string& job_json, const std::string& result_path);

}  // namespace sdfast::bench
