// Reference: diffusers pipelines/pipeline_utils.py (DiffusionPipeline.from_pretrained),
// pipelines/pipeline_loading_utils.py (variant_compatible_siblings, load_sub_model),
// utils/hub_utils.py (_add_variant), models/modeling_utils.py (weight file names).
#include "io/diffusers_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "io/file_names.h"
#include "io/memory_budget.h"

namespace sdfast {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Same components; the pipeline class does not change how they load (an inpainting UNet is told
// apart by its 9 input channels).
constexpr const char* kSupportedPipelines[] = {"StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline",
                                               "StableDiffusionInpaintPipeline"};
constexpr const char* kRequiredRoles[] = {"unet", "vae", "text_encoder", "tokenizer", "scheduler"};
constexpr const char* kIgnoredRoles[] = {"safety_checker", "feature_extractor", "image_encoder"};

struct RoleSpec {
  const char* role;
  const char* library;
  const char* config_file;
  bool config_required;
  const char* weights_base;  // nullptr: no weights
  std::vector<std::string> classes;
};

const std::vector<RoleSpec>& role_specs() {
  static const std::vector<RoleSpec> specs = {
      {"unet",
       "diffusers",
       "config.json",
       true,
       "diffusion_pytorch_model",
       {"UNet2DConditionModel"}},
      {"vae",
       "diffusers",
       "config.json",
       true,
       "diffusion_pytorch_model",
       {"AutoencoderKL", "AutoencoderTiny"}},
      {"text_encoder", "transformers", "config.json", true, "model", {"CLIPTextModel"}},
      {"tokenizer",
       "transformers",
       "tokenizer_config.json",
       false,
       nullptr,
       {"CLIPTokenizer", "CLIPTokenizerFast"}},
      {"scheduler",
       "diffusers",
       "scheduler_config.json",
       true,
       nullptr,
       {"PNDMScheduler", "DDIMScheduler", "EulerDiscreteScheduler",
        "EulerAncestralDiscreteScheduler", "DPMSolverMultistepScheduler", "LMSDiscreteScheduler",
        "HeunDiscreteScheduler", "UniPCMultistepScheduler", "LCMScheduler", "DDPMScheduler"}},
  };
  return specs;
}

const RoleSpec* find_role(const std::string& role) {
  for (const RoleSpec& s : role_specs())
    if (role == s.role) return &s;
  return nullptr;
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// A JSON value or key for messages: quoted, escaped, truncated.
std::string shown(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

bool is_component_name(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string path_join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

// True when `path` is a regular file (following links). Throws for a dangling symbolic link or a
// non-file under a weight/config name, which are errors rather than "absent".
bool file_present(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (fs::is_regular_file(st)) return true;
  if (fs::exists(st)) fail("'", path, "' is not a regular file");
  if (fs::is_symlink(fs::symlink_status(path, ec)))
    fail("'", path, "' is a symbolic link to a missing file (incomplete download?)");
  return false;
}

bool dir_present(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

// Pickle weight files directly in `dir` (names only, sorted, at most 5 for messages).
std::vector<std::string> pickle_files_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (is_pickle_file_name(name) || name.ends_with(".bin.index.json")) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  if (out.size() > 5) {
    out.resize(5);
    out.push_back("...");
  }
  return out;
}

[[noreturn]] void fail_pickle_only(const std::string& dir,
                                   const std::vector<std::string>& pickles) {
  fail("'", dir, "' holds only PyTorch pickle weights (", join(pickles),
       ") and no .safetensors file. ", kPickleRefusal);
}

Config load_config(const std::string& path) { return Config::load(path); }

// "; it has variant weights diffusion_pytorch_model.fp16.safetensors: ask for variant 'fp16'",
// or "" when `dir` holds no `base.<variant>.safetensors` file.
std::string variant_hint(const std::string& dir, const std::string& base) {
  std::vector<std::string> found, variants;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(base + ".") || !name.ends_with(".safetensors")) continue;
    const std::string variant = name.substr(base.size() + 1, name.size() - base.size() - 13);
    const bool plain = !variant.empty() && std::all_of(variant.begin(), variant.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
    if (!plain) continue;  // also skips shards such as "fp16-00001-of-00002"
    found.push_back(name);
    variants.push_back("'" + variant + "'");
  }
  if (found.empty()) return "";
  std::sort(found.begin(), found.end());
  std::sort(variants.begin(), variants.end());
  return "; it has variant weights " + join(found) + ": ask for variant " + join(variants, " or ");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Classes and roles

const std::vector<std::string>& supported_classes(const std::string& role) {
  static const std::vector<std::string> none;
  const RoleSpec* spec = find_role(role);
  return spec ? spec->classes : none;
}

std::string role_of_class(const std::string& class_name) {
  for (const RoleSpec& s : role_specs())
    if (std::find(s.classes.begin(), s.classes.end(), class_name) != s.classes.end()) return s.role;
  return "";
}

std::string class_of_config(const Config& config) {
  const json& j = config.json();
  if (!j.is_object()) return "";
  if (auto it = j.find("_class_name"); it != j.end() && it->is_string())
    return it->get<std::string>();
  if (auto it = j.find("architectures");
      it != j.end() && it->is_array() && !it->empty() && (*it)[0].is_string())
    return (*it)[0].get<std::string>();
  if (auto it = j.find("tokenizer_class"); it != j.end() && it->is_string())
    return it->get<std::string>();
  if (auto it = j.find("model_type"); it != j.end() && it->is_string() && *it == "clip_text_model")
    return "CLIPTextModel";
  return "";
}

// ---------------------------------------------------------------------------------------------
// model_index.json

ModelIndex parse_model_index(const json& j, const std::string& label) {
  if (!j.is_object()) fail(label, ": expected a JSON object, got ", j.type_name());
  ModelIndex index;
  auto cls = j.find("_class_name");
  if (cls == j.end() || !cls->is_string())
    fail(label, ": \"_class_name\" (the pipeline class) is missing or not a string");
  index.pipeline_class = cls->get<std::string>();
  if (std::find(std::begin(kSupportedPipelines), std::end(kSupportedPipelines), index.pipeline_class) ==
      std::end(kSupportedPipelines))
    fail(label, ": pipeline class ", shown(*cls),
         " is not supported; sdfast runs Stable Diffusion 1.x/2.x pipelines (StableDiffusionPipeline, "
         "StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline)",
         index.pipeline_class.find("XL") != std::string::npos
             ? " and not SDXL, which has a second text encoder and a different UNet conditioning"
             : "");
  std::set<std::string> present;
  for (const auto& [name, value] : j.items()) {
    if (!name.empty() && name[0] == '_') continue;  // _class_name, _diffusers_version, ...
    if (!value.is_array()) continue;  // pipeline options such as requires_safety_checker
    if (!is_component_name(name))
      fail(label, ": component name ", shown(json(name)),
           " is not a plain folder name ([A-Za-z0-9_-]+); refusing a path that could leave the "
           "model "
           "folder");
    if (value.size() != 2)
      fail(label, ": component '", name, "' must be [library, class] or [null, null], got ",
           shown(value));
    if (value[0].is_null() && value[1].is_null()) continue;  // absent component
    if (!value[0].is_string() || !value[1].is_string())
      fail(label, ": component '", name, "' must be [library, class] strings or [null, null], got ",
           shown(value));
    ModelIndexEntry e{name, value[0].get<std::string>(), value[1].get<std::string>()};
    if (std::find(std::begin(kIgnoredRoles), std::end(kIgnoredRoles), name) !=
        std::end(kIgnoredRoles)) {
      index.ignored.push_back(std::move(e));
      continue;
    }
    const RoleSpec* spec = find_role(name);
    if (!spec)
      fail(label, ": unknown component '", name, "' (", shown(value),
           "); a Stable Diffusion 1.x/2.x pipeline has unet, vae, text_encoder, tokenizer and "
           "scheduler (safety_checker, feature_extractor and image_encoder are ignored)",
           name.ends_with("_2") ? "; a second text encoder or tokenizer means SDXL, which sdfast "
                                  "does not support"
                                : "");
    if (std::find(spec->classes.begin(), spec->classes.end(), e.class_name) == spec->classes.end())
      fail(label, ": component '", name, "' has class ", shown(value[1]), " (library ",
           shown(value[0]), "), which sdfast does not support; supported: ", join(spec->classes));
    present.insert(name);
    index.components.push_back(std::move(e));
  }
  for (const char* role : kRequiredRoles)
    if (!present.count(role))
      fail(label, ": no '", role,
           "' component (a Stable Diffusion pipeline needs unet, vae, "
           "text_encoder, tokenizer and scheduler; [null, null] means absent)");
  return index;
}

// ---------------------------------------------------------------------------------------------
// Weight files

std::string WeightFiles::describe() const {
  if (files.empty()) return "no weight files";
  std::string what = sharded() ? str_cat(files.size(), " shard", files.size() > 1 ? "s" : "",
                                         " listed in '", shard_index.path, "'")
                               : "'" + files[0] + "'";
  if (requested_variant.empty()) return what;
  if (variant_used) return what + " (" + requested_variant + " variant)";
  return what + " (no " + requested_variant + " variant in that folder, using the plain weights)";
}

WeightFiles find_weight_files(const std::string& dir, const std::string& base,
                              const std::string& variant) {
  WeightFiles w;
  w.requested_variant = variant;
  auto use_single = [&](const std::string& path, bool is_variant) {
    w.files = {path};
    w.variant_used = is_variant;
    return w;
  };
  auto use_index = [&](const std::string& path, bool is_variant) {
    w.shard_index = ShardIndex::load(path);
    w.files = w.shard_index.shards;
    w.variant_used = is_variant;
    return w;
  };
  if (!variant.empty()) {
    if (!is_component_name(variant))
      fail_argument("weight variant '", variant,
                    "' must be a plain name such as fp16 ([A-Za-z0-9_-]+)");
    const std::string single = path_join(dir, base + "." + variant + ".safetensors");
    if (file_present(single)) return use_single(single, true);
    for (const std::string& name : {base + ".safetensors.index." + variant + ".json",
                                    base + "." + variant + ".safetensors.index.json",
                                    base + ".safetensors." + variant + ".index.json"}) {
      const std::string index = path_join(dir, name);
      if (file_present(index)) return use_index(index, true);
    }
  }
  const std::string single = path_join(dir, base + ".safetensors");
  if (file_present(single)) return use_single(single, false);
  const std::string index = path_join(dir, base + ".safetensors.index.json");
  if (file_present(index)) return use_index(index, false);
  if (auto pickles = pickle_files_in(dir); !pickles.empty()) fail_pickle_only(dir, pickles);
  return w;
}

// ---------------------------------------------------------------------------------------------
// Components

namespace {

Component load_component(const std::string& dir, const RoleSpec& spec, const ModelIndexEntry& entry,
                         const FolderOptions& options, const std::string& index_label) {
  Component c;
  c.name = entry.name;
  c.library = entry.library;
  c.class_name = entry.class_name;
  c.dir = dir;
  const std::string config_path = path_join(dir, spec.config_file);
  if (file_present(config_path)) {
    c.config_path = config_path;
    c.config = load_config(config_path);
  } else if (spec.config_required) {
    fail("component '", entry.name, "' (", entry.class_name, "): '", dir, "' has no ",
         spec.config_file, index_label.empty() ? "" : " (named in " + index_label + ")");
  } else {
    c.config = Config(json::object(), "'" + config_path + "'");
  }
  // Model configs must agree with model_index.json; scheduler and tokenizer configs are used as
  // they are by the class model_index.json names, as in diffusers.
  if (spec.weights_base) {
    const std::string cls = class_of_config(c.config);
    if (!cls.empty() && cls != entry.class_name)
      fail("'", config_path, "' is for class '", cls, "', but ",
           index_label.empty() ? std::string("the folder") : index_label, " names class '",
           entry.class_name, "' for component '", entry.name, "'");
    c.weights = find_weight_files(dir, spec.weights_base, options.variant);
    if (c.weights.empty() && options.require_weights)
      fail("component '", entry.name, "' (", entry.class_name, "): '", dir, "' has no weights (",
           spec.weights_base, ".safetensors",
           options.variant.empty()
               ? ""
               : ", " + std::string(spec.weights_base) + "." + options.variant + ".safetensors",
           " or a sharded ", spec.weights_base, ".safetensors.index.json)",
           variant_hint(dir, spec.weights_base));
  } else if (std::string(spec.role) == "tokenizer" && options.require_weights) {
    for (const char* f : {"vocab.json", "merges.txt"})
      if (!file_present(path_join(dir, f)))
        fail("component 'tokenizer' (", entry.class_name, "): '", dir, "' has no ", f);
  }
  return c;
}

}  // namespace

std::unique_ptr<SafetensorsWeights> Component::open_weights() const {
  if (weights.empty())
    fail("component '", name, "' (", class_name, ") in '", dir, "' has no weight files");
  if (weights.sharded()) return SafetensorsWeights::from_index(weights.shard_index);
  return std::make_unique<SafetensorsWeights>(weights.files);
}

uint64_t Component::estimate_weight_bytes(DType compute) const {
  return weights.empty() ? 0 : sdfast::estimate_weight_bytes(weights.files, compute);
}

FolderInfo inspect_model_path(const std::string& path) {
  FolderInfo info;
  info.path = path;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) {
    if (fs::is_symlink(fs::symlink_status(path, ec)))
      fail("'", path, "' is a symbolic link to a missing file or folder");
    fail("'", path, "' does not exist");
  }
  if (fs::is_regular_file(st)) {
    if (is_pickle_file_name(path))
      fail("'", path, "' is a PyTorch pickle checkpoint. ", kPickleRefusal);
    if (path.ends_with(".safetensors"))
      fail("'", path,
           "' is a single safetensors file; sdfast loads Diffusers folders "
           "(model_index.json with unet/, vae/, text_encoder/, tokenizer/, scheduler/). Convert a "
           "single-file checkpoint with diffusers: StableDiffusionPipeline.from_single_file(path)"
           ".save_pretrained(folder)");
    const std::string name = fs::path(path).filename().string();
    if (name == "model_index.json" || name == "config.json")
      fail("'", path, "' is a file; give the folder that contains it ('",
           fs::path(path).parent_path().string(), "')");
    fail("'", path, "' is a file, not a model folder");
  }
  if (!fs::is_directory(st)) fail("'", path, "' is not a folder");
  const std::string index = path_join(path, "model_index.json");
  if (file_present(index)) {
    info.kind = FolderKind::Pipeline;
    info.config_path = index;
    const json j = read_json_file(index);
    if (j.is_object())
      if (auto it = j.find("_class_name"); it != j.end() && it->is_string())
        info.class_name = it->get<std::string>();
    return info;
  }
  for (const char* name : {"config.json", "scheduler_config.json", "tokenizer_config.json"}) {
    const std::string config = path_join(path, name);
    if (!file_present(config)) continue;
    info.kind = FolderKind::Component;
    info.config_path = config;
    info.class_name = class_of_config(load_config(config));
    info.role = role_of_class(info.class_name);
    return info;
  }
  if (auto pickles = pickle_files_in(path); !pickles.empty()) fail_pickle_only(path, pickles);
  fail("'", path,
       "' is neither a Diffusers pipeline folder (no model_index.json) nor a component "
       "folder (no config.json)");
}

Component open_component_folder(const std::string& dir, const FolderOptions& options) {
  const FolderInfo info = inspect_model_path(dir);
  if (info.kind == FolderKind::Pipeline)
    fail("'", dir, "' is a pipeline folder (it has model_index.json), not a component folder");
  if (info.role.empty()) {
    std::vector<std::string> all;
    for (const RoleSpec& s : role_specs())
      all.insert(all.end(), s.classes.begin(), s.classes.end());
    fail("'", info.config_path, "' ",
         info.class_name.empty() ? std::string("names no class (no _class_name or architectures)")
                                 : "is for class '" + info.class_name + "'",
         ", which sdfast cannot load as a component; supported: ", join(all));
  }
  const RoleSpec& spec = *find_role(info.role);
  return load_component(dir, spec, ModelIndexEntry{info.role, spec.library, info.class_name},
                        options, "");
}

// ---------------------------------------------------------------------------------------------
// Pipeline folder

DiffusersFolder DiffusersFolder::open(const std::string& path, const FolderOptions& options) {
  const FolderInfo info = inspect_model_path(path);
  if (info.kind != FolderKind::Pipeline)
    fail("'", path, "' is a component folder (", info.class_name.empty() ? "?" : info.class_name,
         " in ", info.config_path, "), not a pipeline folder: it has no model_index.json");
  const std::string label = "'" + info.config_path + "'";
  const ModelIndex index = parse_model_index(read_json_file(info.config_path), label);
  DiffusersFolder folder;
  folder.path_ = path;
  folder.pipeline_class_ = index.pipeline_class;
  for (const ModelIndexEntry& e : index.components) {
    const std::string dir = path_join(path, e.name);
    if (!dir_present(dir))
      fail(label, " names component '", e.name, "' (", e.class_name, "), but folder '", dir,
           "' does not exist");
    folder.components_.push_back(load_component(dir, *find_role(e.name), e, options, label));
  }
  for (const ModelIndexEntry& e : index.ignored)
    folder.ignored_.push_back(e.name + " (" + e.class_name + ")");
  return folder;
}

bool DiffusersFolder::has(const std::string& name) const {
  for (const Component& c : components_)
    if (c.name == name) return true;
  return false;
}

const Component& DiffusersFolder::component(const std::string& name) const {
  for (const Component& c : components_)
    if (c.name == name) return c;
  fail("'", path_, "/model_index.json' has no component '", name, "'");
}

uint64_t DiffusersFolder::estimate_weight_bytes(DType compute) const {
  uint64_t total = 0;
  for (const Component& c : components_) total += c.estimate_weight_bytes(compute);
  return total;
}

}  // namespace sdfast
