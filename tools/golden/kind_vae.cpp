// Golden kinds `vae_decode` and `vae_encode`: AutoencoderKL.
#include "golden/kinds.h"
#include "models/component_loader.h"

namespace sdfast::golden {

void run_vae_decode(CaseRun& run) {
  Runtime& rt = run.runtime();
  const auto vae = models::load_vae(rt, model_component(run.golden(), "AutoencoderKL"), {},
                                    {.encoder = false, .decoder = true});
  run.check("image", vae.model->decode(rt, run.golden().tensor("latents")));
}

void run_vae_encode(CaseRun& run) {
  Runtime& rt = run.runtime();
  const auto loaded = models::load_vae(rt, model_component(run.golden(), "AutoencoderKL"), {},
                                       {.encoder = true, .decoder = false});
  const auto& vae = static_cast<const models::AutoencoderKL&>(*loaded.model);  // class checked
  const models::DiagonalGaussianDistribution dist = vae.encode(rt, run.golden().tensor("image"));
  run.check("mean", dist.mean);
  run.check("logvar", dist.logvar);
}

}  // namespace sdfast::golden
