// Bench job "lora": a random rank-R LoRA (every attention, feed-forward, projection, resnet and
// resampler layer of the UNet, as LCM-LoRA covers them) on a UNet built from its config.json with
// seeded random weights (the cost does not depend on the values).
//
// params: folder (UNet folder), dtype, rank, seed, threads, repeats, warmup, and
//   mode "merge":     each timed call reads the LoRA file (float16, as LoRAs are shipped), merges
//                     it into the weights and unloads it again (load + merge + restore)
//   mode "unmerged":  timed UNet steps (batch, latent, tokens as the unet job) with the LoRA kept
//                     unmerged, alternating with as many steps without it (base_median_s,
//                     unmerged_overhead from the wall medians, unmerged_overhead_cpu from the CPU
//                     time medians), and the time of one scale change (set_scale_s)
//   layers            "all" (default: LCM-LoRA's coverage, above) or "attention" (only the
//                     Transformer2DModel layers: attention, feed-forward, proj_in/out, as a kohya
//                     LoRA without LoCon covers them)
//   lora_file         where the random LoRA is written (kept); default a temporary file, removed
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "bench/job.h"
#include "bench/measure.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "lora/lora_stack.h"
#include "models/unet_2d_condition_model.h"

namespace sdfast::bench::detail {

namespace fs = std::filesystem;

namespace {

Tensor randn(Shape shape, uint64_t seed, float scale = 1) {
  Tensor t = Tensor::empty(std::move(shape), DType::F32);
  fill_randn(t.data<float>(), t.numel(), seed);
  for (float& v : t.span<float>()) v *= scale;
  return t;
}

// The kohya name of every patched layer with its random down / up matrices (float16).
// attention_only: only the layers under an `attentions.` block (Transformer2DModel).
std::vector<std::pair<std::string, Tensor>> random_lora(const ops::LayerSet& layers, int64_t rank, uint64_t seed,
                                                        bool attention_only) {
  std::vector<std::pair<std::string, Tensor>> t;
  auto add = [&](const std::string& path, Shape down, Shape up) {
    if (path.empty() || path.rfind("time_embedding.", 0) == 0 || path == "conv_in" || path == "conv_out") return;
    if (attention_only && path.find(".attentions.") == std::string::npos) return;
    std::string k = "lora_unet_" + path;
    std::replace(k.begin() + 10, k.end(), '.', '_');
    const float s = 1.0f / float(std::sqrt(double(shape_numel(down) / rank)));
    t.emplace_back(k + ".lora_down.weight", randn(down, seed + t.size(), s).to(DType::F16));
    t.emplace_back(k + ".lora_up.weight", randn(up, seed + t.size(), 0.01f).to(DType::F16));
    t.emplace_back(k + ".alpha", Tensor::full({}, float(rank)).to(DType::F16));
  };
  for (ops::Linear* l : layers.linears) add(l->name(), {rank, l->in_features()}, {l->out_features(), rank});
  for (ops::Conv2d* c : layers.convs) {
    const auto& s = c->spec();
    add(c->name(), {rank, s.in_channels, s.kernel, s.kernel}, {s.out_channels, rank, 1, 1});
  }
  return t;
}

}  // namespace

nlohmann::json run_lora_job(const Job& job) {
  const std::string mode = param<std::string>(job, "mode");
  if (mode != "merge" && mode != "unmerged")
    fail_argument("bench job '", job.id, "': mode must be merge or unmerged, got '", mode, "'");
  const int64_t rank = int64_t(param<int>(job, "rank", 64));
  if (rank < 1 || rank > 1024) fail_argument("bench job '", job.id, "': rank must be 1..1024, got ", rank);
  const uint64_t seed = param<uint64_t>(job, "seed", 0);
  const std::string layers = param<std::string>(job, "layers", "all");
  if (layers != "all" && layers != "attention")
    fail_argument("bench job '", job.id, "': layers must be all or attention, got '", layers, "'");
  const std::string dtype = param<std::string>(job, "dtype");
  if (dtype != "f32" && dtype != "bf16") fail_argument("bench job '", job.id, "': dtype must be f32 or bf16");
  RuntimeOptions o;
  o.threads = param<int>(job, "threads", 0);
  o.precision = dtype == "bf16" ? DType::BF16 : DType::F32;
  Runtime rt(o);
  nlohmann::json result;
  Stopwatch load;
  auto unet = models::UNet2DConditionModel::from_config_random(rt, param<std::string>(job, "folder"), seed);
  record_load(load.wall_s(), result);
  lora::LoraTargets targets;
  unet.collect_layers(targets.unet);

  const std::string kept = param<std::string>(job, "lora_file", "");
  const std::string file =
      kept.empty() ? (fs::temp_directory_path() / ("sdfast-bench-lora-" + std::to_string(::getpid()) + ".safetensors")).string()
                   : kept;
  {
    const auto tensors = random_lora(targets.unet, rank, seed + 100, layers == "attention");
    write_safetensors(file, tensors);
    result["lora_modules"] = tensors.size() / 3;
  }
  result["lora_file_mb"] = double(fs::file_size(file)) / (1 << 20);
  result["rank"] = rank;
  struct Remove {
    std::string path;
    ~Remove() {
      std::error_code ec;
      if (!path.empty()) fs::remove(path, ec);
    }
  } remove{kept.empty() ? file : ""};

  lora::LoraStack stack;
  if (mode == "merge") {
    const auto merge = [&] {
      stack.add(rt, lora::LoraFile::read(file), 1.0f, lora::LoraMode::Merged, targets);
      stack.clear(rt);
    };
    time_calls(job, rt.threads(), merge, merge, result);
    return result;
  }
  const int64_t batch = int64_t(param<int>(job, "batch", 2)), latent = int64_t(param<int>(job, "latent", 64));
  const int64_t tokens = int64_t(param<int>(job, "tokens", 77));
  if (batch < 1 || batch > 64 || latent < 1 || latent > 512 || tokens < 1 || tokens > 1024)
    fail_argument("bench job '", job.id, "': batch 1..64, latent 1..512, tokens 1..1024");
  const auto& c = unet.config();
  const Tensor sample = randn({batch, c.in_channels, latent, latent}, seed + 1);
  const Tensor context = randn({batch, tokens, c.cross_attention_dim.at(0)}, seed + 2);
  const auto step = [&] { unet.forward(rt, sample, 981.0, context); };
  // Steps with and without the LoRA alternate (loaded before, unloaded after each LoRA step), so
  // that the machine's load changes hit both alike.
  const lora::LoraFile lora_file = lora::LoraFile::read(file);
  const int warmup = param<int>(job, "warmup", 1), repeats = param<int>(job, "repeats", 1);
  if (warmup < 0 || warmup > 100 || repeats < 1 || repeats > 1000)
    fail_argument("bench job '", job.id, "': warmup 0..100, repeats 1..1000");
  std::vector<double> wall[2], cpu[2];  // [0] without, [1] with the LoRA
  for (int i = 0; i < warmup + repeats; ++i)
    for (int with : {0, 1}) {
      if (with) stack.add(rt, lora_file, 1.0f, lora::LoraMode::Unmerged, targets);
      Stopwatch sw;
      step();
      std::fprintf(stderr, "  [%s] %s %d: %.3f s wall, %.3f s cpu%s\n", job.id.c_str(), with ? "LoRA" : "base", i + 1,
                   sw.wall_s(), sw.cpu_s(), i < warmup ? " (warm-up)" : "");
      if (with) stack.clear(rt);
      if (i < warmup) continue;
      wall[with].push_back(sw.wall_s());
      cpu[with].push_back(sw.cpu_s());
    }
  stack.add(rt, lora_file, 1.0f, lora::LoraMode::Unmerged, targets);
  Stopwatch rescale;  // an unmerged scale change
  stack.set_scale(rt, 0, 0.5f);
  result["set_scale_s"] = rescale.wall_s();
  result["threads"] = rt.threads();
  result["wall_s"] = wall[1];
  result["cpu_s"] = cpu[1];
  result["median_s"] = median(wall[1]);
  result["peak_rss_mb"] = peak_rss_mb();
  result["base_wall_s"] = wall[0];
  result["base_cpu_s"] = cpu[0];
  result["base_median_s"] = median(wall[0]);
  result["unmerged_overhead"] = median(wall[1]) / median(wall[0]) - 1;
  result["unmerged_overhead_cpu"] = median(cpu[1]) / median(cpu[0]) - 1;
  return result;
}

}  // namespace sdfast::bench::detail
