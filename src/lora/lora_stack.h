// The LoRAs applied to a UNet and a text encoder: several at once, each with its own scale, either
// merged into the weights (W += scale * alpha/rank * up @ down in float32, then stored in the
// model's weight dtype: no cost per step) or kept unmerged (the low-rank term added to the layer's
// output at run time by a LoraAdapter, lora_adapter.h: the scale can change without reloading).
//
// Scales follow Diffusers 0.26 (legacy LoRA path): an unmerged LoRA acts at its scale on every
// layer the model passes `cross_attention_kwargs["scale"]` to (the UNet's down/mid/up blocks:
// attention, feed-forward, proj_in/out, resnet convs, time_emb_proj, shortcuts, resamplers) and on
// the whole text encoder (encode_prompt's lora_scale), but at scale 1 on the layers the model calls
// without it (ops::LayerSet::unscaled: the time embedding, a UNetMidBlock2D mid block); merged
// (fuse_lora(lora_scale)) it is merged at its scale everywhere.
//
// Unloading restores the original weights bit for bit. Only the merged-into layers' original
// (packed) weights are kept, not a copy of the whole model.
//
// Every call mutates the models it was given: never call it while they run (generation).
//
// Reference: diffusers/src/diffusers/models/lora.py (LoRACompatibleLinear, LoRACompatibleConv,
// _fuse_lora / _unfuse_lora) and loaders/lora.py (fuse_lora), v0.26.3.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/runtime.h"
#include "lora/lora_file.h"
#include "ops/conv2d.h"
#include "ops/layer_hooks.h"
#include "ops/linear.h"

namespace sdfast::lora {

enum class LoraMode { Merged, Unmerged };

// The layers LoRAs may patch, per model (from the models' collect_layers()).
struct LoraTargets {
  ops::LayerSet unet;
  ops::LayerSet text_encoder;
};

// How a file matched the models.
struct LoraMatch {
  int modules = 0;                  // low-rank modules in the file
  int unet_layers = 0;              // matched UNet layers
  int text_encoder_layers = 0;      // matched text-encoder layers
  std::vector<std::string> unmatched;  // the file's names of the modules that matched no layer
  // "12 of 14 modules matched (unet 10, text encoder 2); no layer for: a, b, ..."
  std::string describe(const std::string& file) const;
};

class LoraStack {
 public:
  LoraStack() = default;
  LoraStack(const LoraStack&) = delete;
  LoraStack& operator=(const LoraStack&) = delete;

  // Applies `file` at `scale`. Checks everything first (nothing changes when it throws
  // InvalidArgument): every module's shape against its layer (naming the layer, expected vs got),
  // and that at least one module matched a layer (else the first unmatched names are listed).
  LoraMatch add(Runtime& rt, LoraFile file, float scale, LoraMode mode, const LoraTargets& targets);
  // Changes the scale of LoRA `index` (load order); merged layers are merged again, unmerged ones
  // get new adapters (the scales are folded into their weights).
  void set_scale(Runtime& rt, size_t index, float scale);
  // Removes every LoRA: the original weights are back, bit-identical.
  void clear(Runtime& rt);

  size_t size() const { return loras_.size(); }
  // Layers currently merged into (whose original weights are kept).
  size_t merged_layers() const;

 private:
  struct Loaded {
    LoraFile file;
    float scale = 1;
    LoraMode mode = LoraMode::Merged;
  };
  struct Term {
    const Loaded* lora;
    const LoraModule* module;
  };
  struct LayerState {
    ops::Linear* linear = nullptr;
    ops::Conv2d* conv = nullptr;
    bool unscaled = false;  // ops::LayerSet::unscaled: unmerged terms act at scale 1
    std::optional<ops::PackedWeights> original;  // while merged into
    std::vector<Term> terms;
  };
  // Brings a layer's weights and adapter in line with its terms.
  void refresh(Runtime& rt, LayerState& state);

  std::vector<std::unique_ptr<Loaded>> loras_;
  std::map<const void*, LayerState> layers_;  // by layer address
};

}  // namespace sdfast::lora
