// Golden kind "lora": a LoRA file on the UNet and the text encoder at params.lora_scale, as
// Diffusers' load_lora_weights + cross_attention_kwargs={"scale": s} (the unmerged path here) and
// after fuse_lora(lora_scale=s) (the merged path: *_fused outputs). Both paths are checked.
#include <filesystem>

#include "core/error.h"
#include "golden/kinds.h"
#include "golden/pipeline_case.h"
#include "lora/lora_stack.h"
#include "models/unet_2d_condition_model.h"

namespace sdfast::golden {

namespace {

// Embeddings [prompts, L, D] repeated per image ([prompts * n, L, D]), as Diffusers' encode_prompt
// returns them (the lora cases record them after the repeat).
Tensor per_image(const Tensor& t, int64_t n) {
  const int64_t rows = t.dim(0), row = t.numel() / rows;
  Shape shape = t.shape();
  shape[0] = rows * n;
  Tensor out = Tensor::empty(shape, DType::F32);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < n; ++k)
      std::copy(t.data<float>() + r * row, t.data<float>() + (r + 1) * row, out.data<float>() + (r * n + k) * row);
  return out;
}

}  // namespace

void run_lora(CaseRun& run) {
  const GoldenCase& c = run.golden();
  const nlohmann::json& p = c.params();
  const std::string file = (std::filesystem::path(c.dir()) / p.at("lora_file").get<std::string>()).string();
  const float scale = p.at("lora_scale").get<float>();
  const lora::LoraFile lora_file = lora::LoraFile::read(file);
  if (p.contains("lora_format") && p["lora_format"].get<std::string>() != lora::format_name(lora_file.format))
    run.fail_check(str_cat("lora_format: the case says ", p["lora_format"].get<std::string>(), ", detected ",
                           lora::format_name(lora_file.format)));

  // The UNet alone on the case's input, unmerged then merged.
  Runtime& rt = run.runtime();
  models::UNet2DConditionModel unet =
      models::UNet2DConditionModel::from_pretrained(rt, (std::filesystem::path(c.model_path()) / "unet").string());
  lora::LoraTargets targets;
  unet.collect_layers(targets.unet);
  const Tensor sample = c.tensor("sample"), context = c.tensor("encoder_hidden_states");
  const double t = c.tensor("timestep").to_vector().at(0);
  for (lora::LoraMode mode : {lora::LoraMode::Unmerged, lora::LoraMode::Merged}) {
    lora::LoraStack stack;
    stack.add(rt, lora_file, scale, mode, targets);
    run.check(mode == lora::LoraMode::Merged ? "unet_out_fused" : "unet_out", unet.forward(rt, sample, t, context));
    stack.clear(rt);
  }

  // The pipeline, unmerged then merged.
  auto pipe = load_case_pipeline(run);
  const GenerateRequest req = case_request(c);
  for (lora::LoraMode mode : {lora::LoraMode::Unmerged, lora::LoraMode::Merged}) {
    const std::string suffix = mode == lora::LoraMode::Merged ? "_fused" : "";
    pipe->load_lora(file, scale, mode);
    PipelineOutput out = pipe->generate(req);
    pipe->unload_loras();
    if (c.has("initial_latents")) run.check("initial_latents", out.initial_latents, /*exact=*/true);
    run.check("prompt_embeds" + suffix, per_image(out.prompt_embeds, req.num_images_per_prompt));
    if (c.has("negative_prompt_embeds" + suffix) && out.negative_prompt_embeds.defined())
      run.check("negative_prompt_embeds" + suffix, per_image(out.negative_prompt_embeds, req.num_images_per_prompt));
    run.check("final_latents" + suffix, out.final_latents);
    if (c.has("images" + suffix)) run.check("images" + suffix, out.images);
    run.check("images_uint8" + suffix, stack_images(out.images_uint8));
  }
}

}  // namespace sdfast::golden
