// Where the bundled demo model is, for the command-line tools, the tests and the examples (the
// engine library knows no source-tree path: callers pass folders to it).
#pragma once

#include <string>

namespace sdfast {

// The bundled demo model (models/demo/shapes-pipeline in the source tree): $SDFAST_DEMO_MODEL if
// set, else found next to the executable or in the source tree it was built from. Throws Error
// when it cannot be found.
std::string bundled_demo_model();

// Its CLIP tokenizer folder: what PipelineOptions::fallback_tokenizer is set to by the tools, for
// config-only model folders (random weights) that have no vocabulary of their own.
std::string bundled_tokenizer();

}  // namespace sdfast
