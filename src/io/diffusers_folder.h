// A Diffusers model folder: which component class is in which subfolder (model_index.json), each
// component's config, and which weight files to read (plain, `fp16`-style variant, or sharded).
//
// References: diffusers pipelines/pipeline_utils.py (DiffusionPipeline.from_pretrained reads
// model_index.json), pipelines/pipeline_loading_utils.py (variant selection, ignored components),
// utils/hub_utils.py (_add_variant, _get_model_file), models/model_loading_utils.py (shard index).
//
// What is refused, with an Error naming the file and the component:
//   - a pipeline class other than StableDiffusion{,Img2Img,Inpaint}Pipeline (SD 1.x/2.x), e.g. SDXL;
//   - a component whose class sdfast cannot build, or an unknown component (e.g. text_encoder_2);
//   - component names that are not plain folder names ([A-Za-z0-9_-]+: no "..", "/", absolute);
//   - PyTorch pickle weights (.bin/.ckpt/.pt/.pth), in a folder or given directly: they can run
//     arbitrary code when loaded;
//   - a missing config.json / scheduler_config.json, missing weights (unless
//     FolderOptions::require_weights is false), a shard index naming missing or outside files.
// Symbolic links are followed (the Hugging Face cache is made of them); names are checked, not
// link targets.
//
// Example:
//   FolderOptions options;
//   options.variant = "fp16";                        // per component, falls back to plain files
//   DiffusersFolder folder = DiffusersFolder::open("models/sd15", options);
//   for (const std::string& s : folder.ignored()) log("ignoring ", s);  // "safety_checker (...)"
//   check_fits_in_memory(folder.estimate_weight_bytes(DType::BF16), read_memory_availability(),
//                        "the model's weights in BF16");
//   const Component& unet = folder.component("unet");
//   log("unet weights: ", unet.weights.describe());  // which file was chosen, and why
//   std::unique_ptr<SafetensorsWeights> w = unet.open_weights();
//   // build the UNet from unet.config and Weights(*w, compute dtype) ...
//
//   // A component folder on its own, e.g. TAESD's vae/ used with another model:
//   FolderInfo info = inspect_model_path("models/taesd");  // Component, "AutoencoderTiny", "vae"
//   Component vae = open_component_folder("models/taesd", options);
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dtype.h"
#include "io/json.h"
#include "io/shard_index.h"
#include "io/weights.h"

namespace sdfast {

struct FolderOptions {
  // Weight variant to prefer, e.g. "fp16" for `*.fp16.safetensors`; "" for the plain files.
  // Chosen per component: one without the variant uses its plain files (WeightFiles says so).
  std::string variant;
  // When false, components without weight files are accepted (config-only folders used with
  // RandomWeights for benchmarks); tokenizer vocab.json/merges.txt are then not required either.
  bool require_weights = true;
};

// The weight files chosen for one component.
struct WeightFiles {
  std::vector<std::string> files;  // one safetensors file, or the shards (sorted); empty: none
  ShardIndex shard_index;          // when sharded: the index (its path is non-empty)
  std::string requested_variant;   // FolderOptions::variant
  bool variant_used = false;       // the files are the requested variant's

  bool empty() const { return files.empty(); }
  bool sharded() const { return !shard_index.path.empty(); }
  // For logs: "'unet/diffusion_pytorch_model.safetensors' (no fp16 variant, using the plain file)".
  std::string describe() const;
};

struct Component {
  std::string name;         // role in the pipeline: unet, vae, text_encoder, tokenizer, scheduler
  std::string library;      // "diffusers" or "transformers"
  std::string class_name;   // e.g. "AutoencoderTiny"
  std::string dir;          // the component's folder
  std::string config_path;  // config.json / scheduler_config.json / tokenizer_config.json, or ""
  Config config;            // parsed config_path (an empty object when config_path is "")
  WeightFiles weights;      // empty for tokenizer and scheduler, and for config-only folders

  bool has_weights() const { return !weights.empty(); }
  // The component's weights, strictly checked. Throws Error naming the folder when it has none.
  std::unique_ptr<SafetensorsWeights> open_weights() const;
  // Bytes the weights take once converted to `compute` (floats) or kept (integers); 0 if none.
  uint64_t estimate_weight_bytes(DType compute) const;
};

class DiffusersFolder {
 public:
  // Reads `path`/model_index.json and every component's config, and picks the weight files.
  static DiffusersFolder open(const std::string& path, const FolderOptions& options = {});

  const std::string& path() const { return path_; }
  const std::string& pipeline_class() const { return pipeline_class_; }
  bool has(const std::string& name) const;
  // Throws Error naming model_index.json when `name` is not a component of this pipeline.
  const Component& component(const std::string& name) const;
  const std::vector<Component>& components() const { return components_; }  // sorted by name
  // Components present in model_index.json that sdfast does not use, for the pipeline to log:
  // "safety_checker (StableDiffusionSafetyChecker)".
  const std::vector<std::string>& ignored() const { return ignored_; }
  // Sum of Component::estimate_weight_bytes over the components.
  uint64_t estimate_weight_bytes(DType compute) const;

 private:
  std::string path_, pipeline_class_;
  std::vector<Component> components_;
  std::vector<std::string> ignored_;
};

enum class FolderKind { Pipeline, Component };

struct FolderInfo {
  FolderKind kind = FolderKind::Pipeline;
  std::string path;
  std::string config_path;  // model_index.json, or the component's config file
  std::string class_name;   // pipeline class, or component class ("" when the config names none)
  std::string role;         // for a component of a known class: "vae", "unet", ...; else ""
};

// Says what `path` is: a pipeline folder (has model_index.json) or a component folder (has
// config.json, scheduler_config.json or tokenizer_config.json) and its class (`_class_name`,
// transformers' `architectures[0]`, or `tokenizer_class`). Throws Error for a missing path, a
// pickle checkpoint (with the explanation), a single .safetensors file, or a folder with none of
// those files.
FolderInfo inspect_model_path(const std::string& path);

// Opens a component folder on its own (e.g. a `vae/` from another model). Its class must be one
// sdfast supports; the role is taken from the class.
Component open_component_folder(const std::string& dir, const FolderOptions& options = {});

// Weight files of the component in `dir` whose files are called `base` ("diffusion_pytorch_model"
// for diffusers classes, "model" for transformers ones). Order: `base.<variant>.safetensors`,
// a variant shard index (`base.safetensors.index.<variant>.json` as diffusers/transformers write
// it, or `base.<variant>.safetensors.index.json` / legacy `base.safetensors.<variant>.index.json`),
// then `base.safetensors`, `base.safetensors.index.json`. Returns empty WeightFiles when there
// are none; throws Error when the folder holds only pickle weights.
WeightFiles find_weight_files(const std::string& dir, const std::string& base,
                              const std::string& variant);

// --- model_index.json interpretation, without touching the disk (used by open() and the fuzzer).
struct ModelIndexEntry {
  std::string name, library, class_name;
};
struct ModelIndex {
  std::string pipeline_class;
  std::vector<ModelIndexEntry>
      components;  // the used ones: unet, vae, text_encoder, tokenizer, scheduler
  std::vector<ModelIndexEntry>
      ignored;  // non-null safety_checker, feature_extractor, image_encoder
};
// Throws Error prefixed by `label` for anything this loader does not support (see the top).
ModelIndex parse_model_index(const nlohmann::json& j, const std::string& label);

// Component classes sdfast can build for `role` ("unet", "vae", ...); empty for other roles.
const std::vector<std::string>& supported_classes(const std::string& role);
// The role of a supported component class ("AutoencoderTiny" -> "vae"), or "".
std::string role_of_class(const std::string& class_name);
// The class a component config names: `_class_name`, else `architectures[0]`, else
// `tokenizer_class`, else "CLIPTextModel" for `model_type` "clip_text_model"; "" when none.
std::string class_of_config(const Config& config);

}  // namespace sdfast
