// Reference: diffusers/src/diffusers/pipelines/stable_diffusion/pipeline_stable_diffusion.py
// (StableDiffusionPipeline.encode_prompt, prepare_latents, __call__) and
// image_processor.py (VaeImageProcessor.postprocess), v0.26.3.
#include "pipeline/stable_diffusion_pipeline.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "io/diffusers_folder.h"
#include "io/memory_budget.h"
#include "models/autoencoder_kl.h"
#include "models/autoencoder_tiny.h"
#include "pipeline/batch.h"
#include "pipeline/image_edit.h"
#include "models/component_loader.h"
#include "random/generator.h"
#include "random/numpy_pcg64_generator.h"
#include "simd/dispatch.h"
#include "sdfast/system.h"

namespace sdfast {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Auto: bf16 where the kernel variant multiplies in bf16 natively, float32 elsewhere.
DType resolve(Precision p) {
  if (p == Precision::Auto) return simd::native_bf16(simd::dispatch().chosen) ? DType::BF16 : DType::F32;
  return p == Precision::BF16 ? DType::BF16 : DType::F32;
}

// One line saying what a bf16 request runs as on this CPU, when it is not native bf16.
std::optional<std::string> precision_note(const Engine& models, const Engine& vae) {
  if (!models.bf16_storage_only() && !vae.bf16_storage_only()) return std::nullopt;
  const std::string what = models.bf16_storage_only() && vae.bf16_storage_only() ? "bf16"
                           : models.bf16_storage_only()                          ? "bf16 (unet, text encoder)"
                                                                                 : "bf16 (vae)";
  return what + ": weights kept in 16 bits (half the memory), float32 arithmetic: kernel variant " +
         simd::isa_name(models.isa()) + " has no native bf16 matrix products";
}

// Where the components' weights come from: their files, or seeded random values for config-only
// folders (taking at most `budget` bytes, shared by the components).
models::WeightsFrom weights_from(const PipelineOptions& o, uint64_t* budget) {
  return models::WeightsFrom{o.random_weights, o.random_weights_seed, budget};
}

}  // namespace

std::unique_ptr<StableDiffusionPipeline> StableDiffusionPipeline::load(
    const std::string& path, const PipelineOptions& o, const MemorySources& memory) {
  const auto t0 = Clock::now();
  std::unique_ptr<StableDiffusionPipeline> p(new StableDiffusionPipeline());
  p->options_ = o;
  o.validate();
  RuntimeOptions ro;
  ro.threads = o.threads;
  ro.precision = resolve(o.dtype);
  ro.attention = o.attention == AttentionKind::Naive ? AttentionKernel::Naive : AttentionKernel::Flash;
  p->engine_ = std::make_unique<Engine>(ro);
  RuntimeOptions vo = ro;
  vo.precision = o.vae_dtype ? resolve(*o.vae_dtype) : ro.precision;
  p->vae_engine_ = std::make_unique<Engine>(vo);
  Runtime rt(*p->engine_, o.threads);  // loading is a run of its own (weights packed with it)

  FolderOptions fo;
  fo.variant = o.variant;
  fo.require_weights = !o.random_weights;
  const DiffusersFolder folder = DiffusersFolder::open(path, fo);
  const MemoryAvailability available = read_memory_availability(memory);
  if (!o.random_weights)
    check_fits_in_memory(folder.estimate_weight_bytes(ro.precision), available,
                         "the weights of '" + path + "' in " + dtype_name(ro.precision));
  else
    p->random_weights_budget_ = available.available().value_or(UINT64_MAX);
  PipelineInfo& info = p->info_;
  info.path = path;
  info.name = fs::path(path).lexically_normal().filename().string();
  if (info.name.empty()) info.name = fs::path(path).lexically_normal().parent_path().filename().string();
  info.dtype = dtype_name(ro.precision) == std::string("BF16") ? "bf16" : "f32";
  if (o.dtype == Precision::Auto) info.dtype += " (auto)";
  if (auto n = precision_note(*p->engine_, *p->vae_engine_)) info.notes.push_back(*n);
  for (const std::string& ignored : folder.ignored()) info.notes.push_back(ignored + " present: not run");

  // Tokenizer (config-only folders have no vocabulary: use the caller's fallback_tokenizer).
  const Component& tok = folder.component("tokenizer");
  if (fs::exists(fs::path(tok.dir) / "vocab.json")) {
    p->tokenizer_.emplace(ClipTokenizer::from_folder(tok.dir));
  } else {
    if (o.fallback_tokenizer.empty())
      fail("'", tok.dir, "' has no vocab.json (a config-only folder?): give a CLIP tokenizer folder "
           "as PipelineOptions::fallback_tokenizer");
    info.notes.push_back("'" + tok.dir + "' has no vocab.json: using the CLIP vocabulary in '" +
                         o.fallback_tokenizer + "'");
    p->tokenizer_.emplace(ClipTokenizer::from_folder(o.fallback_tokenizer));
  }

  const Component& te = folder.component("text_encoder");
  {
    auto loaded = models::load_text_encoder(rt, te, weights_from(o, &p->random_weights_budget_));
    p->text_encoder_.emplace(std::move(loaded.model));
    info.text_encoder_parameters = loaded.parameters;
    info.text_encoder_class = te.class_name;
    for (const auto& f : te.weights.files) info.weight_files.push_back(f);
  }
  {
    // The tokenizer must fit the text encoder it feeds (else every generation would fail).
    const models::CLIPTextConfig& tc = p->text_encoder_->config();
    const std::string tok_file = tok.config_path.empty() ? tok.dir : tok.config_path;
    if (p->tokenizer_->model_max_length() > tc.max_position_embeddings)
      fail("'", tok_file, "': model_max_length ", p->tokenizer_->model_max_length(),
           " is more than the text encoder's max_position_embeddings ", tc.max_position_embeddings,
           " ('", te.config_path, "')");
    if (p->tokenizer_->vocab_size() > size_t(tc.vocab_size))
      fail("'", tok.dir, "': the vocabulary has ", p->tokenizer_->vocab_size(),
           " tokens, more than the text encoder's vocab_size ", tc.vocab_size, " ('",
           te.config_path, "')");
  }
  const Component& unet = folder.component("unet");
  {
    auto loaded = models::load_unet(rt, unet, weights_from(o, &p->random_weights_budget_));
    p->unet_.emplace(std::move(loaded.model));
    info.unet_parameters = loaded.parameters;
    info.unet_class = unet.class_name;
    for (const auto& f : unet.weights.files) info.weight_files.push_back(f);
    if (!unet.weights.files.empty()) info.notes.push_back("unet weights: " + unet.weights.describe());
  }
  p->load_vae(folder.component("vae"));

  const Component& sched = folder.component("scheduler");
  p->scheduler_config_ = sched.config;
  p->scheduler_name_ = sched.class_name;
  make_scheduler(p->scheduler_name_, p->scheduler_config_);  // validates the config now
  info.scheduler_class = p->scheduler_name_;
  info.load_s = seconds_since(t0);
  return p;
}

std::unique_ptr<models::Vae> StableDiffusionPipeline::build_vae(const Component& c, models::AutoencoderParts parts,
                                                               uint64_t* random_weights_budget,
                                                               int64_t* parameters) const {
  Runtime rt(*vae_engine_, options_.threads);  // loading is a run of its own (weights packed with it)
  auto loaded = models::load_vae(rt, c, weights_from(options_, random_weights_budget), parts);
  if (parameters) *parameters = loaded.parameters;
  return std::move(loaded.model);
}

void StableDiffusionPipeline::load_vae(const Component& c) {
  int64_t parameters = 0;
  vae_ = build_vae(c, models::AutoencoderParts{/*encoder=*/false, /*decoder=*/true}, &random_weights_budget_,
                   &parameters);
  {
    std::lock_guard lock(vae_encoder_mutex_);
    vae_component_ = std::make_shared<const Component>(c);
    vae_encoder_.reset();
    vae_encoder_budget_ = random_weights_budget_;
  }
  info_.vae_class = c.class_name;
  info_.vae_parameters = parameters;
  const int scale = vae_->vae_scale_factor();
  const int sample = unet_->config().sample_size;
  info_.default_height = info_.default_width = sample * scale;
}

const models::Vae& StableDiffusionPipeline::vae_encoder() const {
  std::lock_guard lock(vae_encoder_mutex_);
  if (!vae_encoder_)
    vae_encoder_ = build_vae(*vae_component_, models::AutoencoderParts{/*encoder=*/true, /*decoder=*/false},
                             &vae_encoder_budget_, nullptr);
  return *vae_encoder_;
}

void StableDiffusionPipeline::set_vae(const std::string& path) {
  FolderOptions fo;
  fo.variant = options_.variant;
  fo.require_weights = !options_.random_weights;
  const Component c = open_component_folder(path, fo);
  if (role_of_class(c.class_name) != "vae")
    fail_argument("'", path, "' holds a ", c.class_name, ", not a VAE (AutoencoderKL or AutoencoderTiny)");
  load_vae(c);
  for (const auto& f : c.weights.files) info_.weight_files.push_back(f);
}

lora::LoraMatch StableDiffusionPipeline::load_lora(const std::string& path, float scale, lora::LoraMode mode) {
  lora::LoraTargets targets;
  unet_->collect_layers(targets.unet);
  text_encoder_->collect_layers(targets.text_encoder);
  Runtime rt(*engine_, options_.threads);
  return loras_.add(rt, lora::LoraFile::read(path), scale, mode, targets);
}

void StableDiffusionPipeline::set_lora_scale(size_t index, float scale) {
  Runtime rt(*engine_, options_.threads);
  loras_.set_scale(rt, index, scale);
}

void StableDiffusionPipeline::unload_loras() {
  Runtime rt(*engine_, options_.threads);
  loras_.clear(rt);
}

void StableDiffusionPipeline::set_scheduler(const std::string& name, const std::optional<Config>& config) {
  // Built once here to check the name and values (throws); each run builds its own.
  info_.scheduler_class = make_scheduler(name, config ? *config : scheduler_config_)->class_name();
  scheduler_name_ = name;
  scheduler_config_override_ = config;
}

void StableDiffusionPipeline::check_request(const GenerateRequest& r, int height, int width) const {
  r.validate();
  // What depends on the model: the default size (from the UNet and VAE) and the text encoder.
  for (auto [v, name] : {std::pair{height, "height"}, {width, "width"}})
    if (v < 8 || v % 8 != 0 || v > Limits::kMaxSize)
      fail_argument(name, " must be a positive multiple of 8 up to ", Limits::kMaxSize, ", got ", v);
  if (r.deepcache_interval > 1)  // throws naming the valid branch ids of this UNet
    models::make_deepcache_plan(unet_->block_layout(), r.deepcache_branch_id);
  const int layers = text_encoder_->config().num_hidden_layers;
  if (r.clip_skip < 0 || r.clip_skip >= layers)
    fail_argument("clip_skip must be between 0 and ", layers - 1, " for this text encoder, got ", r.clip_skip);
}

Tensor StableDiffusionPipeline::encode_text(Runtime& rt, const std::vector<std::string>& texts,
                                            int clip_skip, std::vector<std::string>& warnings) const {
  const int len = tokenizer_->model_max_length();
  Tensor ids = Tensor::empty({int64_t(texts.size()), len}, DType::I32);
  for (size_t i = 0; i < texts.size(); ++i) {
    const ClipTokens tokens = tokenizer_->tokenize_padded(texts[i], len);
    if (tokens.truncated())
      warnings.push_back("The following part of your input was truncated because CLIP can only handle sequences up to " +
                         std::to_string(len) + " tokens: " + tokens.removed_text);
    std::copy(tokens.input_ids.begin(), tokens.input_ids.end(), ids.data<int32_t>() + i * size_t(len));
  }
  return text_encoder_->encode(rt, ids, clip_skip).to(DType::F32);
}

PipelineOutput StableDiffusionPipeline::generate(const GenerateRequest& r) const {
  const auto t_start = Clock::now();
  // An init image sets the size (img2img, inpainting); negative sizes are refused below.
  const int height = r.height != 0 ? r.height : r.image ? r.image->height : info_.default_height;
  const int width = r.width != 0 ? r.width : r.image ? r.image->width : info_.default_width;
  // The init image first: a wrong image size is named as such, not as a bad height.
  check_edit_request(r, height, width, unet_->config().in_channels, vae_->latent_channels());
  check_request(r, height, width);

  // This run's execution contexts, on the calling thread (the models are shared, read-only).
  const int threads = r.threads != 0 ? r.threads : options_.threads;
  Runtime rt(*engine_, threads), vae_rt(*vae_engine_, threads);

  PipelineOutput out;
  const int64_t n_prompts = int64_t(r.prompts.size()), per = r.num_images_per_prompt;
  const int64_t images = n_prompts * per;
  const bool cfg = r.guidance_scale > 1.0 && unet_->config().time_cond_proj_dim <= 0;

  // 1. Prompt embeddings (Diffusers applies clip_skip to the prompts, not to the negative prompts).
  auto t0 = Clock::now();
  out.prompt_embeds = encode_text(rt, r.prompts, r.clip_skip, out.warnings);
  Tensor embeds = repeat_rows(out.prompt_embeds, per);
  if (cfg) {
    std::vector<std::string> neg(size_t(n_prompts), "");
    if (r.negative_prompts.size() == 1) neg.assign(size_t(n_prompts), r.negative_prompts[0]);
    if (r.negative_prompts.size() == size_t(n_prompts)) neg = r.negative_prompts;
    out.negative_prompt_embeds = encode_text(rt, neg, 0, out.warnings);
    embeds = cat0({repeat_rows(out.negative_prompt_embeds, per), embeds});  // unconditional first
  }
  out.timings.text_encoder_s = seconds_since(t0);

  // 2. Scheduler and timesteps (a fresh instance: schedulers keep per-run state).
  auto scheduler = r.scheduler.empty()
                       ? make_scheduler(scheduler_name_, scheduler_config_override_ ? *scheduler_config_override_
                                                                                    : scheduler_config_)
                       : make_scheduler(r.scheduler, scheduler_config_);
  scheduler->set_timesteps(r.num_inference_steps);
  scheduler->set_eta(r.eta);
  out.scheduler = scheduler->class_name();

  // 3. One generator per image (from its seed, or continuing a given numpy state); initial latents
  //    drawn from each.
  std::vector<std::unique_ptr<Generator>> generators;
  if (!r.generator_states.empty()) {
    for (const GeneratorState& state : r.generator_states)
      generators.push_back(std::make_unique<NumpyPcg64Generator>(state));
  } else {
    out.seeds.resize(size_t(images));
    for (int64_t i = 0; i < images; ++i)
      out.seeds[size_t(i)] = r.seeds.empty() ? uint64_t(i) : r.seeds.size() == 1 ? r.seeds[0] + uint64_t(i) : r.seeds[size_t(i)];
    for (uint64_t seed : out.seeds) generators.push_back(make_generator(to_string(r.generator), seed));
  }
  const int64_t channels = unet_->config().in_channels, scale = vae_->vae_scale_factor();
  const Shape latent_shape{images, channels, height / scale, width / scale};
  std::optional<EditLatents> edit;
  if (edit_mode(r) != EditMode::TextToImage) {
    edit = prepare_edit_latents(r, vae_encoder(), vae_rt, *scheduler, generators, int(channels),
                                height / scale, width / scale);
    out.timings.vae_encode_s = edit->vae_encode_s;
    out.initial_latents = edit->noise;
    out.image_latents = edit->image_latents;
    out.start_latents = edit->start_latents;
    out.mask_latent = edit->mask;
    out.masked_image_latents = edit->masked_image_latents;
  } else if (!r.latents.empty()) {
    if (int64_t(r.latents.size()) != shape_numel(latent_shape))
      fail_argument("latents: expected ", shape_numel(latent_shape), " values for ", shape_str(latent_shape),
                    ", got ", r.latents.size());
    for (size_t i = 0; i < r.latents.size(); ++i)
      if (!std::isfinite(r.latents[i]))
        fail_argument("latents: value ", i, " is ", r.latents[i], ", not a finite number");
    out.initial_latents = Tensor::from_vector(latent_shape, r.latents);
  } else {
    std::vector<Tensor> parts;
    for (auto& g : generators) parts.push_back(g->randn({1, channels, height / scale, width / scale}));
    out.initial_latents = cat0(parts);
  }
  Tensor latents = edit ? edit->start_latents : out.initial_latents.clone();
  if (!edit) {
    const float sigma = float(scheduler->init_noise_sigma());
    for (float& v : latents.span<float>()) v *= sigma;
  }
  const NoiseFn noise = [&generators](const Shape& shape) {
    Shape one = shape;
    one[0] = 1;
    SDFAST_CHECK(shape.at(0) == int64_t(generators.size()), "scheduler noise for ", shape_str(shape), " but ",
                 generators.size(), " generators");
    std::vector<Tensor> parts;
    for (auto& g : generators) parts.push_back(g->randn(one));
    return cat0(parts);
  };

  // 4. Denoising loop: guidance batched into one UNet call, unconditional half first. img2img and
  // inpainting run the tail of the schedule that `strength` selects. DeepCache's features live in
  // this run, not in the model.
  const std::vector<double> timesteps(scheduler->timesteps().begin() + std::ptrdiff_t(edit ? edit->first_timestep : 0),
                                      scheduler->timesteps().end());
  if (edit) out.timesteps = timesteps;
  Tensor unet_mask, unet_masked_image;  // the 9-channel UNet's extra inputs, batched as the latents
  if (edit && edit->unet_takes_mask) {
    unet_mask = cfg ? cat0({edit->mask, edit->mask}) : edit->mask;
    unet_masked_image = cfg ? cat0({edit->masked_image_latents, edit->masked_image_latents}) : edit->masked_image_latents;
  }
  std::optional<models::UNetDeepCache> deep_cache;
  std::optional<models::DeepCacheSchedule> deep_schedule;
  if (r.deepcache_interval > 1) {
    deep_cache.emplace(models::make_deepcache_plan(unet_->block_layout(), r.deepcache_branch_id));
    deep_schedule.emplace(r.deepcache_interval, timesteps);
  }
  const float g = float(r.guidance_scale);
  for (size_t step = 0; step < timesteps.size(); ++step) {
    const auto ts = Clock::now();
    const double t = timesteps[step];
    Tensor model_in = scheduler->scale_model_input(cfg ? cat0({latents, latents}) : latents, t);
    if (unet_mask.defined()) model_in = cat_channels({model_in, unet_mask, unet_masked_image});
    Tensor noise_pred;
    if (deep_cache) {
      const bool full = deep_schedule->next_call_is_full(t);
      if (full) out.timings.deepcache_full_calls.push_back(int(step));
      noise_pred = unet_->forward(rt, model_in, {t}, embeds, *deep_cache, full);
    } else {
      noise_pred = unet_->forward(rt, model_in, t, embeds);
    }
    if (cfg) {
      const int64_t half = noise_pred.numel() / 2;
      Tensor guided = Tensor::empty(latents.shape(), DType::F32);
      const float* np = noise_pred.data<float>();
      float* gp = guided.data<float>();
      for (int64_t i = 0; i < half; ++i) gp[i] = np[i] + g * (np[half + i] - np[i]);
      noise_pred = guided;
    }
    latents = scheduler->step(noise_pred, t, latents, noise);
    if (edit && edit->blend_known) {  // the known region at the next step's noise level
      const Tensor known = step + 1 < timesteps.size()
                               ? scheduler->add_noise(edit->image_latents, edit->noise, timesteps[step + 1])
                               : edit->image_latents;
      latents = blend_known(known, latents, edit->mask);
    }
    const double step_s = seconds_since(ts);
    out.timings.unet_steps_s.push_back(step_s);
    if (r.callback && !r.callback(StepInfo{int(step) + 1, int(timesteps.size()), t, step_s})) rt.cancel();
    if (rt.cancelled()) throw Cancelled();
  }
  out.final_latents = latents;
  for (const auto& g : generators)
    if (const auto* numpy = dynamic_cast<const NumpyPcg64Generator*>(g.get()))
      out.generator_states.push_back(numpy->state());

  // 5. Decode one image at a time (bounded memory), postprocess as VaeImageProcessor does.
  t0 = Clock::now();
  for (int64_t i = 0; i < images; ++i) {
    Tensor lat = latents.slice0(i, i + 1).clone();
    for (float& v : lat.span<float>()) v = v / vae_->scaling_factor();
    const Tensor img = vae_->decode(vae_rt, lat).to(DType::F32);  // [1, 3, H, W] in [-1, 1]
    const int64_t h = img.dim(2), w = img.dim(3);
    if (!out.images.defined()) out.images = Tensor::empty({images, h, w, 3}, DType::F32);
    float* dst = out.images.data<float>() + i * h * w * 3;
    const float* src = img.data<float>();
    Image u8{int(w), int(h), std::vector<uint8_t>(size_t(h * w * 3))};
    int64_t nans = 0;
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t p = 0; p < h * w; ++p) {
        const float v = std::clamp(src[c * h * w + p] / 2.0f + 0.5f, 0.0f, 1.0f);
        dst[p * 3 + c] = v;
        // numpy round: half to even. NaN (a model that overflowed) becomes 0, as numpy's cast
        // gives on x86; converting NaN to an integer is undefined behaviour in C++.
        nans += std::isnan(v);
        u8.rgb[size_t(p * 3 + c)] = std::isnan(v) ? 0 : uint8_t(std::nearbyint(v * 255.0f));
      }
    if (nans > 0)
      out.warnings.push_back(str_cat("image ", i + 1, ": ", nans, " of ", h * w * 3,
                                     " values decoded to NaN (the model's output is not finite); "
                                     "they are written as 0"));
    out.images_uint8.push_back(std::move(u8));
  }
  out.timings.vae_decode_s = seconds_since(t0);
  out.timings.total_s = seconds_since(t_start);
  return out;
}

}  // namespace sdfast
