#include "golden/pipeline_case.h"

#include <optional>

#include "core/error.h"

namespace sdfast::golden {

Tensor stack_images(const std::vector<Image>& images) {
  const int64_t n = int64_t(images.size()), h = images[0].height, w = images[0].width;
  Tensor t = Tensor::empty({n, h, w, 3}, DType::U8);
  uint8_t* p = t.data<uint8_t>();
  for (const Image& im : images) p = std::copy(im.rgb.begin(), im.rgb.end(), p);
  return t;
}

std::unique_ptr<StableDiffusionPipeline> load_case_pipeline(CaseRun& run) {
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
  return pipe;
}

GenerateRequest case_request(const GoldenCase& c) {
  const nlohmann::json& p = c.params();
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
  req.strength = p.value("strength", req.strength);
  const nlohmann::json& gen = p.at("generator");
  const std::string type = gen.at("type").get<std::string>();
  SDFAST_CHECK(type == "numpy_pcg64" || type == "torch_cpu", "generator type '", type, "' is not supported");
  req.generator = type == "numpy_pcg64" ? GeneratorKind::Numpy : GeneratorKind::Torch;
  req.seeds = gen.at("seeds").get<std::vector<uint64_t>>();
  return req;
}

Image case_image(const GoldenCase& c, const std::string& name) {
  const Tensor t = c.tensor(name, DType::U8);
  SDFAST_CHECK(t.ndim() == 4 && t.dim(0) == 1 && (t.dim(3) == 3 || t.dim(3) == 1), c.name(), ": ", name,
               " is ", t.describe(), ", expected [1, H, W, 3 or 1] uint8");
  Image im{int(t.dim(2)), int(t.dim(1)), {}};
  const uint8_t* p = t.data<uint8_t>();
  for (int64_t i = 0; i < t.dim(1) * t.dim(2); ++i)
    for (int c3 = 0; c3 < 3; ++c3) im.rgb.push_back(p[i * t.dim(3) + (t.dim(3) == 3 ? c3 : 0)]);
  return im;
}

Tensor embeds_like_case(const GoldenCase& c, const std::string& name, const Tensor& embeds,
                        int per_prompt) {
  const Tensor want = c.tensor(name);
  if (per_prompt <= 1 || want.ndim() != 3 || want.dim(0) != embeds.dim(0) * per_prompt)
    return embeds;
  const Tensor e = embeds.to(DType::F32);
  const int64_t row = e.numel() / e.dim(0);
  Tensor out = Tensor::empty(want.shape(), DType::F32);
  float* dst = out.data<float>();
  for (int64_t r = 0; r < e.dim(0); ++r)
    for (int k = 0; k < per_prompt; ++k)
      dst = std::copy(e.data<float>() + r * row, e.data<float>() + (r + 1) * row, dst);
  return out;
}

}  // namespace sdfast::golden
