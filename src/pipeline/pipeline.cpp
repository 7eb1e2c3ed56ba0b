// The public Pipeline API over StableDiffusionPipeline.
#include "pipeline/stable_diffusion_pipeline.h"
#include "sdfast/pipeline.h"

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
void Pipeline::set_vae(const std::string& path) { impl_->pipe->set_vae(path); }
const PipelineInfo& Pipeline::info() const { return impl_->pipe->info(); }
std::vector<std::string> Pipeline::scheduler_names() { return sdfast::scheduler_names(); }

GenerateResult Pipeline::generate(const GenerateRequest& request) const {
  PipelineOutput out = impl_->pipe->generate(request);
  GenerateResult r;
  r.images = std::move(out.images_uint8);
  r.seeds = std::move(out.seeds);
  r.scheduler = std::move(out.scheduler);
  r.timings = out.timings;
  r.warnings = std::move(out.warnings);
  if (request.return_latents) {
    r.latents = out.final_latents.to_vector();
    r.latents_shape = out.final_latents.shape();
  }
  return r;
}

}  // namespace sdfast
