// `sdfast serve`: one image job on the loaded Pipeline.
#include "pipeline_runner.h"

#include <random>
#include <sstream>

#include "image_encoding.h"

namespace sdfast::server {

PipelineRunner::PipelineRunner(std::unique_ptr<Pipeline> pipeline, RequestDefaults defaults,
                               std::string default_scheduler)
    : pipeline_(std::move(pipeline)),
      defaults_(defaults),
      // info().scheduler_class follows set_scheduler: the model's own is read before any switch
      default_scheduler_(default_scheduler.empty() ? pipeline_->info().scheduler_class : std::move(default_scheduler)) {
  pipeline_->set_scheduler(default_scheduler_);  // checks the name once, before any request
}

GenerateRequest PipelineRunner::make_request(const ImageSpec& spec) const {
  GenerateRequest req;
  req.prompts = {spec.prompt};
  if (!spec.negative_prompt.empty()) req.negative_prompts = {spec.negative_prompt};
  req.num_inference_steps = spec.steps > 0 ? spec.steps : defaults_.steps;
  req.guidance_scale = spec.guidance.value_or(defaults_.guidance);
  req.width = spec.width > 0 ? spec.width : defaults_.width;
  req.height = spec.height > 0 ? spec.height : defaults_.height;
  req.num_images_per_prompt = spec.images;
  // No seed: a random one, reported back (image i gets seed + i, as `sdfast generate --seed`).
  req.seeds = {spec.seed ? *spec.seed : std::random_device{}() >> 1};
  req.eta = spec.eta;
  req.scheduler = spec.scheduler.empty() ? default_scheduler_ : spec.scheduler;  // this run's own
  return req;
}

namespace {

std::string parameters_text(const ImageSpec& spec, const GenerateRequest& req, const GenerateResult& r,
                            const PipelineInfo& info, size_t image) {
  std::ostringstream os;
  os << spec.prompt << "\n";
  if (!spec.negative_prompt.empty()) os << "Negative prompt: " << spec.negative_prompt << "\n";
  os << "Steps: " << req.num_inference_steps << ", Sampler: " << r.scheduler << ", CFG scale: " << req.guidance_scale
     << ", Seed: " << r.seeds[image] << ", Size: " << r.images[image].width << "x" << r.images[image].height
     << ", Model: " << info.name << ", Dtype: " << info.dtype << ", Generator: " << to_string(req.generator)
     << ", Software: sdfast serve";
  return os.str();
}

}  // namespace

JobOutput PipelineRunner::run(const ImageSpec& spec, const std::function<bool(int, int)>& on_step) {
  GenerateRequest req = make_request(spec);
  req.callback = [&on_step](const StepInfo& s) { return on_step(s.step, s.total_steps); };
  // Workers run this at the same time on the one Pipeline: generate() is const and thread-safe,
  // each run with its own Runtime and scheduler.
  const GenerateResult result = pipeline_->generate(req);
  JobOutput out;
  out.seeds = result.seeds;
  out.steps = req.num_inference_steps;
  out.guidance = req.guidance_scale;
  out.scheduler = result.scheduler;
  out.warnings = result.warnings;
  out.generate_s = result.timings.total_s;
  for (size_t i = 0; i < result.images.size(); ++i) {
    out.width = result.images[i].width;
    out.height = result.images[i].height;
    out.images.push_back(encode_image(result.images[i], spec.output_format, spec.quality,
                                      {{"parameters", parameters_text(spec, req, result, info(), i)}}));
  }
  return out;
}

}  // namespace sdfast::server
