// Golden kinds `taesd_decode` and `taesd_encode`: AutoencoderTiny.
#include "golden/kinds.h"
#include "models/autoencoder_tiny.h"
#include "models/component_loader.h"

namespace sdfast::golden {

void run_taesd_decode(CaseRun& run) {
  Runtime& rt = run.runtime();
  const auto vae = models::load_vae(rt, model_component(run.golden(), "AutoencoderTiny"), {},
                                    {.encoder = false, .decoder = true});
  run.check("image", vae.model->decode(rt, run.golden().tensor("latents")));
}

void run_taesd_encode(CaseRun& run) {
  Runtime& rt = run.runtime();
  const auto loaded = models::load_vae(rt, model_component(run.golden(), "AutoencoderTiny"), {},
                                       {.encoder = true, .decoder = false});
  const auto& vae = static_cast<const models::AutoencoderTiny&>(*loaded.model);  // class checked
  run.check("latents", vae.encode(rt, run.golden().tensor("image")));
}

}  // namespace sdfast::golden
