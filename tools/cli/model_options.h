// The model-loading flags `generate`, `img2img`, `inpaint` and `serve` share, as the library's
// typed PipelineOptions.
#pragma once

#include <string>

#include "sdfast/pipeline.h"

namespace sdfast::cli {

struct ModelFlags {
  std::string dtype = "auto";  // --dtype
  std::string vae_dtype;       // --vae-dtype ("": as --dtype)
  std::string variant;         // --variant
  std::string attention = "flash";  // --attention
  int threads = 0;             // --threads
};

// Parses the flags (InvalidArgument naming the flag for a bad name); the limits are checked by
// PipelineOptions::validate (the commands call it, and so does Pipeline::from_pretrained).
PipelineOptions pipeline_options(const ModelFlags& f);

}  // namespace sdfast::cli
