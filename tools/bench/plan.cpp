#include "bench/plan.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "core/error.h"

namespace sdfast::bench {

namespace fs = std::filesystem;

namespace {

// Costs at 512x512 (64x64 latents) and batch 1, from /work/shared/configs/README.md ("Cost of one
// forward pass ... counted over conv/linear/attention") with the parameter counts it states.
constexpr double kSd15UnetGmac = 401.6, kBkBaseUnetGmac = 261.5, kBkSmallUnetGmac = 255.4,
                 kBkTinyUnetGmac = 242.8, kSdVaeDecoderGmac = 1257.3, kTaesdDecoderGmac = 70.7,
                 kClipTextGmac = 6.6;
constexpr int64_t kSd15UnetParameters = 859520964, kBkSmallUnetParameters = 482346884,
                  kTaesdDecoderParameters = 1222531;
// The README counts the Decoder module (49,490,179); AutoencoderKL.decode also runs
// post_quant_conv, a 1x1 conv 4 -> 4 with bias (20 parameters, 65 kMAC at 64x64: negligible).
constexpr int64_t kSdVaeDecoderParameters = 49490179 + 4 * 4 + 4;

// The targets.
constexpr double kSd15StepBf16TargetS = 0.8, kSd15StepF32TargetS = 5.0,
                 kBkSmallStepBf16TargetS = 0.5, kTaesdDecodeTargetS = 0.1,
                 kVaeDecodeBf16TargetS = 2.0, kSd15Bf16PeakRssTargetGB = 3.5;
// The guide's speed-ups: half precision (table 1), distilled and distilled + tiny autoencoder
// (table 2).
constexpr double kGuideHalfPrecision = 1.40, kGuideDistilled = 1.54, kGuideDistilledTaesd = 1.56;

// Full-size shapes and their quick-mode stand-ins.
struct Sizes {
  int image = 512, latent = 64;
  int t1_steps = 50, t2_steps = 25, t2_images = 4;
  int t5_steps = 2;  // per request: the pair's time is dominated by the UNet steps and the decode
  int64_t roofline_m = 4096, roofline_k = 320, roofline_n = 1280;
  int roofline_inner_f32 = 20, roofline_inner_bf16 = 40;
  int64_t attention_tokens = 4096, attention_heads = 8, attention_head_dim = 40;
};

Sizes sizes_for(bool quick) {
  Sizes s;
  if (!quick) return s;
  s.image = 128;
  s.latent = 16;
  s.t1_steps = 3;
  s.t2_steps = 3;
  s.t2_images = 2;
  s.roofline_m = 256;
  s.roofline_k = 64;
  s.roofline_n = 128;
  s.roofline_inner_f32 = s.roofline_inner_bf16 = 10;
  s.attention_tokens = 256;
  s.attention_heads = 2;
  s.attention_head_dim = 16;
  return s;
}

std::string existing_dir(const fs::path& p, const std::string& what) {
  if (!fs::is_directory(p))
    fail_argument(what, ": '", p.string(), "' is not a folder (models folder: --models DIR)");
  return p.string();
}

std::string dtype_label(const std::string& dtype) { return dtype == "f32" ? "fp32" : dtype; }

// "<= 0.8 s"
std::string seconds_limit(double limit) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "<= %.1f s", limit);
  return buf;
}

}  // namespace

std::string default_models_dir(bool quick) {
#ifdef SDFAST_SOURCE_DIR
  const fs::path dir = quick ? fs::path(SDFAST_SOURCE_DIR) / "tests" / "golden" / "models"
                             : fs::path(SDFAST_SOURCE_DIR) / "bench" / "configs";
  if (fs::is_directory(dir)) return dir.string();
#endif
  fail_argument(
      "the ",
      quick ? "tiny golden models (tests/golden/models)" : "architecture configs (bench/configs)",
      " of the source tree were not found; pass --models DIR");
}

ModelPaths resolve_models(const std::string& dir, bool quick, bool extra) {
  const fs::path root = existing_dir(dir, "models folder");
  ModelPaths m;
  if (quick) {
    m.sd15 = existing_dir(root / "tiny-sd15-pipeline", "quick mode");
    m.bk_small_taesd = existing_dir(root / "tiny-bk-small-taesd-pipeline", "quick mode");
    // The tiny BK-SDM-small layout with the tiny AutoencoderKL in place of its TAESD.
    m.bk_small = m.bk_small_taesd;
    m.bk_small_vae = existing_dir(root / "tiny-sd15-pipeline" / "vae", "quick mode");
    if (extra)
      m.extra_unets = {
          {"BK-SDM-tiny layout", existing_dir(root / "unet-bk-tiny-tiny", "quick mode")}};
    if (extra)
      m.extra_text_encoder =
          existing_dir(root / "tiny-sd15-pipeline" / "text_encoder", "quick mode");
    return m;
  }
  m.sd15 = existing_dir(root / "stable-diffusion-v1-5", "models folder");
  m.bk_small = existing_dir(root / "bk-sdm-small", "models folder");
  m.bk_small_taesd = existing_dir(root / "bk-sdm-small-taesd", "models folder");
  if (extra) {
    for (const char* name : {"bk-sdm-base", "bk-sdm-tiny", "stable-diffusion-2-1-base"})
      m.extra_unets.emplace_back(name, existing_dir(root / name / "unet", "models folder"));
    m.extra_text_encoder =
        existing_dir(root / "stable-diffusion-2-1-base" / "text_encoder", "models folder");
  }
  return m;
}

std::string table_title(const std::string& table, bool quick) {
  const Sizes s = sizes_for(quick);
  const std::string size = std::to_string(s.image) + "x" + std::to_string(s.image);
  if (table == "roofline")
    return "Roofline: oneDNN matmul " + std::to_string(s.roofline_m) + "x" +
           std::to_string(s.roofline_k) + " @ " + std::to_string(s.roofline_k) + "x" +
           std::to_string(s.roofline_n) + " (f32 out)";
  if (table == "table1")
    return "Table 1: SD1.5, 1 image " + size + ", " + std::to_string(s.t1_steps) +
           " DDIM steps, guidance 7.5: fp32 baseline vs bf16";
  if (table == "table2")
    return "Table 2: " + std::to_string(s.t2_images) + " images " + size + ", " +
           std::to_string(s.t2_steps) + " PNDM steps, guidance 7.5, bf16: distilled models";
  if (table == "table3") return "Table 3: components at " + size;
  if (table == "table4")
    return "Table 4: DeepCache, 1 image " + size +
           ", guidance 7.5: seconds per image with cache "
           "interval N against no caching (branch 0)";
  if (table == "table5")
    return "Table 5: two requests on one loaded SD1.5 (" + size + ", " + std::to_string(s.t5_steps) +
           " DDIM steps each, guidance 7.5, bf16): at once with 1 thread each vs one after the other "
           "with 2 threads";
  fail("unknown table '", table, "'");
}

std::vector<Row> make_plan(const BenchOptions& o, const ModelPaths& models) {
  if (o.tables.empty()) fail_argument("--tables: choose at least one of 1, 2, 3, 4, 5");
  for (int t : o.tables)
    if (t < 1 || t > 5) fail_argument("--tables: tables are 1, 2, 3, 4 and 5, got ", t);
  if (o.repeats < 1 || o.repeats > 100) fail_argument("--repeats must be 1..100, got ", o.repeats);
  if (o.warmup < 0 || o.warmup > 10) fail_argument("--warmup must be 0..10, got ", o.warmup);
  if (o.threads < 0 || o.threads > 1024)
    fail_argument("--threads must be 0..1024, got ", o.threads);
  const Sizes s = sizes_for(o.quick);
  if (o.estimate_from_steps < 0 || o.estimate_from_steps > s.t2_steps)
    fail_argument("--estimate-from-steps must be 0..", s.t2_steps,
                  " (the shortest table's step count), got ", o.estimate_from_steps);
  const std::set<int> tables(o.tables.begin(), o.tables.end());
  const bool full = !o.quick;

  const nlohmann::json common = {
      {"repeats", o.repeats}, {"warmup", o.warmup}, {"threads", o.threads}, {"seed", 0}};
  const auto params = [&](nlohmann::json extra) {
    nlohmann::json p = common;
    p.update(extra);
    return p;
  };
  std::vector<Row> rows;
  const auto add = [&](Row r) { rows.push_back(std::move(r)); };

  // Roofline: a plain oneDNN matmul at the UNet's typical GEMM shape (cheap: always run).
  for (const std::string dtype : {"f32", "bf16"}) {
    Row r;
    r.table = "roofline";
    r.label = dtype_label(dtype) + " matmul";
    r.job = {"roofline." + dtype, "matmul",
             params({{"dtype", dtype},
                     {"m", s.roofline_m},
                     {"k", s.roofline_k},
                     {"n", s.roofline_n},
                     {"inner", dtype == "f32" ? s.roofline_inner_f32 : s.roofline_inner_bf16},
                     {"repeats", std::max(o.repeats, 5)}})};
    add(r);
  }

  const auto pipeline = [&](const std::string& model, const std::string& vae,
                            const std::string& dtype, const std::string& scheduler, int steps,
                            int images) {
    return params({{"model", model},
                   {"vae", vae},
                   {"dtype", dtype},
                   {"scheduler", scheduler},
                   {"steps", steps},
                   {"images", images},
                   {"size", s.image},
                   {"attention", "flash"},
                   {"estimate_from_steps", std::min(o.estimate_from_steps, steps)},
                   {"prompt", "a photo of an astronaut riding a horse on mars"}});
  };
  if (tables.count(1)) {
    for (const std::string dtype : {"f32", "bf16"}) {
      Row r;
      r.table = "table1";
      r.label = dtype == "f32" ? "fp32 baseline" : "bf16 (the guide's half precision)";
      r.job = {"t1." + dtype_label(dtype), "pipeline",
               pipeline(models.sd15, "", dtype, "DDIMScheduler", s.t1_steps, 1)};
      r.baseline = "t1.fp32";
      r.guide_speedup = dtype == "f32" ? 1.0 : kGuideHalfPrecision;
      if (full && dtype == "bf16")
        r.target = Target{"peak_rss_mb", kSd15Bf16PeakRssTargetGB * 1e9 / (1024.0 * 1024.0),
                          "peak RSS <= 3.5 GB"};
      add(r);
    }
    // Image-to-image for the same steps: strength 0.6 runs int(0.6 * steps) of them, plus the VAE
    // encoder; its speed-up over text-to-image should approach 1 / 0.6.
    Row r;
    r.table = "table1";
    r.label = "bf16 img2img, strength 0.6 (same steps)";
    nlohmann::json p = pipeline(models.sd15, "", "bf16", "DDIMScheduler", s.t1_steps, 1);
    p["strength"] = 0.6;
    r.job = {"t1.bf16.img2img", "pipeline", p};
    r.baseline = "t1.bf16";
    add(r);
  }
  if (tables.count(2)) {
    const struct {
      const char* id;
      const char* label;
      const std::string& model;
      const std::string& vae;
      double guide;
    } t2[] = {
        {"t2.sd15", "SD1.5", models.sd15, std::string(), 1.0},
        {"t2.bk-small", "BK-SDM-small", models.bk_small, models.bk_small_vae, kGuideDistilled},
        {"t2.bk-small-taesd", "BK-SDM-small + TAESD", models.bk_small_taesd, std::string(),
         kGuideDistilledTaesd}};
    for (const auto& m : t2) {
      Row r;
      r.table = "table2";
      r.label = m.label;
      r.job = {m.id, "pipeline",
               pipeline(m.model, m.vae, "bf16", "PNDMScheduler", s.t2_steps, s.t2_images)};
      r.baseline = "t2.sd15";
      r.guide_speedup = m.guide;
      add(r);
    }
  }
  if (tables.count(3)) {
    const auto component = [](const std::string& pipeline_dir, const char* name) {
      return (fs::path(pipeline_dir) / name).string();
    };
    const auto unet_params = [&](const std::string& folder, const std::string& dtype,
                                 const std::string& attention) {
      return params({{"folder", folder},
                     {"dtype", dtype},
                     {"attention", attention},
                     {"batch", 2},
                     {"latent", s.latent},
                     {"tokens", 77}});
    };
    const struct {
      const char* key;
      const char* label;
      std::string folder;
      double gmac;
      int64_t parameters;
      double bf16_target, f32_target;
    } unets[] = {{"sd15", "SD1.5", component(models.sd15, "unet"), kSd15UnetGmac,
                  kSd15UnetParameters, kSd15StepBf16TargetS, kSd15StepF32TargetS},
                 {"bk-small", "BK-SDM-small", component(models.bk_small, "unet"), kBkSmallUnetGmac,
                  kBkSmallUnetParameters, kBkSmallStepBf16TargetS, 0}};
    for (const auto& u : unets)
      for (const std::string dtype : {"f32", "bf16"}) {
        Row r;
        r.table = "table3";
        r.section = "unet";
        r.label =
            std::string(u.label) + " UNet step with guidance (batch 2), " + dtype_label(dtype);
        r.job = {"t3.unet." + std::string(u.key) + "." + dtype, "unet",
                 unet_params(u.folder, dtype, "flash")};
        if (full) r.cost = Cost{2 * u.gmac, u.parameters};
        const double limit = dtype == "bf16" ? u.bf16_target : u.f32_target;
        if (full && limit > 0) r.target = Target{"median_s", limit, seconds_limit(limit)};
        add(r);
      }
    for (const std::string dtype : {"f32", "bf16"}) {
      Row r;
      r.table = "table3";
      r.section = "text_encoder";
      r.label = "SD1.5 text encoder (CLIP ViT-L/14, 1 x 77 tokens), " + dtype_label(dtype);
      r.job = {"t3.text_encoder." + dtype, "text_encoder",
               params({{"folder", component(models.sd15, "text_encoder")},
                       {"dtype", dtype},
                       {"batch", 1}})};
      if (full) r.cost = Cost{kClipTextGmac, 0};
      add(r);
    }
    const struct {
      const char* key;
      const char* label;
      std::string folder;
      double gmac;
      int64_t parameters;
      double bf16_target;
    } vaes[] = {{"vae", "SD VAE decode (AutoencoderKL)", component(models.sd15, "vae"),
                 kSdVaeDecoderGmac, kSdVaeDecoderParameters, kVaeDecodeBf16TargetS},
                {"taesd", "TAESD decode (AutoencoderTiny)", component(models.bk_small_taesd, "vae"),
                 kTaesdDecoderGmac, kTaesdDecoderParameters, kTaesdDecodeTargetS}};
    for (const auto& v : vaes)
      for (const std::string dtype : {"f32", "bf16"}) {
        Row r;
        r.table = "table3";
        r.section = "vae";
        r.label = std::string(v.label) + ", 1 image, " + dtype_label(dtype);
        r.job = {
            "t3." + std::string(v.key) + "." + dtype, "vae_decode",
            params({{"folder", v.folder}, {"dtype", dtype}, {"batch", 1}, {"latent", s.latent}})};
        if (full) r.cost = Cost{v.gmac, v.parameters};
        if (full && dtype == "bf16")
          r.target = Target{"median_s", v.bf16_target, seconds_limit(v.bf16_target)};
        add(r);
      }
    // Attention: the kernel alone at SD1.5's largest self-attention (64x64 tokens, 8 heads of 40,
    // batch 2), then a whole SD1.5 bf16 UNet step with the naive kernel against the flash one.
    for (const std::string dtype : {"bf16", "f32"})
      for (const std::string kernel : {"flash", "naive"}) {
        Row r;
        r.table = "table3";
        r.section = "attention";
        r.label = "attention kernel " + kernel + ", " + dtype_label(dtype);
        r.job = {"t3.attention." + dtype + "." + kernel, "attention",
                 params({{"dtype", dtype},
                         {"kernel", kernel},
                         {"batch", 2},
                         {"tokens", s.attention_tokens},
                         {"heads", s.attention_heads},
                         {"head_dim", s.attention_head_dim}})};
        if (kernel == "naive") r.compare_with = "t3.attention." + dtype + ".flash";
        add(r);
      }
    {
      Row r;
      r.table = "table3";
      r.section = "attention";
      r.label = "SD1.5 UNet step with guidance, bf16, naive attention";
      r.job = {"t3.unet.sd15.bf16.naive", "unet",
               unet_params(component(models.sd15, "unet"), "bf16", "naive")};
      r.compare_with = "t3.unet.sd15.bf16";
      if (full) r.cost = Cost{2 * kSd15UnetGmac, kSd15UnetParameters};
      add(r);
    }
    // LoRA: a random rank-64 LoRA (LCM-LoRA's size and coverage) on the SD1.5 UNet, bf16.
    {
      Row r;
      r.table = "table3";
      r.section = "lora";
      r.label = "SD1.5 rank-64 LoRA: read + merge + unload, bf16";
      r.job = {"t3.lora.sd15.merge", "lora",
               params({{"folder", component(models.sd15, "unet")}, {"dtype", "bf16"}, {"mode", "merge"}, {"rank", 64}})};
      add(r);
      r.label = "SD1.5 UNet step with guidance, bf16, rank-64 LoRA unmerged";
      r.job = {"t3.lora.sd15.unmerged", "lora",
               params({{"folder", component(models.sd15, "unet")},
                       {"dtype", "bf16"},
                       {"mode", "unmerged"},
                       {"rank", 64},
                       {"batch", 2},
                       {"latent", s.latent},
                       {"tokens", 77}})};
      add(r);
    }
    for (const auto& [name, folder] : models.extra_unets) {
      Row r;
      r.table = "table3";
      r.section = "extra";
      r.label = name + " UNet step with guidance (batch 2), bf16";
      r.job = {"t3.extra.unet." + name, "unet", unet_params(folder, "bf16", "flash")};
      if (full && name == "bk-sdm-base") r.cost = Cost{2 * kBkBaseUnetGmac, 0};
      if (full && name == "bk-sdm-tiny") r.cost = Cost{2 * kBkTinyUnetGmac, 0};
      add(r);
    }
    if (!models.extra_text_encoder.empty()) {
      Row r;
      r.table = "table3";
      r.section = "extra";
      r.label = o.quick ? "tiny text encoder, bf16"
                        : "SD 2.1-base text encoder (OpenCLIP ViT-H, 1 x 77 tokens), bf16";
      r.job = {"t3.extra.text_encoder", "text_encoder",
               params({{"folder", models.extra_text_encoder}, {"dtype", "bf16"}, {"batch", 1}})};
      add(r);
    }
  }
  if (tables.count(4)) {
    // DeepCache (branch 0). First, per model and dtype, one UNet job timing full and partial
    // calls, from which the UNet time per image of every schedule and interval follows (cheap);
    // with deepcache_full_runs also every combination end to end, bf16 first (a run cut short
    // still has the half-precision half), never extrapolated.
    const struct {
      const char* key;
      const char* label;
      const std::string& model;
      const std::string& vae;
    } t4_models[] = {{"sd15", "SD1.5", models.sd15, std::string()},
                     {"bk-small", "BK-SDM-small", models.bk_small, models.bk_small_vae}};
    const struct {
      const char* key;
      const char* name;
      const char* label;
      int steps;
    } t4_schedulers[] = {{"ddim", "DDIMScheduler", "DDIM", s.t1_steps},
                         {"pndm", "PNDMScheduler", "PNDM", s.t2_steps}};
    nlohmann::json schedules = nlohmann::json::array();
    for (const auto& sch : t4_schedulers)
      schedules.push_back({{"scheduler", sch.name}, {"steps", sch.steps}});
    for (const std::string dtype : {"bf16", "f32"})
      for (const auto& m : t4_models) {
        Row r;
        r.table = "table4";
        r.section = "unet";
        r.label = str_cat(m.label, " UNet (batch 2), ", dtype_label(dtype));
        r.job = {"t4.unet." + std::string(m.key) + "." + dtype, "unet",
                 params({{"folder", (fs::path(m.model) / "unet").string()},
                         {"dtype", dtype},
                         {"attention", "flash"},
                         {"batch", 2},
                         {"latent", s.latent},
                         {"tokens", 77},
                         {"deepcache_branch", 0},
                         {"schedules", schedules},
                         {"intervals", {2, 3, 5}}})};
        add(r);
      }
    if (o.deepcache_full_runs)
      for (const std::string dtype : {"bf16", "f32"})
        for (const auto& m : t4_models)
          for (const auto& sch : t4_schedulers) {
            const std::string group = "t4." + std::string(m.key) + "." + sch.key + "." + dtype;
            for (int interval : {0, 2, 3, 5}) {
              Row r;
              r.table = "table4";
              r.section = group;
              r.label = str_cat(
                  m.label, ", ", sch.steps, " ", sch.label, ", ", dtype_label(dtype),
                  interval == 0 ? ", no caching" : ", DeepCache N=" + std::to_string(interval));
              nlohmann::json p = pipeline(m.model, m.vae, dtype, sch.name, sch.steps, 1);
              p["estimate_from_steps"] = 0;
              p["deepcache"] = interval;
              p["deepcache_branch"] = 0;
              r.job = {interval == 0 ? group + ".off" : group + ".n" + std::to_string(interval),
                       "pipeline", p};
              r.baseline = group + ".off";
              add(r);
            }
          }
  }
  if (tables.count(5)) {
    // One loaded model serving two requests: at once on two threads of 1 OpenMP thread each, or
    // one after the other with 2 threads each (the same cores either way).
    for (const std::string mode : {"sequential", "concurrent"}) {
      Row r;
      r.table = "table5";
      r.label = mode == "concurrent" ? "2 requests at once, 1 thread each"
                                     : "2 requests one after the other, 2 threads each";
      r.job = {"t5." + mode, "concurrent",
               params({{"model", models.sd15},
                       {"dtype", "bf16"},
                       {"scheduler", "DDIMScheduler"},
                       {"steps", s.t5_steps},
                       {"size", s.image},
                       {"mode", mode},
                       {"threads_each", mode == "concurrent" ? 1 : 2}})};
      if (mode == "concurrent") r.baseline = "t5.sequential";
      add(r);
    }
  }
  return rows;
}

}  // namespace sdfast::bench
