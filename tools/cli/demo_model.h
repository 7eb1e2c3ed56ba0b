// The bundled demo pipelines and their defaults, shared by `generate` and `serve`.
#pragma once

#include <string>

namespace sdfast::cli {

// The bundled demo pipelines (models/demo/shapes-pipeline and its TAESD twin
// shapes-taesd-pipeline) were trained for 25 steps at guidance about 5: those are their defaults
// however they are named, not only when --model is left out.
bool is_bundled_demo(const std::string& model);

constexpr int kDemoSteps = 25, kDefaultSteps = 50;
constexpr double kDemoGuidance = 5.0, kDefaultGuidance = 7.5;

}  // namespace sdfast::cli
