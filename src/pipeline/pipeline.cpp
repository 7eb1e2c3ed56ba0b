// The public Pipeline API over StableDiffusionPipeline.
#include "io/json.h"
#include "pipeline/stable_diffusion_pipeline.h"
#include "sdfast/pipeline.h"

#include "core/error.h"

namespace sdfast {

struct Pipeline::Impl {
  std::unique_ptr<StableDiffusionPipeline> pipe;
};

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pipeline::~Pipeline() = default;

std::unique_ptr<Pipeline> Pipeline::from_pretrained(const std::string& path, const PipelineOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->pipe = StableDiffusionPipeline::load(path, options);
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(impl)));
}

void Pipeline::set_scheduler(const std::string& name) { impl_->pipe->set_scheduler(name); }
void Pipeline::set_scheduler(const std::string& name, const std::string& config_json) {
  // The config is the caller's argument: what is wrong with it is an InvalidArgument.
  const std::string label = "scheduler config given for " + name;
  try {
    impl_->pipe->set_scheduler(name, Config(parse_json(config_json, label), label));
  } catch (const InvalidArgument&) {
    throw;
  } catch (const Error& e) {
    throw InvalidArgument(e.what());
  }
}
void Pipeline::set_vae(const std::string& path) { impl_->pipe->set_vae(path); }
const PipelineInfo& Pipeline::info() const { return impl_->pipe->info(); }
std::vector<std::string> Pipeline::scheduler_names() { return sdfast::scheduler_names(); }

LoraInfo Pipeline::load_lora(const std::string& path, double scale, bool merge) {
  const lora::LoraMatch m =
      impl_->pipe->load_lora(path, float(scale), merge ? lora::LoraMode::Merged : lora::LoraMode::Unmerged);
  LoraInfo info;
  info.path = path;
  info.modules = m.modules;
  info.unet_layers = m.unet_layers;
  info.text_encoder_layers = m.text_encoder_layers;
  info.unmatched = m.unmatched;
  info.summary = m.describe(path);
  return info;
}

void Pipeline::set_lora_scale(size_t index, double scale) { impl_->pipe->set_lora_scale(index, float(scale)); }
void Pipeline::unload_loras() { impl_->pipe->unload_loras(); }

GenerateResult Pipeline::generate(const GenerateRequest& request) const {
  PipelineOutput out = impl_->pipe->generate(request);
  GenerateResult r;
  r.images = std::move(out.images_uint8);
  r.seeds = std::move(out.seeds);
  r.scheduler = std::move(out.scheduler);
  r.timings = out.timings;
  r.warnings = std::move(out.warnings);
  r.generator_states = std::move(out.generator_states);
  if (request.return_float_images) r.float_images = out.images.to_vector();
  if (request.return_latents) {
    r.latents = out.final_latents.to_vector();
    r.latents_shape = out.final_latents.shape();
  }
  return r;
}

GenerateResult Pipeline::img2img(const GenerateRequest& request) const {
  if (!request.image) fail_argument("img2img: no init image (request.image) given");
  if (request.mask_image) fail_argument("img2img: a mask_image is given; use inpaint()");
  return generate(request);
}

GenerateResult Pipeline::inpaint(const GenerateRequest& request) const {
  if (!request.image) fail_argument("inpaint: no init image (request.image) given");
  if (!request.mask_image) fail_argument("inpaint: no mask (request.mask_image) given");
  return generate(request);
}

}  // namespace sdfast
