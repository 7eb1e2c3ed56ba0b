// Golden kind "unet": UNet2DConditionModel(sample, timestep.i, encoder_hidden_states
// [, timestep_cond(.i)]) -> out.i.
#include <string>
#include <vector>

#include "core/error.h"
#include "golden/kinds.h"
#include "models/component_loader.h"

namespace sdfast::golden {

void run_unet(CaseRun& run) {
  const GoldenCase& c = run.golden();
  Runtime& rt = run.runtime();
  const auto loaded = models::load_unet(rt, model_component(c, "UNet2DConditionModel"), {});
  const models::UNet2DConditionModel& unet = loaded.model;
  const Tensor sample = c.tensor("sample");
  const Tensor context = c.tensor("encoder_hidden_states");
  int checked = 0;
  for (int i = 0; c.has("out." + std::to_string(i)); ++i) {
    const std::string t_name = "timestep." + std::to_string(i);
    SDFAST_CHECK(c.has(t_name), "case '", c.name(), "' has out.", i, " but no ", t_name);
    const std::vector<float> t = c.tensor(t_name).to_vector();
    const std::vector<double> timesteps(t.begin(), t.end());
    // LCM-style models (time_cond_proj_dim) also take a guidance embedding.
    const std::string cond_name = "timestep_cond." + std::to_string(i);
    const Tensor cond = c.has(cond_name)         ? c.tensor(cond_name)
                        : c.has("timestep_cond") ? c.tensor("timestep_cond")
                                                 : Tensor();
    run.check("out." + std::to_string(i),
              unet.forward(rt, sample, timesteps, context, cond.defined() ? &cond : nullptr));
    ++checked;
  }
  SDFAST_CHECK(checked > 0, "case '", c.name(), "' has no output out.0");
}

}  // namespace sdfast::golden
