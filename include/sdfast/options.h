// The typed choices of sdfast's API (precision, attention kernel, random generator), with the
// names the command line and JSON use, and the limits every request is checked against (one
// source: the library checks them, and the CLI checks the same ones before it loads anything).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sdfast {

// Precision of a model's weights and matrix products.
enum class Precision {
  Auto,  // bf16 where the CPU multiplies bf16 natively, f32 elsewhere
  F32,   // float32 (reference)
  BF16,  // bf16 weights and matrix inputs, float32 accumulation
};
// "auto", "f32" (also "fp32", "float32"), "bf16" (also "bfloat16"); anything else is an
// InvalidArgument naming `what` and listing the valid names.
Precision parse_precision(std::string_view name, std::string_view what = "dtype");
std::string to_string(Precision p);  // "auto", "f32", "bf16"

enum class AttentionKind {
  Flash,  // memory-efficient, blockwise (the default)
  Naive,  // the full score matrix (reference)
};
AttentionKind parse_attention(std::string_view name, std::string_view what = "attention");
std::string to_string(AttentionKind a);  // "flash", "naive"

// The per-image random generator, as Diffusers' callers pass it.
enum class GeneratorKind {
  Numpy,  // np.random.Generator(PCG64(seed)).standard_normal
  Torch,  // torch.Generator("cpu").manual_seed(seed), torch.randn
};
GeneratorKind parse_generator(std::string_view name, std::string_view what = "generator");
std::string to_string(GeneratorKind g);  // "numpy", "torch"

// The limits requests and options are checked against.
struct Limits {
  static constexpr int kMaxThreads = 1024;  // threads (0: all cores)
  static constexpr int kMaxSize = 4096;     // height and width: positive multiples of 8 up to this
  static constexpr int kMaxSteps = 1000;    // num_inference_steps
  static constexpr int kMaxImages = 256;    // images per call (prompts x num_images_per_prompt)
  static constexpr double kMaxGuidance = 1000;  // |guidance_scale|
};

// How a front end names a field in messages: validate() calls it with the API's field name
// ("num_images_per_prompt") and uses what it returns (e.g. the CLI's "--num-images").
using FieldNames = std::function<std::string(std::string_view field)>;

}  // namespace sdfast
