// Golden kind "pipeline": StableDiffusionPipeline end to end (prompt embeddings, denoising loop
// with per-image generators, VAE decode, postprocessing), against Diffusers in float64.
#include "core/error.h"
#include "golden/kinds.h"
#include "pipeline/stable_diffusion_pipeline.h"
#include "random/generator.h"

namespace sdfast::golden {

namespace {

Tensor stack_images(const std::vector<Image>& images) {
  const int64_t n = int64_t(images.size()), h = images[0].height, w = images[0].width;
  Tensor t = Tensor::empty({n, h, w, 3}, DType::U8);
  uint8_t* p = t.data<uint8_t>();
  for (const Image& im : images) p = std::copy(im.rgb.begin(), im.rgb.end(), p);
  return t;
}

}  // namespace

void run_pipeline(CaseRun& run) {
  const GoldenCase& c = run.golden();
  const nlohmann::json& p = c.params();
  PipelineOptions options;
  options.dtype = run.reduced_precision() ? parse_precision(run.options().dtype) : Precision::F32;
  options.threads = run.options().threads;
  auto pipe = StableDiffusionPipeline::load(c.model_path(), options);
  if (p.contains("scheduler")) {
    std::optional<Config> config;
    if (p.contains("scheduler_config")) config = Config(p["scheduler_config"], "case.json scheduler_config");
    pipe->set_scheduler(p["scheduler"].get<std::string>(), config);
  }
  GenerateRequest req;
  req.prompts = {p.at("prompt").get<std::string>()};
  if (p.contains("negative_prompt") && p["negative_prompt"].is_string())
    req.negative_prompts = {p["negative_prompt"].get<std::string>()};
  req.num_inference_steps = p.at("num_inference_steps").get<int>();
  req.guidance_scale = p.at("guidance_scale").get<double>();
  req.height = p.at("height").get<int>();
  req.width = p.at("width").get<int>();
  req.num_images_per_prompt = p.value("num_images_per_prompt", 1);
  req.eta = p.value("eta", 0.0);
  req.clip_skip = p.value("clip_skip", 0);
  const nlohmann::json& gen = p.at("generator");
  const std::string type = gen.at("type").get<std::string>();
  SDFAST_CHECK(type == "numpy_pcg64" || type == "torch_cpu", "generator type '", type, "' is not supported");
  req.generator = type == "numpy_pcg64" ? GeneratorKind::Numpy : GeneratorKind::Torch;
  req.seeds = gen.at("seeds").get<std::vector<uint64_t>>();

  // The engine draws the initial latents from the seeds itself; they must equal the case's input.
  PipelineOutput out = pipe->generate(req);
  if (c.has("initial_latents")) run.check("initial_latents", out.initial_latents, /*exact=*/true);
  run.check("prompt_embeds", out.prompt_embeds);
  if (c.has("negative_prompt_embeds") && out.negative_prompt_embeds.defined())
    run.check("negative_prompt_embeds", out.negative_prompt_embeds);
  run.check("final_latents", out.final_latents);
  run.check("images", out.images);
  run.check("images_uint8", stack_images(out.images_uint8));
}

}  // namespace sdfast::golden
