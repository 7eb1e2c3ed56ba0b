// unet_forward: one UNet2DConditionModel, built from a Diffusers component folder, timed.
//
//   build/bench/unet_forward /work/shared/configs/stable-diffusion-v1-5/unet --dtype bf16
//
// Loads the folder's diffusion_pytorch_model.safetensors when there is one, else seeded random
// weights (config-only folders). Runs --warmup + --runs forward passes on seeded random inputs
// (sample [batch, in_channels, H, W] for --size HxW latents, encoder_hidden_states
// [batch, --tokens, cross_attention_dim]) and prints the parameter count, load time, each
// forward's wall and process CPU time, the peak resident memory (VmHWM) and output statistics.
// Per-op breakdown: run it under `perf record` (own kernels by symbol, oneDNN's JIT code with
// DNNL_JIT_PROFILE=1) or with ONEDNN_VERBOSE=1 (per-primitive execution times).
#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "core/runtime.h"
#include "models/unet_2d_condition_model.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU time of the whole process (all threads), in seconds.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// VmHWM / VmRSS from /proc/self/status, in MiB.
double proc_status_mib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  return -1;
}

sdfast::Tensor randn(sdfast::Shape shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  sdfast::Tensor t = sdfast::Tensor::empty(std::move(shape));
  for (float& v : t.span<float>()) v = d(rng);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sdfast;
  CLI::App app("Time UNet2DConditionModel forward passes");
  std::string folder, dtype = "f32", size = "64x64";
  int batch = 2, runs = 1, warmup = 1, threads = 0, tokens = 77;
  uint64_t seed = 0;
  double timestep = 981;
  bool naive = false;
  app.add_option("folder", folder, "UNet component folder (config.json [+ weights])")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--dtype", dtype, "f32 or bf16")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->capture_default_str();
  app.add_option("--size", size, "latent HxW")->capture_default_str();
  app.add_option("--batch", batch, "batch (2 = one image with classifier-free guidance)")
      ->capture_default_str();
  app.add_option("--tokens", tokens, "encoder_hidden_states length")->capture_default_str();
  app.add_option("--runs", runs, "timed forward passes")->capture_default_str();
  app.add_option("--warmup", warmup,
                 "untimed forward passes first (primitive creation, weight packing)")
      ->capture_default_str();
  app.add_option("--threads", threads, "threads (0: all cores)")->capture_default_str();
  app.add_option("--seed", seed, "seed of the random weights and inputs")->capture_default_str();
  app.add_option("--timestep", timestep, "timestep")->capture_default_str();
  app.add_flag("--naive-attention", naive, "use the reference attention kernel");
  CLI11_PARSE(app, argc, argv);

  try {
    int64_t h = 0, w = 0;
    if (std::sscanf(size.c_str(), "%ldx%ld", &h, &w) != 2 || h <= 0 || w <= 0)
      fail_argument("--size must be HxW, got '", size, "'");
    Runtime rt(RuntimeOptions{threads, dtype == "bf16" ? DType::BF16 : DType::F32,
                              naive ? AttentionKernel::Naive : AttentionKernel::Flash});
    const bool has_weights = std::filesystem::exists(std::filesystem::path(folder) /
                                                     "diffusion_pytorch_model.safetensors");
    auto t0 = Clock::now();
    const models::UNet2DConditionModel unet =
        has_weights ? models::UNet2DConditionModel::from_pretrained(rt, folder)
                    : models::UNet2DConditionModel::from_config_random(rt, folder, seed);
    const double load_s = seconds_since(t0);
    const auto& c = unet.config();
    std::printf("model      %s (%s weights)\n", folder.c_str(), has_weights ? "file" : "random");
    std::printf("parameters %ld\n", long(unet.num_parameters()));
    std::printf("runtime    %s, %d threads, %s attention\n", dtype.c_str(), rt.threads(),
                naive ? "naive" : "flash");
    std::printf("load       %.2f s, VmRSS %.0f MiB\n", load_s, proc_status_mib("VmRSS"));

    const Tensor sample = randn({batch, c.in_channels, h, w}, seed + 1);
    const Tensor context = randn({batch, tokens, c.cross_attention_dim[0]}, seed + 2);
    Tensor out;
    for (int i = 0; i < warmup + runs; ++i) {
      t0 = Clock::now();
      const double cpu0 = process_cpu_seconds();
      out = unet.forward(rt, sample, timestep, context);
      std::printf("forward %d  %.3f s wall, %.3f s cpu%s\n", i, seconds_since(t0),
                  process_cpu_seconds() - cpu0, i < warmup ? " (warm-up)" : "");
      std::fflush(stdout);
    }
    double sum = 0, sq = 0;
    bool finite = true;
    for (float v : out.span<float>()) {
      finite = finite && std::isfinite(v);
      sum += v;
      sq += double(v) * v;
    }
    const double n = double(out.numel());
    std::printf("output     %s mean %.4g std %.4g%s\n", out.describe().c_str(), sum / n,
                std::sqrt(std::max(0.0, sq / n - (sum / n) * (sum / n))),
                finite ? "" : " NOT FINITE");
    std::printf("peak RSS   %.0f MiB (VmHWM)\n", proc_status_mib("VmHWM"));
    return finite ? 0 : 1;
  } catch (const InvalidArgument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
