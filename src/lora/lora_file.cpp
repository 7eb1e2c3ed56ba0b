// Reference: diffusers/src/diffusers/loaders/lora.py and lora_conversion_utils.py, v0.26.3.
#include "lora/lora_file.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace sdfast::lora {

const char* format_name(LoraFormat f) {
  switch (f) {
    case LoraFormat::Kohya: return "kohya";
    case LoraFormat::DiffusersLegacy: return "diffusers";
    case LoraFormat::Peft: return "peft";
  }
  return "?";
}

const char* target_name(LoraTarget t) { return t == LoraTarget::UNet ? "unet" : "text_encoder"; }

namespace {

enum class Role { Down, Up, Alpha };

struct KeyParts {
  std::optional<LoraFormat> format;  // none for a layout-neutral ".alpha"
  LoraTarget target = LoraTarget::UNet;
  std::string path;
  bool underscored = false;
  Role role = Role::Down;
  std::string module_key;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// "unet.<path>" / "text_encoder.<path>" -> target and path; a bare attention-processor path is the
// UNet's (Diffusers' oldest layout, saved by load_attn_procs).
std::optional<std::pair<LoraTarget, std::string>> split_component(const std::string& module, bool bare_ok) {
  if (starts_with(module, "unet.")) return std::pair{LoraTarget::UNet, module.substr(5)};
  if (starts_with(module, "text_encoder.")) return std::pair{LoraTarget::TextEncoder, module.substr(13)};
  if (bare_ok) return std::pair{LoraTarget::UNet, module};
  return std::nullopt;
}

std::optional<KeyParts> classify(const std::string& name) {
  KeyParts k;
  // kohya / A1111.
  for (auto [prefix, target] : {std::pair{"lora_unet_", LoraTarget::UNet}, {"lora_te_", LoraTarget::TextEncoder}}) {
    if (!starts_with(name, prefix)) continue;
    for (auto [suffix, role] : {std::pair{".lora_down.weight", Role::Down}, {".lora_up.weight", Role::Up},
                                {".alpha", Role::Alpha}}) {
      if (!ends_with(name, suffix)) continue;
      k.format = LoraFormat::Kohya;
      k.target = target;
      k.role = role;
      k.module_key = name.substr(0, name.size() - std::string(suffix).size());
      k.path = k.module_key.substr(std::string(prefix).size());
      k.underscored = true;
      return k.path.empty() ? std::nullopt : std::optional(k);
    }
    return std::nullopt;
  }
  struct Rule {
    const char* suffix;
    LoraFormat format;
    Role role;
  };
  static const Rule rules[] = {
      {".lora_A.weight", LoraFormat::Peft, Role::Down},
      {".lora_B.weight", LoraFormat::Peft, Role::Up},
      {".lora.down.weight", LoraFormat::DiffusersLegacy, Role::Down},
      {".lora.up.weight", LoraFormat::DiffusersLegacy, Role::Up},
      {".lora_linear_layer.down.weight", LoraFormat::DiffusersLegacy, Role::Down},
      {".lora_linear_layer.up.weight", LoraFormat::DiffusersLegacy, Role::Up},
  };
  for (const Rule& r : rules) {
    if (!ends_with(name, r.suffix)) continue;
    k.format = r.format;
    k.role = r.role;
    k.module_key = name.substr(0, name.size() - std::string(r.suffix).size());
    auto split = split_component(k.module_key, false);
    if (!split || split->second.empty()) return std::nullopt;
    std::tie(k.target, k.path) = *split;
    return k;
  }
  // Attention-processor layout: <attn>.processor.to_q_lora.down.weight.
  for (auto [suffix, role] : {std::pair{".down.weight", Role::Down}, {".up.weight", Role::Up}}) {
    if (!ends_with(name, suffix)) continue;
    const std::string stem = name.substr(0, name.size() - std::string(suffix).size());
    for (const char* proj : {"to_q", "to_k", "to_v", "to_out"}) {
      const std::string tail = std::string(".processor.") + proj + "_lora";
      if (!ends_with(stem, tail)) continue;
      const std::string attn = stem.substr(0, stem.size() - tail.size());
      auto split = split_component(attn, true);
      if (!split || split->second.empty()) return std::nullopt;
      k.format = LoraFormat::DiffusersLegacy;
      k.role = role;
      k.module_key = stem;
      k.target = split->first;
      k.path = split->second + "." + (std::string(proj) == "to_out" ? "to_out.0" : proj);
      return k;
    }
  }
  // A layout-neutral alpha: <module>.alpha.
  if (ends_with(name, ".alpha")) {
    k.role = Role::Alpha;
    k.module_key = name.substr(0, name.size() - 6);
    auto split = split_component(k.module_key, false);
    if (!split || split->second.empty()) return std::nullopt;
    std::tie(k.target, k.path) = *split;
    return k;
  }
  return std::nullopt;
}

void check_finite(const Tensor& t, const std::string& file, const std::string& name) {
  const float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(p[i]))
      fail_argument("LoRA '", file, "': tensor '", name, "' holds ", p[i], " at element ", i,
                    " (LoRA weights must be finite)");
}

// alpha for PEFT files from the metadata Diffusers writes ("lora_adapter_metadata": JSON with
// "<component>.lora_alpha").
std::optional<float> metadata_alpha(const SafetensorsFile& file, LoraTarget target) {
  auto it = file.metadata().find("lora_adapter_metadata");
  if (it == file.metadata().end()) return std::nullopt;
  const nlohmann::json j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    fail_argument("LoRA '", file.path(), "': metadata lora_adapter_metadata is not a JSON object");
  const std::string key = std::string(target_name(target)) + ".lora_alpha";
  if (!j.contains(key)) return std::nullopt;
  if (!j[key].is_number() || !std::isfinite(j[key].get<double>()))
    fail_argument("LoRA '", file.path(), "': metadata ", key, " is not a finite number");
  return j[key].get<float>();
}

}  // namespace

LoraFile LoraFile::read(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  for (const char* pickle : {".pt", ".pth", ".ckpt", ".bin", ".pkl"})
    if (ext == pickle)
      fail_argument("LoRA '", path, "': ", ext,
                    " files are Python pickles, which can run code when loaded: refused. Convert it to "
                    ".safetensors");
  if (!std::filesystem::is_regular_file(path)) fail_argument("LoRA '", path, "': no such file");
  std::shared_ptr<SafetensorsFile> file;
  try {
    file = SafetensorsFile::open(path);
  } catch (const InvalidArgument&) {
    throw;
  } catch (const Error& e) {
    fail_argument("LoRA '", path, "' is not a valid safetensors file: ", e.what());
  }
  return parse(*file);
}

LoraFile LoraFile::parse(const SafetensorsFile& file) {
  const std::string& fname = file.path();
  struct Parts {
    LoraModule module;
    std::string down_name, up_name;
    std::optional<float> alpha;
  };
  std::map<std::pair<LoraTarget, std::string>, Parts> groups;
  std::optional<LoraFormat> format;
  std::string format_example;
  for (const TensorInfo& t : file.tensors()) {
    const std::optional<KeyParts> k = classify(t.name);
    if (!k)
      fail_argument("LoRA '", fname, "': tensor '", t.name,
                    "' is not a LoRA tensor of a known layout (kohya lora_unet_*/lora_te_*.lora_down.weight, "
                    "Diffusers unet.*.lora.down.weight / text_encoder.*.lora_linear_layer.down.weight, "
                    "PEFT unet.*.lora_A.weight)");
    if (k->format) {
      if (format && *format != *k->format)
        fail_argument("LoRA '", fname, "' mixes layouts: '", format_example, "' is ", format_name(*format),
                      ", '", t.name, "' is ", format_name(*k->format));
      if (!format) format_example = t.name;
      format = k->format;
    }
    Parts& g = groups[{k->target, k->path}];
    g.module.target = k->target;
    g.module.path = k->path;
    g.module.underscored = k->underscored;
    if (g.module.key.empty() || k->role != Role::Alpha) g.module.key = k->module_key;
    if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16 && t.dtype != DType::F64)
      fail_argument("LoRA '", fname, "': tensor '", t.name, "' has dtype ", dtype_name(t.dtype),
                    ", expected a float type");
    if (k->role == Role::Alpha) {
      if (shape_numel(t.shape) != 1)
        fail_argument("LoRA '", fname, "': alpha '", t.name, "' has shape ", shape_str(t.shape),
                      ", expected a scalar");
      const float a = file.load(t, DType::F32).data<float>()[0];
      if (!std::isfinite(a)) fail_argument("LoRA '", fname, "': alpha '", t.name, "' is ", a, ", not finite");
      g.alpha = a;
      continue;
    }
    Tensor& slot = k->role == Role::Down ? g.module.down : g.module.up;
    std::string& slot_name = k->role == Role::Down ? g.down_name : g.up_name;
    if (slot.defined())
      fail_argument("LoRA '", fname, "': '", t.name, "' and '", slot_name, "' are both the ",
                    k->role == Role::Down ? "down" : "up", " matrix of ", target_name(k->target), " layer '",
                    k->path, "'");
    if (t.shape.size() != 2 && t.shape.size() != 4)
      fail_argument("LoRA '", fname, "': '", t.name, "' has shape ", shape_str(t.shape),
                    ", expected 2 dims (linear) or 4 (conv)");
    slot = file.load(t, DType::F32);
    slot_name = t.name;
    check_finite(slot, fname, t.name);
  }
  if (groups.empty()) fail_argument("LoRA '", fname, "' holds no tensors");
  if (!format) fail_argument("LoRA '", fname, "' holds only alpha values, no LoRA matrices");

  LoraFile out;
  out.path = fname;
  out.format = *format;
  for (auto& [where, g] : groups) {
    LoraModule& m = g.module;
    const std::string what = std::string(target_name(m.target)) + " layer '" + m.key + "'";
    if (!m.down.defined() || !m.up.defined())
      fail_argument("LoRA '", fname, "': ", what, " has no ", m.down.defined() ? "up" : "down", " matrix");
    const Shape &d = m.down.shape(), &u = m.up.shape();
    if (d.size() != u.size())
      fail_argument("LoRA '", fname, "': ", what, ": down ", shape_str(d), " and up ", shape_str(u),
                    " must both be 2-d (linear) or 4-d (conv)");
    if (u.size() == 4 && (u[2] != 1 || u[3] != 1))
      fail_argument("LoRA '", fname, "': ", what, ": up ", shape_str(u), " must be a 1x1 convolution");
    if (d.size() == 4 && d[2] != d[3])
      fail_argument("LoRA '", fname, "': ", what, ": down ", shape_str(d), " has a non-square kernel");
    m.rank = d[0];
    if (m.rank == 0) fail_argument("LoRA '", fname, "': ", what, " has rank 0 (down ", shape_str(d), ")");
    if (u[1] != m.rank)
      fail_argument("LoRA '", fname, "': ", what, ": down ", shape_str(d), " has rank ", m.rank, " but up ",
                    shape_str(u), " expects rank ", u[1]);
    if (d[1] == 0 || u[0] == 0)
      fail_argument("LoRA '", fname, "': ", what, " has an empty matrix (down ", shape_str(d), ", up ",
                    shape_str(u), ")");
    std::optional<float> alpha = g.alpha;
    if (!alpha && out.format == LoraFormat::Peft) alpha = metadata_alpha(file, m.target);
    m.alpha = alpha ? *alpha : float(m.rank);
    out.modules.push_back(std::move(m));
  }
  return out;
}

}  // namespace sdfast::lora
