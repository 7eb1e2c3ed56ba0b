#include "model_options.h"

namespace sdfast::cli {

PipelineOptions pipeline_options(const ModelFlags& f) {
  PipelineOptions opt;
  opt.dtype = parse_precision(f.dtype, "--dtype");
  if (!f.vae_dtype.empty()) opt.vae_dtype = parse_precision(f.vae_dtype, "--vae-dtype");
  opt.variant = f.variant;
  opt.threads = f.threads;
  opt.attention = parse_attention(f.attention, "--attention");
  return opt;
}

}  // namespace sdfast::cli
