// LoRA files: reading a safetensors LoRA in any of the layouts Stable Diffusion tools save, and
// normalising it to one list of low-rank modules, each naming the UNet or text-encoder layer it
// patches. No model is touched here (see lora_stack.h).
//
// Layouts (detected from the tensor names; one file holds one layout):
// - kohya / A1111: lora_unet_<path with '_'>.lora_down.weight / .lora_up.weight / .alpha, and
//   lora_te_<path with '_'>... for the text encoder. The '_'-joined path is resolved against the
//   model's own layer paths (LoraModule::underscored).
// - Diffusers legacy: unet.<path>.lora.down.weight / .lora.up.weight,
//   text_encoder.<path>.lora_linear_layer.down.weight / .up.weight, and the older attention
//   processor names unet.<attn>.processor.to_q_lora.down.weight (to_out_lora -> to_out.0), with
//   or without the unet. prefix.
// - PEFT (newer Diffusers): unet.<path>.lora_A.weight / .lora_B.weight (and text_encoder.).
// alpha: a <module>.alpha scalar in any layout; PEFT files may give it in the safetensors metadata
// "lora_adapter_metadata" (JSON "unet.lora_alpha", "text_encoder.lora_alpha"); absent = rank
// (factor 1), which is also Diffusers' rule for its legacy layout.
//
// Reference: diffusers/src/diffusers/loaders/lora.py (load_lora_weights, lora_state_dict,
// _convert_kohya_lora_to_diffusers) and models/lora.py (LoRACompatibleLinear/Conv), v0.26.3.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors.h"

namespace sdfast::lora {

enum class LoraFormat { Kohya, DiffusersLegacy, Peft };
const char* format_name(LoraFormat f);

enum class LoraTarget { UNet, TextEncoder };
const char* target_name(LoraTarget t);

struct LoraModule {
  LoraTarget target = LoraTarget::UNet;
  // The layer's Diffusers path ("down_blocks.0.attentions.0.proj_in"), or, when `underscored`,
  // kohya's '_'-joined form of it ("down_blocks_0_attentions_0_proj_in").
  std::string path;
  bool underscored = false;
  std::string key;  // the file's name for the module (its tensors' common prefix), for messages
  Tensor down;      // float32 [rank, in] or [rank, in, k, k]
  Tensor up;        // float32 [out, rank] or [out, rank, 1, 1]
  int64_t rank = 0;
  float alpha = 0;  // the term is scaled by alpha / rank
};

struct LoraFile {
  std::string path;
  LoraFormat format = LoraFormat::Kohya;
  std::vector<LoraModule> modules;  // in key order

  // Reads a .safetensors LoRA. Pickle files (.pt .pth .ckpt .bin .pkl) are refused: loading them
  // can run code. Throws InvalidArgument naming the file and the problem (unknown key layout,
  // a module without its down or up matrix, rank 0, inconsistent shapes, NaN/Inf values).
  static LoraFile read(const std::string& path);
  // The same checks on an opened file (tests, fuzzer).
  static LoraFile parse(const SafetensorsFile& file);
};

}  // namespace sdfast::lora
