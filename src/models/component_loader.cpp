#include "models/component_loader.h"

#include "core/error.h"
#include "models/autoencoder_tiny.h"

namespace sdfast::models {

namespace {

// Fails unless `c` holds one of the classes sdfast builds for `role`, naming them.
void check_class(const Component& c, const std::string& role) {
  const std::vector<std::string>& classes = supported_classes(role);
  for (const std::string& k : classes)
    if (k == c.class_name) return;
  std::string list;
  for (const std::string& k : classes) list += (list.empty() ? "" : ", ") + k;
  fail("'", c.config_path.empty() ? c.dir : c.config_path, "': ", role, " class '", c.class_name,
       "' is not supported (supported: ", list, ")");
}

}  // namespace

std::unique_ptr<WeightSource> open_component_weights(const Component& c, const WeightsFrom& from,
                                                     uint64_t salt) {
  if (c.has_weights() && !from.random) return c.open_weights();
  if (!from.random)
    fail("'", c.dir, "' has no weights (diffusion_pytorch_model.safetensors / model.safetensors); "
         "use random weights (--random-weights) for config-only folders");
  return std::make_unique<RandomWeights>(from.seed * 1000003ull + salt, from.budget,
                                         "'" + (c.config_path.empty() ? c.dir : c.config_path) + "'");
}

Loaded<UNet2DConditionModel> load_unet(Runtime& rt, const Component& c, const WeightsFrom& from,
                                       uint64_t salt) {
  check_class(c, "unet");
  auto w = open_component_weights(c, from, salt);
  UNet2DConditionModel unet(rt, UNet2DConditionModelConfig::from_json(c.config), *w);
  w->check_all_used();
  return {std::move(unet), w->parameters_loaded()};
}

Loaded<std::unique_ptr<Vae>> load_vae(Runtime& rt, const Component& c, const WeightsFrom& from,
                                      AutoencoderParts parts, uint64_t salt) {
  check_class(c, "vae");
  auto w = open_component_weights(c, from, salt);
  std::unique_ptr<Vae> vae;
  if (c.class_name == "AutoencoderKL")
    vae = std::make_unique<AutoencoderKL>(rt, *w, AutoencoderKLConfig::from_config(c.config), parts);
  else
    vae = std::make_unique<AutoencoderTiny>(rt, *w, AutoencoderTinyConfig::from_config(c.config), parts);
  return {std::move(vae), w->parameters_loaded()};
}

Loaded<CLIPTextModel> load_text_encoder(Runtime& rt, const Component& c, const WeightsFrom& from,
                                        uint64_t salt) {
  check_class(c, "text_encoder");
  auto w = open_component_weights(c, from, salt);
  CLIPTextModel model(rt, *w, CLIPTextConfig::from_config(c.config));
  return {std::move(model), w->parameters_loaded()};
}

}  // namespace sdfast::models
