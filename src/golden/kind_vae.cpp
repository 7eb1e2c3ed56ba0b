// Golden kinds `vae_decode` and `vae_encode`: AutoencoderKL.
#include "golden/kinds.h"
#include "models/autoencoder_kl.h"

namespace sdfast::golden {

void run_vae_decode(CaseRun& run) {
  Runtime& rt = run.runtime();
  const models::AutoencoderKL vae = models::AutoencoderKL::from_pretrained(
      rt, run.golden().model_path(), {}, {.encoder = false, .decoder = true});
  run.check("image", vae.decode(rt, run.golden().tensor("latents")));
}

void run_vae_encode(CaseRun& run) {
  Runtime& rt = run.runtime();
  const models::AutoencoderKL vae = models::AutoencoderKL::from_pretrained(
      rt, run.golden().model_path(), {}, {.encoder = true, .decoder = false});
  const models::DiagonalGaussianDistribution dist = vae.encode(rt, run.golden().tensor("image"));
  run.check("mean", dist.mean);
  run.check("logvar", dist.logvar);
}

}  // namespace sdfast::golden
