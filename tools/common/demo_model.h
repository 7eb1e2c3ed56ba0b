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

// Whether `model` is one of the bundled demo pipelines (models/demo/shapes-pipeline or its TAESD
// twin shapes-taesd-pipeline), however it is named. They were trained for 25 steps at guidance
// about 5: those are their defaults, not only when --model is left out.
bool is_bundled_demo(const std::string& model);

constexpr int kDemoSteps = 25, kDefaultSteps = 50;
constexpr double kDemoGuidance = 5.0, kDefaultGuidance = 7.5;

}  // namespace sdfast
