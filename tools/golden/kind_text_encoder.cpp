// Golden kind `text_encoder`: CLIPTextModel on the case's input_ids.
#include "golden/kinds.h"
#include "models/component_loader.h"

namespace sdfast::golden {

void run_text_encoder(CaseRun& run) {
  Runtime& rt = run.runtime();
  const auto loaded = models::load_text_encoder(rt, model_component(run.golden(), "CLIPTextModel"), {});
  const models::CLIPTextModel& model = loaded.model;
  const Tensor ids = run.golden().tensor("input_ids", run.golden().stored_dtype("input_ids"));
  const models::CLIPTextModelOutput out = model.forward(rt, ids);
  for (size_t i = 0; i < out.hidden_states.size(); ++i) {
    const std::string name = "hidden_states." + std::to_string(i);
    if (run.golden().has(name)) run.check(name, out.hidden_states[i]);
  }
  run.check("last_hidden_state", out.last_hidden_state);
  run.check("pooled_output", out.pooled_output);
  // Diffusers' clip_skip=1: final_layer_norm(hidden_states[-2]).
  if (run.golden().has("penultimate_normed"))
    run.check("penultimate_normed", model.encode(rt, ids, /*clip_skip=*/1));
}

}  // namespace sdfast::golden
