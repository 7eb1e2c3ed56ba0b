// Golden kind "deepcache": the pipeline with DeepCache (horseee/DeepCache's DeepCacheSDHelper,
// uniform mode; models/unet_deep_cache.h) against the reference helper on Diffusers in float64,
// and the same run with caching off (*_nocache outputs).
#include <sstream>

#include "golden/kinds.h"
#include "golden/pipeline_case.h"

namespace sdfast::golden {

namespace {

std::string list_text(const std::vector<int>& v) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << "]";
  return os.str();
}

}  // namespace

void run_deepcache(CaseRun& run) {
  const GoldenCase& c = run.golden();
  const nlohmann::json& p = c.params();
  const std::string mode = p.value("skip_mode", std::string("uniform"));
  if (mode != "uniform") {
    run.fail_check("skip_mode '" + mode + "': only the reference's uniform mode is implemented");
    return;
  }
  auto pipe = load_case_pipeline(run);
  GenerateRequest req = case_request(c);

  // Caching off: the plain pipeline.
  const PipelineOutput plain = pipe->generate(req);
  if (c.has("final_latents_nocache")) run.check("final_latents_nocache", plain.final_latents);
  if (c.has("images_uint8_nocache"))
    run.check("images_uint8_nocache", stack_images(plain.images_uint8));

  req.deepcache_interval = p.at("cache_interval").get<int>();
  req.deepcache_branch_id = p.at("cache_branch_id").get<int>();
  const PipelineOutput out = pipe->generate(req);
  if (c.has("initial_latents")) run.check("initial_latents", out.initial_latents, /*exact=*/true);
  if (p.contains("full_unet_calls")) {
    const std::vector<int> want = p["full_unet_calls"].get<std::vector<int>>();
    // An interval of 1 is "off" for the engine: every call is full.
    std::vector<int> got = out.timings.deepcache_full_calls;
    if (req.deepcache_interval <= 1)
      for (size_t i = 0; i < out.timings.unet_steps_s.size(); ++i) got.push_back(int(i));
    if (got != want)
      run.fail_check("full_unet_calls: want " + list_text(want) + ", got " + list_text(got));
  }
  for (const auto& [name, embeds] : {std::pair{"prompt_embeds", &out.prompt_embeds},
                                     {"negative_prompt_embeds", &out.negative_prompt_embeds}})
    if (c.has(name) && embeds->defined())
      run.check(name, embeds_like_case(c, name, *embeds, req.num_images_per_prompt));
  run.check("final_latents", out.final_latents);
  run.check("images", out.images);
  run.check("images_uint8", stack_images(out.images_uint8));
}

}  // namespace sdfast::golden
