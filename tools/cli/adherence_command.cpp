// `sdfast adherence`: the demo model's prompt-adherence check (models/demo/README.md,
// "Evaluation"). One image per prompt `a COLOR SHAPE on a BG background`, each classified by
// nearest-palette-colour counting; a hit needs the background and the shape colour right. With
// --deepcache every prompt is generated with and without caching: both scores, and how far each
// cached image is from its uncached twin (PSNR, largest pixel difference).
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "output_files.h"
#include "adherence/adherence.h"
#include "adherence/image_difference.h"
#include "common/demo_model.h"
#include "sdfast/pipeline.h"
#include "sdfast/system.h"

namespace sdfast::cli {

namespace {

struct AdherenceArgs {
  std::string model;
  std::string dtype = "f32";
  double guidance = 5.0;
  int steps = 25;
  std::string scheduler;
  int num_prompts = 50;
  std::string prompts_file;
  uint64_t first_seed = 100;
  uint64_t prompt_seed = 2024;
  std::string json;
  std::string save_images;
  int threads = 0;
  std::string deepcache;  // "N[:BRANCH]"; "": off
};

[[noreturn]] void bad(const std::string& msg) { throw InvalidArgument(msg); }

void validate(const AdherenceArgs& a) {
  if (!std::isfinite(a.guidance)) bad("--guidance must be a finite number");
  if (a.steps < 1 || a.steps > 1000)
    bad("--steps must be between 1 and 1000, got " + std::to_string(a.steps));
  if (a.num_prompts < 1 || a.num_prompts > 10000)
    bad("--prompts must be between 1 and 10000, got " + std::to_string(a.num_prompts));
  if (a.threads < 0) bad("--threads must not be negative");
  if (!a.deepcache.empty()) parse_deepcache(a.deepcache);
}

// One prompt per line; empty lines and lines starting with '#' are skipped.
std::vector<ShapePrompt> read_prompts_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) bad("cannot read --prompts-file '" + path + "'");
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec || size > (uintmax_t(1) << 20))
    bad("--prompts-file '" + path + "' is larger than 1 MiB (" + std::to_string(size) + " bytes)");
  std::ifstream in(path);
  if (!in) bad("cannot read --prompts-file '" + path + "'");
  std::vector<ShapePrompt> prompts;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos ||
        line[line.find_first_not_of(" \t")] == '#')
      continue;
    try {
      prompts.push_back(parse_shape_prompt(line));
    } catch (const InvalidArgument& e) {
      bad(path + ":" + std::to_string(number) + ": " + e.what());
    }
    if (prompts.size() > 10000) bad(path + ": more than 10000 prompts");
  }
  if (prompts.empty()) bad("--prompts-file '" + path + "' holds no prompts");
  return prompts;
}

std::string color_name(int index) { return index < 0 ? "none" : demo_palette()[index].name; }

std::string shape_name(ShapeGuess s) {
  return s == ShapeGuess::None ? "none" : demo_shapes()[static_cast<int>(s)];
}

std::string score_text(int hits, int total) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%d/%d = %.2f", hits, total, total ? double(hits) / total : 0.0);
  return buf;
}

int run_adherence(const AdherenceArgs& a_in) {
  AdherenceArgs a = a_in;
  validate(a);
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<ShapePrompt> prompts = a.prompts_file.empty()
                                               ? random_shape_prompts(a.num_prompts, a.prompt_seed)
                                               : read_prompts_file(a.prompts_file);
  if (a.first_seed > std::numeric_limits<uint64_t>::max() - (prompts.size() - 1))
    bad("--first-seed " + std::to_string(a.first_seed) + " with " + std::to_string(prompts.size()) +
        " prompts: the last image seed overflows 64 bits");
  if (a.model.empty()) a.model = bundled_demo_model();
  std::unique_ptr<OutputFolder> images_out;
  if (!a.save_images.empty()) images_out = std::make_unique<OutputFolder>(a.save_images);

  PipelineOptions opt;
  opt.dtype = parse_precision(a.dtype, "--dtype");
  opt.threads = a.threads;
  auto pipe = Pipeline::from_pretrained(a.model, opt);
  if (!a.scheduler.empty()) pipe->set_scheduler(a.scheduler);
  const PipelineInfo& info = pipe->info();
  std::cerr << "Loaded " << info.path << " (" << info.dtype << ") in " << info.load_s << " s\n";

  DeepCacheSetting deepcache;
  if (!a.deepcache.empty()) deepcache = parse_deepcache(a.deepcache);
  const bool compare = deepcache.interval > 1;
  int color_hits = 0, shape_hits = 0;
  int plain_color_hits = 0, plain_shape_hits = 0, changed = 0, cached_max_abs = 0;
  double plain_generate_s = 0, psnr_sum = 0, psnr_min = std::numeric_limits<double>::infinity();
  int identical = 0;
  double generate_s = 0;
  std::string scheduler_used;
  nlohmann::json results = nlohmann::json::array();
  for (size_t i = 0; i < prompts.size(); ++i) {
    const ShapePrompt& p = prompts[i];
    const uint64_t seed = a.first_seed + i;
    GenerateRequest req;
    req.prompts = {p.text()};
    req.num_inference_steps = a.steps;
    req.guidance_scale = a.guidance;
    req.seeds = {seed};
    // With --deepcache: the uncached image first, as the reference.
    nlohmann::json plain_json, diff_json;
    std::string diff_text;
    std::optional<GenerateResult> plain;
    if (compare) {
      plain = pipe->generate(req);
      plain_generate_s += plain->timings.total_s;
      req.deepcache_interval = deepcache.interval;
      req.deepcache_branch_id = deepcache.branch_id;
    }
    GenerateResult r = pipe->generate(req);
    generate_s += r.timings.total_s;
    scheduler_used = r.scheduler;
    const Image& image = r.images.at(0);

    const ColorClassification c = classify_shape_image(image);
    const bool color_hit = c.background == p.background && c.foreground == p.color;
    const bool shape_hit = color_hit && static_cast<int>(c.shape) == p.shape;
    color_hits += color_hit;
    shape_hits += shape_hit;
    if (plain) {
      const ColorClassification pc = classify_shape_image(plain->images.at(0));
      const bool pcolor = pc.background == p.background && pc.foreground == p.color;
      const bool pshape = pcolor && static_cast<int>(pc.shape) == p.shape;
      plain_color_hits += pcolor;
      plain_shape_hits += pshape;
      changed += pc.background != c.background || pc.foreground != c.foreground;
      const ImageDifference d = image_difference(image, plain->images.at(0));
      if (std::isinf(d.psnr_db)) {
        ++identical;
      } else {
        psnr_sum += d.psnr_db;
      }
      psnr_min = std::min(psnr_min, d.psnr_db);
      cached_max_abs = std::max(cached_max_abs, d.max_abs);
      char buf[96];
      std::snprintf(buf, sizeof buf, "  [uncached: %s on %s%s; PSNR %.1f dB, max diff %d]",
                    color_name(pc.foreground).c_str(), color_name(pc.background).c_str(),
                    pcolor ? " HIT" : "", d.psnr_db, d.max_abs);
      diff_text = buf;
      plain_json = {{"color", color_name(pc.foreground)},
                    {"background", color_name(pc.background)},
                    {"shape", shape_name(pc.shape)},
                    {"color_hit", pcolor},
                    {"shape_hit", pshape}};
      diff_json = {{"psnr_db", std::isinf(d.psnr_db) ? nlohmann::json(nullptr) : nlohmann::json(d.psnr_db)},
                   {"max_abs", d.max_abs}};
    }

    char line[320];
    std::snprintf(
        line, sizeof line,
        "[%3zu/%zu] seed %-6" PRIu64 " %-44s -> %s on %s (%" PRId64 " px, fill %.2f: %s)%s", i + 1,
        prompts.size(), seed, p.text().c_str(), color_name(c.foreground).c_str(),
        color_name(c.background).c_str(), c.foreground_pixels, c.fill_ratio,
        shape_name(c.shape).c_str(), color_hit ? (shape_hit ? "  HIT +shape" : "  HIT") : "");
    std::cout << line << diff_text << std::endl;

    if (images_out) {
      std::ostringstream params;
      params << p.text() << "\nSteps: " << a.steps << ", Sampler: " << r.scheduler
             << ", CFG scale: " << a.guidance << ", Seed: " << seed << ", Model: " << info.name
             << ", Dtype: " << info.dtype;
      if (compare)
        params << ", DeepCache: interval " << deepcache.interval << " branch "
               << deepcache.branch_id;
      params << ", Software: sdfast adherence";
      images_out->write(image, "seed" + std::to_string(seed) + (color_hit ? "-hit" : "-miss"),
                        {{"parameters", params.str()}});
    }
    results.push_back({{"prompt", p.text()},
                       {"seed", seed},
                       {"expected",
                        {{"color", color_name(p.color)},
                         {"shape", demo_shapes()[p.shape]},
                         {"background", color_name(p.background)}}},
                       {"got",
                        {{"color", color_name(c.foreground)},
                         {"foreground_pixels", c.foreground_pixels},
                         {"background", color_name(c.background)},
                         {"fill_ratio", c.fill_ratio},
                         {"shape", shape_name(c.shape)}}},
                       {"color_hit", color_hit},
                       {"shape_hit", shape_hit}});
    if (compare) {
      results.back()["uncached"] = plain_json;
      results.back()["difference"] = diff_json;
    }
  }
  const int n = int(prompts.size());
  const double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "colour + background correct: " << score_text(color_hits, n) << "\n"
            << "+ shape correct (bbox fill-ratio heuristic): " << score_text(shape_hits, n) << "\n";
  const int differing = n - identical;
  if (compare) {
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  "without caching: colour + background %s, + shape %s\n"
                  "DeepCache %d:%d vs uncached: PSNR mean %.2f dB over the %d differing images "
                  "(%d identical), min %.2f dB, max pixel difference %d; colours classified "
                  "differently in %d of %d\n",
                  score_text(plain_color_hits, n).c_str(), score_text(plain_shape_hits, n).c_str(),
                  deepcache.interval, deepcache.branch_id,
                  differing ? psnr_sum / differing : 0.0, differing, identical, psnr_min,
                  cached_max_abs, changed, n);
    std::cout << buf;
  }
  char timing[160];
  std::snprintf(timing, sizeof timing, "%.1f s in all, %.2f s per image (model load %.2f s)",
                total_s, generate_s / n, info.load_s);
  std::cerr << info.name << ", " << info.dtype << ", " << scheduler_used << " " << a.steps
            << " steps, guidance " << a.guidance << ", image seeds " << a.first_seed << ".."
            << a.first_seed + n - 1 << ": " << timing << "\n";

  if (!a.json.empty()) {
    nlohmann::json j;
    j["settings"] = {
        {"model", info.path},
        {"dtype", info.dtype},
        {"scheduler", scheduler_used},
        {"steps", a.steps},
        {"guidance", a.guidance},
        {"first_seed", a.first_seed},
        {"prompts", a.prompts_file.empty() ? "random" : "file"},
        {"prompt_seed", a.prompts_file.empty() ? nlohmann::json(a.prompt_seed) : nlohmann::json()},
        {"prompts_file", a.prompts_file}};
    j["palette"] = nlohmann::json::array();
    for (const PaletteColor& pc : demo_palette())
      j["palette"].push_back({{"name", pc.name}, {"rgb", {pc.r, pc.g, pc.b}}});
    j["results"] = results;
    j["color_hits"] = color_hits;
    j["shape_hits"] = shape_hits;
    j["total"] = n;
    j["color_score"] = double(color_hits) / n;
    j["shape_score"] = double(shape_hits) / n;
    j["total_s"] = total_s;
    j["generate_s"] = generate_s;
    j["load_s"] = info.load_s;
    if (compare) {
      j["settings"]["deepcache_interval"] = deepcache.interval;
      j["settings"]["deepcache_branch_id"] = deepcache.branch_id;
      j["uncached"] = {{"color_hits", plain_color_hits},
                       {"shape_hits", plain_shape_hits},
                       {"color_score", double(plain_color_hits) / n},
                       {"shape_score", double(plain_shape_hits) / n},
                       {"generate_s", plain_generate_s}};
      j["difference"] = {
          {"psnr_mean_db", differing ? nlohmann::json(psnr_sum / differing) : nlohmann::json(nullptr)},
          {"psnr_min_db", std::isinf(psnr_min) ? nlohmann::json(nullptr) : nlohmann::json(psnr_min)},
          {"identical_images", identical},
          {"max_abs", cached_max_abs},
          {"classification_changed", changed}};
    }
    write_text_file_atomic(a.json, j.dump(2) + "\n");
  }
  return 0;
}

}  // namespace

void add_adherence_command(CLI::App& app, Runner& run) {
  auto a = std::make_shared<AdherenceArgs>();
  CLI::App* cmd = app.add_subcommand(
      "adherence",
      "Prompt-adherence check on the demo model: one image per prompt 'a COLOR SHAPE on a BG "
      "background', scored by nearest-palette-colour classification.");
  cmd->add_option("--model", a->model,
                  "Diffusers pipeline folder (default: the bundled demo model "
                  "models/demo/shapes-pipeline)");
  cmd->add_option("--dtype", a->dtype, "Precision: auto (bf16 where the CPU multiplies bf16 natively, else f32), f32 (reference) or bf16 (half the weight memory; fast where native)")
      ->check(CLI::IsMember({"auto", "f32", "bf16"}))
      ->capture_default_str();
  cmd->add_option("--guidance", a->guidance, "Classifier-free guidance scale")
      ->capture_default_str();
  cmd->add_option("--steps", a->steps, "Denoising steps")->capture_default_str();
  cmd->add_option("--scheduler", a->scheduler, "Scheduler class or alias (default: the model's)");
  auto* count = cmd->add_option("--prompts", a->num_prompts,
                                "Number of random prompts (Python random.Random(--prompt-seed))")
                    ->capture_default_str();
  cmd->add_option("--prompts-file", a->prompts_file,
                  "Prompts from a file instead, one 'a COLOR SHAPE on a BG background' per line "
                  "('#' starts a comment line)")
      ->excludes(count);
  cmd->add_option("--first-seed", a->first_seed, "Seed of the first image; image i gets seed+i")
      ->capture_default_str();
  cmd->add_option("--prompt-seed", a->prompt_seed, "Seed of the random prompt list")
      ->capture_default_str();
  cmd->add_option("--json", a->json, "Write settings, per-prompt results and scores to FILE");
  cmd->add_option("--save-images", a->save_images,
                  "Also save each image as a numbered PNG in this folder (never overwriting)");
  cmd->add_option("--threads", a->threads, "Threads (0: all cores)")->capture_default_str();
  cmd->add_option("--deepcache", a->deepcache,
                  "Also generate every image with DeepCache (interval N, branch BRANCH, default "
                  "0) and report both scores and the PSNR / largest pixel difference of the "
                  "cached images against the uncached ones")
      ->type_name("N[:BRANCH]");
  cmd->callback([a, &run] { run = [a] { return run_adherence(*a); }; });
}

}  // namespace sdfast::cli
