// The one way a model is built from a Diffusers component: a folder of a pipeline
// (DiffusersFolder::component) or a component folder on its own (open_component_folder), both from
// io/diffusers_folder.h, whose registry (supported_classes, role_of_class) says which classes
// sdfast builds. The pipeline, the golden model cases and the benchmark all load through here; the
// component's class picks the model, and an unsupported one is an Error listing the supported ones.
#pragma once

#include <cstdint>
#include <memory>

#include "core/runtime.h"
#include "io/diffusers_folder.h"
#include "io/weights.h"
#include "models/autoencoder_kl.h"
#include "models/clip_text_model.h"
#include "models/unet_2d_condition_model.h"
#include "models/vae_interface.h"

namespace sdfast::models {

// Where a component's weights come from.
struct WeightsFrom {
  // Seeded random weights (config-only folders, benchmarks) instead of the component's files.
  bool random = false;
  uint64_t seed = 0;
  // With random weights: the bytes they may still take, shared by the components (may be null).
  uint64_t* budget = nullptr;
};

// The component's weights: its files (strictly checked), or random ones derived from `seed` and
// `salt` (one salt per component, so that they differ). Throws Error naming the folder when it has
// no weights and random ones were not asked for.
std::unique_ptr<WeightSource> open_component_weights(const Component& c, const WeightsFrom& from,
                                                     uint64_t salt);

// A model and the number of parameters its weights gave it.
template <class M>
struct Loaded {
  M model;
  int64_t parameters = 0;
};

// UNet2DConditionModel; every tensor of the weights must be used.
Loaded<UNet2DConditionModel> load_unet(Runtime& rt, const Component& c, const WeightsFrom& from,
                                       uint64_t salt = 2);
// AutoencoderKL or AutoencoderTiny, with the parts asked for.
Loaded<std::unique_ptr<Vae>> load_vae(Runtime& rt, const Component& c, const WeightsFrom& from,
                                      AutoencoderParts parts, uint64_t salt = 3);
// CLIPTextModel.
Loaded<CLIPTextModel> load_text_encoder(Runtime& rt, const Component& c, const WeightsFrom& from,
                                        uint64_t salt = 1);

}  // namespace sdfast::models
