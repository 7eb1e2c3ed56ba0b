// Golden kinds `taesd_decode` and `taesd_encode`: AutoencoderTiny.
#include "golden/kinds.h"
#include "models/autoencoder_tiny.h"

namespace sdfast::golden {

void run_taesd_decode(CaseRun& run) {
  Runtime& rt = run.runtime();
  const models::AutoencoderTiny vae = models::AutoencoderTiny::from_pretrained(
      rt, run.golden().model_path(), {}, {.encoder = false, .decoder = true});
  run.check("image", vae.decode(rt, run.golden().tensor("latents")));
}

void run_taesd_encode(CaseRun& run) {
  Runtime& rt = run.runtime();
  const models::AutoencoderTiny vae = models::AutoencoderTiny::from_pretrained(
      rt, run.golden().model_path(), {}, {.encoder = true, .decoder = false});
  run.check("latents", vae.encode(rt, run.golden().tensor("image")));
}

}  // namespace sdfast::golden
