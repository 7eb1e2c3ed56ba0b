// `sdfast generate`: text-to-image from a Diffusers folder (or the bundled demo model); `sdfast
// img2img` and `sdfast inpaint`: the same options plus an init image (and a mask), one code path.
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
#include <optional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "commands.h"
#include "lora_args.h"
#include "model_options.h"
#include "output_files.h"
#include "progress.h"
#include "common/demo_model.h"
#include "sdfast/pipeline.h"
#include "sdfast/system.h"

namespace sdfast::cli {

namespace fs = std::filesystem;

namespace {

// Which of the three commands: they differ in their inputs only.
enum class Command { Generate, Img2Img, Inpaint };

struct GenerateArgs {
  Command command = Command::Generate;
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
  std::string deepcache;  // "N[:BRANCH]"
  std::string output = "outputs";
  std::string grid;
  int upscale = 1;
  std::string upscale_filter = "nearest";
  bool random_weights = false;
  std::string timings_json;
  int threads = 0;
  bool quiet = false;
  std::string format = "png";
  std::string init_image;   // img2img, inpaint
  std::string mask;         // inpaint
  bool mask_alpha = false;  // inpaint: the mask is the transparent part of --mask
  bool strength_given = false;
  double strength = 0;  // img2img (default 0.8), inpaint (default 1.0)
  std::vector<std::string> loras;  // --lora FILE[:SCALE]
  std::string lora_dir;
  std::string lora_mode = "merged";
};

[[noreturn]] void bad(const std::string& msg) { throw InvalidArgument(msg); }

// The library's field names as this command's options, for the library's messages.
std::string flag_name(std::string_view field) {
  static const std::pair<std::string_view, const char*> flags[] = {
      {"prompts", "--prompt"},         {"num_inference_steps", "--steps"},
      {"guidance_scale", "--guidance"}, {"num_images_per_prompt", "--num-images"},
      {"clip_skip", "--clip-skip"},     {"vae_dtype", "--vae-dtype"},
      {"negative_prompts", "--negative-prompt"}, {"deepcache_interval", "--deepcache"}};
  for (const auto& [f, flag] : flags)
    if (f == field) return flag;
  return "--" + std::string(field);  // width, height, eta, threads, dtype, attention, generator, strength
}

// Validates everything that can be checked before loading a model (the library's own checks of
// `opt` and `req`, then this command's); throws InvalidArgument.
void validate(const GenerateArgs& a, const PipelineOptions& opt, const GenerateRequest& req,
              int* grid_rows, int* grid_cols) {
  if (a.prompts.empty()) bad("--prompt is required");
  opt.validate(flag_name);
  req.validate(flag_name);
  if (a.upscale < 1 || a.upscale > 16) bad("--upscale must be between 1 and 16");
  if (!a.deepcache.empty()) parse_deepcache(a.deepcache);  // the branch is checked against the UNet later
  if (a.strength_given && !(a.strength > 0 && a.strength <= 1))
    bad("--strength must be a number in (0, 1], got " + std::to_string(a.strength));
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
                        const std::string& negative, const std::vector<LoraRequest>& loras) {
  std::ostringstream os;
  os << prompt << "\n";
  if (!negative.empty()) os << "Negative prompt: " << negative << "\n";
  os << "Steps: " << req.num_inference_steps << ", Sampler: " << r.scheduler
     << ", CFG scale: " << req.guidance_scale << ", Seed: " << r.seeds[image]
     << ", Size: " << r.images[image].width << "x" << r.images[image].height << ", Model: " << info.name
     << ", Dtype: " << info.dtype << ", Generator: " << to_string(req.generator);
  if (req.eta != 0) os << ", Eta: " << req.eta;
  if (req.clip_skip) os << ", Clip skip: " << req.clip_skip;
  if (req.image) os << ", Init image: " << fs::path(a.init_image).filename().string() << ", Strength: " << req.strength;
  if (req.mask_image) os << ", Mask: " << fs::path(a.mask).filename().string() << (a.mask_alpha ? " (alpha)" : "");
  os << lora_parameters(loras, a.lora_mode == "merged");
  if (req.deepcache_interval > 1)
    os << ", DeepCache: interval " << req.deepcache_interval << " branch " << req.deepcache_branch_id;
  if (a.upscale > 1) os << ", Upscaled: x" << a.upscale << " " << a.upscale_filter << " (for viewing)";
  os << ", Software: sdfast";
  return os.str();
}

int run_generate(const GenerateArgs& a_in) {
  GenerateArgs a = a_in;
  const bool demo = a.model.empty() || is_bundled_demo(a.model);
  PipelineOptions opt = pipeline_options({a.dtype, a.vae_dtype, a.variant, a.attention, a.threads});
  opt.random_weights = a.random_weights;
  if (a.random_weights) opt.fallback_tokenizer = bundled_tokenizer();

  GenerateRequest req;
  req.prompts = a.prompts;
  req.negative_prompts = a.negative_prompts;
  req.num_inference_steps = a.steps_given ? a.steps : (demo ? kDemoSteps : kDefaultSteps);
  req.guidance_scale = std::isnan(a.guidance) ? (demo ? kDemoGuidance : kDefaultGuidance) : a.guidance;
  req.width = a.width;
  req.height = a.height;
  req.num_images_per_prompt = a.num_images;
  if (a.seed_given) req.seeds = {a.seed};
  req.generator = parse_generator(a.generator, "--generator");
  req.eta = a.eta;
  req.clip_skip = a.clip_skip;
  if (a.command != Command::Generate)
    req.strength = a.strength_given ? a.strength : a.command == Command::Inpaint ? 1.0 : 0.8;
  if (!a.deepcache.empty()) {
    const DeepCacheSetting d = parse_deepcache(a.deepcache);
    req.deepcache_interval = d.interval;
    req.deepcache_branch_id = d.branch_id;
  }

  int grid_rows = 0, grid_cols = 0;
  validate(a, opt, req, &grid_rows, &grid_cols);
  // LoRA files named by --lora and prompt tags (removed from the prompts that are tokenised; the
  // PNG metadata keeps the prompts as given, tags included, as A1111 does).
  const std::vector<LoraRequest> loras = resolve_loras(a.loras, req.prompts, a.lora_dir);
  const auto t0 = std::chrono::steady_clock::now();
  // Input images first: a bad file stops the run before anything is created or loaded.
  if (a.command != Command::Generate) req.image = load_image(a.init_image);
  if (a.command == Command::Inpaint)
    req.mask_image = load_image(a.mask, a.mask_alpha ? AlphaUse::Transparent : AlphaUse::Drop);
  if (a.model.empty()) {
    a.model = bundled_demo_model();
    if (!a.quiet)
      std::cerr << "No --model given: using the bundled demo model " << a.model
                << "\n  (a tiny model trained on coloured shapes at 64x64: it draws shapes on plain "
                   "backgrounds and follows the prompt only part of the time)\n";
  }
  OutputFolder out(a.output, parse_image_format(a.format));  // created and checked before any heavy work

  auto pipe = Pipeline::from_pretrained(a.model, opt);
  if (!a.scheduler.empty()) pipe->set_scheduler(a.scheduler);
  if (!a.tiny_vae.empty()) pipe->set_vae(a.tiny_vae);
  if (!a.vae.empty()) pipe->set_vae(a.vae);
  const auto t_lora = std::chrono::steady_clock::now();
  for (const LoraRequest& l : loras) {
    const LoraInfo li = pipe->load_lora(l.file, l.scale, a.lora_mode == "merged");
    if (!li.unmatched.empty()) std::cerr << "sdfast: warning: " << li.summary << "\n";
  }
  const double lora_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_lora).count();
  const PipelineInfo& info = pipe->info();
  if (!a.quiet) {
    std::cerr << "Loaded " << info.path << " (" << info.dtype << ", UNet " << info.unet_class << " "
              << info.unet_parameters / 1e6 << " M params, VAE " << info.vae_class << ", text encoder "
              << info.text_encoder_class << ") in " << info.load_s << " s\n";
    for (const auto& n : info.notes) std::cerr << "  note: " << n << "\n";
    if (!loras.empty())
      std::cerr << "Applied " << loras.size() << " LoRA" << (loras.size() > 1 ? "s" : "") << " (" << a.lora_mode
                << ") in " << lora_s << " s\n";
  }

  Progress progress(a.quiet);
  req.callback = [&](const StepInfo& s) {
    progress.update(s);
    return true;
  };
  GenerateResult r = a.command == Command::Img2Img   ? pipe->img2img(req)
                     : a.command == Command::Inpaint ? pipe->inpaint(req)
                                                     : pipe->generate(req);
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
                                {{"parameters", params_text(a, req, r, info, i, a.prompts[p], neg, loras)}}));
    shown.push_back(std::move(im));
  }
  if (grid_rows > 0) {
    written.push_back(out.write(make_image_grid(shown, grid_rows, grid_cols), "grid",
                                {{"parameters", params_text(a, req, r, info, 0, a.prompts[0],
                                                            a.negative_prompts.empty() ? "" : a.negative_prompts[0], loras) +
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
    if (req.image) j["vae_encode_s"] = r.timings.vae_encode_s;
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
                     {"prompts", a.prompts},
                     {"deepcache_interval", req.deepcache_interval},
                     {"deepcache_branch_id", req.deepcache_branch_id}};
    if (req.deepcache_interval > 1) j["deepcache_full_calls"] = r.timings.deepcache_full_calls;
    if (req.image) j["settings"]["strength"] = req.strength;
    j["lora_s"] = lora_s;
    for (const LoraRequest& l : loras)
      j["settings"]["loras"].push_back({{"file", l.file}, {"scale", l.scale}, {"mode", a.lora_mode}});
    write_text_file_atomic(a.timings_json, j.dump(2) + "\n");
  }
  return 0;
}

// Registers one of the three commands with every option they share, then its own inputs.
void add_command(CLI::App& app, Runner& run, Command command) {
  auto a = std::make_shared<GenerateArgs>();
  a->command = command;
  auto guidance_text = std::make_shared<std::string>();
  auto seed_text = std::make_shared<std::string>();
  CLI::App* cmd =
      command == Command::Generate
          ? app.add_subcommand("generate", "Generate images from text prompts.")
      : command == Command::Img2Img
          ? app.add_subcommand("img2img", "Change an image guided by prompts (Diffusers' StableDiffusionImg2ImgPipeline).")
          : app.add_subcommand("inpaint",
                               "Repaint the masked part of an image guided by prompts (StableDiffusionInpaintPipeline).");
  if (command != Command::Generate) {
    cmd->add_option("--init-image", a->init_image,
                    "The image to start from: PNG, JPEG or WebP (RGB, grey or RGBA: alpha dropped); its size is "
                    "the output size (width and height multiples of 8)")
        ->required();
    cmd->add_option("--strength", a->strength,
                    "How much to change, in (0, 1]: int(steps * strength) steps run, from that noise level "
                    "(default 0.8 for img2img, 1.0 for inpaint)")
        ->each([a](const std::string&) { a->strength_given = true; });
  }
  if (command == Command::Inpaint) {
    cmd->add_option("--mask", a->mask,
                    "Mask image of the init image's size: white (grey >= 128) is repainted, black is kept")
        ->required();
    cmd->add_flag("--mask-alpha", a->mask_alpha,
                  "Take the mask from --mask's alpha channel instead: transparent pixels are repainted");
  }
  cmd->add_option("--model", a->model,
                  "Diffusers pipeline folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, "
                  "scheduler/). Default: the bundled demo model (models/demo/shapes-pipeline)");
  cmd->add_option("--prompt,-p", a->prompts, "Prompt; repeat for a batch of prompts")->required();
  cmd->add_option("--negative-prompt,-n", a->negative_prompts, "Negative prompt (one, or one per prompt)");
  cmd->add_option("--steps", a->steps, "Denoising steps (default 50; 25 on the bundled demo models)")
      ->each([a](const std::string&) { a->steps_given = true; });
  cmd->add_option("--guidance", *guidance_text, "Classifier-free guidance scale; <= 1 turns guidance off (default 7.5; 5 on the bundled demo models)")
      ->type_name("FLOAT");
  const char* size_default = command == Command::Generate ? "the model's" : "the init image's";
  cmd->add_option("--width", a->width, std::string("Image width, a multiple of 8 (default: ") + size_default + ")");
  cmd->add_option("--height", a->height, std::string("Image height, a multiple of 8 (default: ") + size_default + ")");
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
  // --deepcache alone: N = 3, the largest interval before the demo model's images drift much
  // further from the uncached ones (PSNR 25.4 / 24.9 / 20.9 dB at N = 2 / 3 / 5, docs/deepcache.md).
  cmd->add_option("--deepcache", a->deepcache,
                  "DeepCache: run the full UNet every N-th step only and reuse its deep features in "
                  "between (faster, approximate; N = 1: off; --deepcache alone: 3). BRANCH "
                  "(default 0) picks how much is reused: 0 the most, larger ids keep more of the "
                  "UNet fresh. See docs/deepcache.md")
      ->type_name("N[:BRANCH]")
      ->expected(0, 1)
      ->default_str("3");
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
  cmd->add_option("--format", a->format, "Image file format: png (with the parameters as a text chunk), jpeg or webp (quality 95)")
      ->check(CLI::IsMember({"png", "jpeg", "webp"}))->capture_default_str();
  cmd->add_option("--grid", a->grid, "Also write an image grid ROWSxCOLS of all images, e.g. 2x2");
  cmd->add_option("--upscale", a->upscale, "Enlarge the saved images N times for viewing (not super-resolution)")->capture_default_str();
  cmd->add_option("--upscale-filter", a->upscale_filter, "nearest or bilinear")
      ->check(CLI::IsMember({"nearest", "bilinear"}))->capture_default_str();
  cmd->add_flag("--random-weights", a->random_weights, "Seeded random weights for config-only folders (benchmarks; images are noise)");
  cmd->add_option("--timings-json", a->timings_json, "Write timings and settings as one JSON object to FILE");
  cmd->add_flag("--quiet,-q", a->quiet, "No progress or summary");
  cmd->add_option("--lora", a->loras,
                  "LoRA file (.safetensors: kohya/A1111, Diffusers or PEFT layout) with an optional scale, "
                  "FILE or FILE:SCALE (default 1); repeat for several");
  cmd->add_option("--lora-dir", a->lora_dir,
                  "Folder where <lora:NAME:SCALE> prompt tags find NAME.safetensors (the tag is removed from the prompt)");
  cmd->add_option("--lora-mode", a->lora_mode,
                  "merged: LoRAs merged into the weights (no cost per step); unmerged: added at run time")
      ->check(CLI::IsMember({"merged", "unmerged"}))->capture_default_str();
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

}  // namespace

void add_generate_command(CLI::App& app, Runner& run) { add_command(app, run, Command::Generate); }
void add_img2img_command(CLI::App& app, Runner& run) { add_command(app, run, Command::Img2Img); }
void add_inpaint_command(CLI::App& app, Runner& run) { add_command(app, run, Command::Inpaint); }

}  // namespace sdfast::cli
