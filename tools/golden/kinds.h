// The golden case kinds the engine implements: one handler per kind, each in its own file.
// A handler runs the case through the engine and reports every output with run.check().
#pragma once

#include "golden/golden_case.h"
#include "io/diffusers_folder.h"

namespace sdfast::golden {

using KindHandler = void (*)(CaseRun& run);

// The case's "model" folder as a Diffusers component (through the production loader's
// open_component_folder), checked to hold `class_name`.
Component model_component(const GoldenCase& c, const std::string& class_name);

void run_text_encoder(CaseRun& run);  // kind_text_encoder.cpp
void run_vae_decode(CaseRun& run);    // kind_vae.cpp
void run_vae_encode(CaseRun& run);    // kind_vae.cpp
void run_taesd_decode(CaseRun& run);  // kind_taesd.cpp
void run_taesd_encode(CaseRun& run);  // kind_taesd.cpp
void run_rng_numpy_pcg64_standard_normal(CaseRun& run);
void run_rng_torch_cpu_randn(CaseRun& run);
void run_tokenizer(CaseRun& run);
void run_scheduler(CaseRun& run);

void run_pipeline(CaseRun& run);  // kind_pipeline.cpp
void run_img2img(CaseRun& run);   // kind_img2img.cpp
void run_inpaint(CaseRun& run);   // kind_inpaint.cpp
void run_lora(CaseRun& run);      // kind_lora.cpp
void run_deepcache(CaseRun& run);  // kind_deepcache.cpp

// The handler for `kind`, or nullptr when the kind is not implemented (reported UNSUPPORTED).
KindHandler find_kind(const std::string& kind);

void run_unet(CaseRun& run);  // kind_unet.cpp

}  // namespace sdfast::golden
