// `sdfast generate`: text-to-image from a Diffusers folder (or the bundled demo model).
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "commands.h"
#include "output_files.h"
#include "progress.h"
#include "common/demo_model.h"
#include "sdfast/pipeline.h"
#include "sdfast/system.h"

namespace sdfast::cli {

namespace fs = std::filesystem;

namespace {

struct GenerateArgs {
  std::string model;
  std::vector<std::string> prompts;
  std::vector<std::string> negative_prompts;
  bool steps_given = false;
  int steps = 0;
  double guidance = NAN;
  int width = 0, height = 0;
  int num_images = 1;
  bool seed_given = false;
  uint64_t seed = 0;
  std::string scheduler;
  std::string tiny_vae;
  std::string vae;
  std::string dtype = "auto";
  std::string vae_dtype;
  std::string variant;
  std::string generator = "numpy";
  std::string attention = "flash";
  double eta = 0;
  int clip_skip = 0;
  std::string output = "outputs";
  std::string grid;
  int upscale = 1;
  std::string upscale_filter = "nearest";
  bool random_weights = false;
  std::string timings_json;
  int threads = 0;
  bool quiet = false;
};

[[noreturn]] void bad(const std::string& msg) { throw InvalidArgument(msg); }

// The library's field names as this command's options, for the library's messages.
std::string flag_name(std::string_view field) {
  static const std::pair<std::string_view, const char*> flags[] = {
      {"prompts", "--prompt"},         {"num_inference_steps", "--steps"},
      {"guidance_scale", "--guidance"}, {"num_images_per_prompt", "--num-images"},
      {"clip_skip", "--clip-skip"},     {"vae_dtype", "--vae-dtype"},
      {"negative_prompts", "--negative-prompt"}};
  for (const auto& [f, flag] : flags)
    if (f == field) return flag;
  return "--" + std::string(field);  // width, height, eta, threads, dtype, attention, generator
}

// Validates everything that can be checked before loading a model (the library's own checks of
// `opt` and `req`, then this command's); throws InvalidArgument.
void validate(const GenerateArgs& a, const PipelineOptions& opt, const GenerateRequest& req,
              int* grid_rows, int* grid_cols) {
  if (a.prompts.empty()) bad("--prompt is required");
  opt.validate(flag_name);
  req.validate(flag_name);
  if (a.upscale < 1 || a.upscale > 16) bad("--upscale must be between 1 and 16");
  if (!a.tiny_vae.empty() && !a.vae.empty()) bad("give --tiny-vae or --vae, not both");
  if (!a.scheduler.empty()) {
    const std::vector<std::string> names = Pipeline::scheduler_names();
    if (std::find(names.begin(), names.end(), a.scheduler) == names.end()) {
      std::string list;
      for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
      bad("--scheduler '" + a.scheduler + "' is not known; valid: " + list);
    }
  }
  if (!a.timings_json.empty()) {
    const fs::path parent = fs::path(a.timings_json).parent_path();
    if (fs::is_directory(a.timings_json))
      bad("--timings-json '" + a.timings_json + "' is a folder");
    if (!parent.empty() && !fs::is_directory(parent))
      bad("--timings-json: the folder '" + parent.string() + "' does not exist");
  }
  *grid_rows = *grid_cols = 0;
  if (!a.grid.empty()) {
    std::smatch m;
    if (!std::regex_match(a.grid, m, std::regex("([0-9]{1,3})x([0-9]{1,3})")))
      bad("--grid must be ROWSxCOLS such as 2x2, got '" + a.grid + "'");
    *grid_rows = std::stoi(m[1]);
    *grid_cols = std::stoi(m[2]);
    const int total = int(a.prompts.size()) * a.num_images;
    if (*grid_rows < 1 || *grid_cols < 1 || *grid_rows * *grid_cols != total)
      bad("--grid " + a.grid + " needs " + std::to_string(*grid_rows * *grid_cols) + " images, but " +
          std::to_string(total) + " will be generated");
  }
}

// The bundled demo pipelines (models/demo/shapes-pipeline and its TAESD twin
// shapes-taesd-pipeline) were trained for 25 steps at guidance about 5: those are their defaults
// however they are named, not only when --model is left out.
bool is_bundled_demo(const std::string& model) {
  try {
    const fs::path demo = bundled_demo_model();
    std::error_code ec;
    for (const fs::path& d : {demo, demo.parent_path() / "shapes-taesd-pipeline"})
      if (fs::equivalent(model, d, ec)) return true;
  } catch (const Error&) {
  }
  return false;
}

// `text`, cut to its first few hundred bytes (at a character boundary) when it is much longer: a
// 100k-character prompt's truncation warning stays readable.
std::string shortened(const std::string& text) {
  constexpr size_t kKeep = 300;
  if (text.size() <= kKeep + 100) return text;
  size_t cut = kKeep;
  while (cut > 0 && (uint8_t(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
  return text.substr(0, cut) + " [... " + std::to_string(text.size() - cut) + " more bytes]";
}

std::string params_text(const GenerateArgs& a, const GenerateRequest& req, const GenerateResult& r,
                        const PipelineInfo& info, size_t image, const std::string& prompt,
                        const std::string& negative) {
  std::ostringstream os;
  os << prompt << "\n";
  if (!negative.empty()) os << "Negative prompt: " << negative << "\n";
  os << "Steps: " << req.num_inference_steps << ", Sampler: " << r.scheduler
     << ", CFG scale: " << req.guidance_scale << ", Seed: " << r.seeds[image]
     << ", Size: " << r.images[image].width << "x" << r.images[image].height << ", Model: " << info.name
     << ", Dtype: " << info.dtype << ", Generator: " << to_string(req.generator);
  if (req.eta != 0) os << ", Eta: " << req.eta;
  if (req.clip_skip) os << ", Clip skip: " << req.clip_skip;
  if (a.upscale > 1) os << ", Upscaled: x" << a.upscale << " " << a.upscale_filter << " (for viewing)";
  os << ", Software: sdfast";
  return os.str();
}

int run_generate(const GenerateArgs& a_in) {
  GenerateArgs a = a_in;
  const bool demo = a.model.empty() || is_bundled_demo(a.model);
  PipelineOptions opt;
  opt.dtype = parse_precision(a.dtype, "--dtype");
  if (!a.vae_dtype.empty()) opt.vae_dtype = parse_precision(a.vae_dtype, "--vae-dtype");
  opt.variant = a.variant;
  opt.threads = a.threads;
  opt.attention = parse_attention(a.attention, "--attention");
  opt.random_weights = a.random_weights;
  if (a.random_weights) opt.fallback_tokenizer = bundled_tokenizer();

  GenerateRequest req;
  req.prompts = a.prompts;
  req.negative_prompts = a.negative_prompts;
  req.num_inference_steps = a.steps_given ? a.steps : (demo ? 25 : 50);
  req.guidance_scale = std::isnan(a.guidance) ? (demo ? 5.0 : 7.5) : a.guidance;
  req.width = a.width;
  req.height = a.height;
  req.num_images_per_prompt = a.num_images;
  if (a.seed_given) req.seeds = {a.seed};
  req.generator = parse_generator(a.generator, "--generator");
  req.eta = a.eta;
  req.clip_skip = a.clip_skip;

  int grid_rows = 0, grid_cols = 0;
  validate(a, opt, req, &grid_rows, &grid_cols);
  const auto t0 = std::chrono::steady_clock::now();
  if (a.model.empty()) {
    a.model = bundled_demo_model();
    if (!a.quiet)
      std::cerr << "No --model given: using the bundled demo model " << a.model
                << "\n  (a tiny model trained on coloured shapes at 64x64: it draws shapes on plain "
                   "backgrounds and follows the prompt only part of the time)\n";
  }
  OutputFolder out(a.output);  // created and checked for writing before any heavy work

  auto pipe = Pipeline::from_pretrained(a.model, opt);
  if (!a.scheduler.empty()) pipe->set_scheduler(a.scheduler);
  if (!a.tiny_vae.empty()) pipe->set_vae(a.tiny_vae);
  if (!a.vae.empty()) pipe->set_vae(a.vae);
  const PipelineInfo& info = pipe->info();
  if (!a.quiet) {
    std::cerr << "Loaded " << info.path << " (" << info.dtype << ", UNet " << info.unet_class << " "
              << info.unet_parameters / 1e6 << " M params, VAE " << info.vae_class << ", text encoder "
              << info.text_encoder_class << ") in " << info.load_s << " s\n";
    for (const auto& n : info.notes) std::cerr << "  note: " << n << "\n";
  }

  Progress progress(a.quiet);
  req.callback = [&](const StepInfo& s) {
    progress.update(s);
    return true;
  };
  GenerateResult r = pipe->generate(req);
  progress.finish();
  for (const std::string& w : r.warnings) std::cerr << "sdfast: warning: " << shortened(w) << "\n";

  std::vector<std::string> written;
  const size_t per_prompt = size_t(a.num_images);
  std::vector<Image> shown;
  for (size_t i = 0; i < r.images.size(); ++i) {
    const size_t p = i / per_prompt;
    const std::string neg = a.negative_prompts.empty() ? "" : a.negative_prompts.size() == 1 ? a.negative_prompts[0] : a.negative_prompts[p];
    Image im = a.upscale > 1 ? upscale(r.images[i], a.upscale, a.upscale_filter == "bilinear" ? UpscaleFilter::Bilinear : UpscaleFilter::Nearest) : r.images[i];
    written.push_back(out.write(im, std::to_string(r.seeds[i]),
                                {{"parameters", params_text(a, req, r, info, i, a.prompts[p], neg)}}));
    shown.push_back(std::move(im));
  }
  if (grid_rows > 0) {
    written.push_back(out.write(make_image_grid(shown, grid_rows, grid_cols), "grid",
                                {{"parameters", params_text(a, req, r, info, 0, a.prompts[0],
                                                            a.negative_prompts.empty() ? "" : a.negative_prompts[0]) +
                                                    ", Grid: " + a.grid}}));
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!a.quiet) {
    for (const auto& w : written) std::cout << w << "\n";
    print_summary(std::cerr, info.load_s, r.timings, total);
  }
  if (!a.timings_json.empty()) {
    nlohmann::json j;
    j["load_s"] = info.load_s;
    j["text_encoder_s"] = r.timings.text_encoder_s;
    j["unet_steps_s"] = r.timings.unet_steps_s;
    j["vae_decode_s"] = r.timings.vae_decode_s;
    j["total_s"] = total;
    j["generate_s"] = r.timings.total_s;
    j["peak_rss_mb"] = peak_rss_mb();
    j["machine"] = nlohmann::json::parse(machine_report_json(a.threads));
    j["settings"] = {{"model", info.path},        {"dtype", info.dtype},
                     {"variant", a.variant},       {"scheduler", r.scheduler},
                     {"vae", info.vae_class},      {"steps", req.num_inference_steps},
                     {"guidance", req.guidance_scale}, {"width", r.images.empty() ? 0 : r.images[0].width},
                     {"height", r.images.empty() ? 0 : r.images[0].height},
                     {"num_images", r.images.size()}, {"seeds", r.seeds},
                     {"generator", to_string(req.generator)}, {"attention", a.attention},
                     {"threads", a.threads},       {"random_weights", a.random_weights},
                     {"prompts", a.prompts}};
    write_text_file_atomic(a.timings_json, j.dump(2) + "\n");
  }
  return 0;
}

}  // namespace

void add_generate_command(CLI::App& app, Runner& run) {
  auto a = std::make_shared<GenerateArgs>();
  auto guidance_text = std::make_shared<std::string>();
  auto seed_text = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate images from text prompts.");
  cmd->add_option("--model", a->model,
                  "Diffusers pipeline folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, "
                  "scheduler/). Default: the bundled demo model (models/demo/shapes-pipeline)");
  cmd->add_option("--prompt,-p", a->prompts, "Prompt; repeat for a batch of prompts")->required();
  cmd->add_option("--negative-prompt,-n", a->negative_prompts, "Negative prompt (one, or one per prompt)");
  cmd->add_option("--steps", a->steps, "Denoising steps (default 50; 25 on the bundled demo models)")
      ->each([a](const std::string&) { a->steps_given = true; });
  cmd->add_option("--guidance", *guidance_text, "Classifier-free guidance scale; <= 1 turns guidance off (default 7.5; 5 on the bundled demo models)")
      ->type_name("FLOAT");
  cmd->add_option("--width", a->width, "Image width, a multiple of 8 (default: the model's)");
  cmd->add_option("--height", a->height, "Image height, a multiple of 8 (default: the model's)");
  cmd->add_option("--num-images", a->num_images, "Images per prompt")->capture_default_str();
  // Read as text: CLI11 would turn "-1" into 2^64-1 and saturate larger numbers silently.
  cmd->add_option("--seed", *seed_text, "Seed of the first image; image i gets seed+i (default 0)")
      ->each([a](const std::string&) { a->seed_given = true; });
  cmd->add_option("--generator", a->generator, "Per-image random generator: numpy (PCG64, as Diffusers with np generators) or torch (CPU)")
      ->check(CLI::IsMember({"numpy", "torch"}))->capture_default_str();
  cmd->add_option("--scheduler", a->scheduler,
                  "Scheduler class or alias, on top of the model's scheduler config: ddim, pndm, euler, euler_a, "
                  "dpmpp_2m, dpmpp_2m_karras, lms, heun, unipc, lcm, ddpm (default: the model's)");
  cmd->add_option("--eta", a->eta, "DDIM eta (0 = deterministic)")->capture_default_str();
  cmd->add_option("--clip-skip", a->clip_skip, "Use the text encoder layer N before the last")->capture_default_str();
  cmd->add_option("--tiny-vae", a->tiny_vae, "AutoencoderTiny (TAESD) folder to decode with instead of the model's VAE");
  cmd->add_option("--vae", a->vae, "Another VAE component folder (AutoencoderKL or AutoencoderTiny)");
  cmd->add_option("--dtype", a->dtype, "Precision: auto (bf16 where the CPU multiplies bf16 natively, else f32), f32 (reference) or bf16 (half the weight memory; fast where native)")
      ->check(CLI::IsMember({"auto", "f32", "bf16"}))->capture_default_str();
  cmd->add_option("--vae-dtype", a->vae_dtype, "Precision of the VAE: auto, f32 or bf16 (default: --dtype)")
      ->check(CLI::IsMember({"auto", "f32", "bf16"}));
  cmd->add_option("--variant", a->variant, "Weights variant, e.g. fp16 (*.fp16.safetensors where present)");
  cmd->add_option("--attention", a->attention, "Attention kernel: flash (memory-efficient) or naive")
      ->check(CLI::IsMember({"flash", "naive"}))->capture_default_str();
  cmd->add_option("--threads", a->threads, "Threads (0: all cores)")->capture_default_str();
  cmd->add_option("--output,-o", a->output, "Output folder (created if missing); files are never overwritten")->capture_default_str();
  cmd->add_option("--grid", a->grid, "Also write an image grid ROWSxCOLS of all images, e.g. 2x2");
  cmd->add_option("--upscale", a->upscale, "Enlarge the saved PNGs N times for viewing (not super-resolution)")->capture_default_str();
  cmd->add_option("--upscale-filter", a->upscale_filter, "nearest or bilinear")
      ->check(CLI::IsMember({"nearest", "bilinear"}))->capture_default_str();
  cmd->add_flag("--random-weights", a->random_weights, "Seeded random weights for config-only folders (benchmarks; images are noise)");
  cmd->add_option("--timings-json", a->timings_json, "Write timings and settings as one JSON object to FILE");
  cmd->add_flag("--quiet,-q", a->quiet, "No progress or summary");
  cmd->callback([a, guidance_text, seed_text, &run] {
    if (a->seed_given) {
      const char* begin = seed_text->data();
      const char* end = begin + seed_text->size();
      const auto [stop, ec] = std::from_chars(begin, end, a->seed);
      if (seed_text->empty() || ec != std::errc() || stop != end)
        throw InvalidArgument("--seed must be an integer from 0 to 18446744073709551615, got '" +
                              *seed_text + "'");
    }
    if (!guidance_text->empty()) {
      char* end = nullptr;
      a->guidance = std::strtod(guidance_text->c_str(), &end);
      if (end == guidance_text->c_str() || *end != '\0' || !std::isfinite(a->guidance) ||
          std::fabs(a->guidance) > 1000)
        throw InvalidArgument("--guidance must be a number between -1000 and 1000, got '" +
                              *guidance_text + "'");
    }
    run = [a] { return run_generate(*a); };
  });
}

}  // namespace sdfast::cli
