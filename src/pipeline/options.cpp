// Parsing and printing of the typed options, and validate() of PipelineOptions and
// GenerateRequest (include/sdfast/options.h, pipeline.h).
#include "sdfast/options.h"

#include <cmath>

#include "core/error.h"
#include "core/utf8.h"
#include "sdfast/pipeline.h"

namespace sdfast {

namespace {

template <class E, size_t N>
E parse_name(std::string_view name, std::string_view what, const std::pair<const char*, E> (&names)[N],
             const char* valid) {
  for (const auto& [n, e] : names)
    if (name == n) return e;
  fail_argument(what, " must be ", valid, ", got '", name, "'");
}

std::string field(const FieldNames& names, std::string_view f) {
  return names ? names(f) : std::string(f);
}

}  // namespace

Precision parse_precision(std::string_view name, std::string_view what) {
  static const std::pair<const char*, Precision> names[] = {
      {"auto", Precision::Auto}, {"f32", Precision::F32},       {"fp32", Precision::F32},
      {"float32", Precision::F32}, {"bf16", Precision::BF16}, {"bfloat16", Precision::BF16}};
  return parse_name(name, what, names, "auto, f32 or bf16");
}

std::string to_string(Precision p) {
  switch (p) {
    case Precision::Auto: return "auto";
    case Precision::F32: return "f32";
    case Precision::BF16: return "bf16";
  }
  return "unknown precision " + std::to_string(int(p));
}

AttentionKind parse_attention(std::string_view name, std::string_view what) {
  static const std::pair<const char*, AttentionKind> names[] = {{"flash", AttentionKind::Flash},
                                                                {"naive", AttentionKind::Naive}};
  return parse_name(name, what, names, "flash or naive");
}

std::string to_string(AttentionKind a) { return a == AttentionKind::Naive ? "naive" : "flash"; }

GeneratorKind parse_generator(std::string_view name, std::string_view what) {
  static const std::pair<const char*, GeneratorKind> names[] = {{"numpy", GeneratorKind::Numpy},
                                                                {"torch", GeneratorKind::Torch}};
  return parse_name(name, what, names, "numpy or torch");
}

std::string to_string(GeneratorKind g) { return g == GeneratorKind::Torch ? "torch" : "numpy"; }

void PipelineOptions::validate(const FieldNames& names) const {
  for (auto [p, name] : {std::pair{std::optional<Precision>(dtype), "dtype"}, {vae_dtype, "vae_dtype"}})
    if (p && *p != Precision::Auto && *p != Precision::F32 && *p != Precision::BF16)
      fail_argument(field(names, name), " must be auto, f32 or bf16, got value ", int(*p));
  if (attention != AttentionKind::Flash && attention != AttentionKind::Naive)
    fail_argument(field(names, "attention"), " must be flash or naive, got value ", int(attention));
  if (threads < 0 || threads > Limits::kMaxThreads)
    fail_argument(field(names, "threads"), " must be between 0 (all cores) and ", Limits::kMaxThreads,
                  ", got ", threads);
  if (!variant.empty() && variant != "fp16")
    fail_argument(field(names, "variant"), " must be empty or fp16, got '", variant, "'");
}

void GenerateRequest::validate(const FieldNames& names) const {
  if (prompts.empty()) fail_argument("no prompt given (", field(names, "prompts"), ")");
  // Checked here so that the error says which prompt (the tokenizer checks again).
  for (auto [texts, name] : {std::pair{&prompts, "prompt"}, {&negative_prompts, "negative prompt"}})
    for (size_t i = 0; i < texts->size(); ++i)
      if (size_t bad = 0; !is_valid_utf8((*texts)[i], &bad))
        fail_argument(name, " ", i + 1, " of ", texts->size(), " is not valid UTF-8 (byte 0x", std::hex,
                      int(uint8_t((*texts)[i][bad])), std::dec, " at byte offset ", bad, ")");
  if (!negative_prompts.empty() && negative_prompts.size() != 1 && negative_prompts.size() != prompts.size())
    fail_argument(field(names, "negative_prompts"), ": give none, one, or one per prompt (", prompts.size(),
                  " ", field(names, "prompts"), "), got ", negative_prompts.size());
  for (auto [v, name] : {std::pair{height, "height"}, {width, "width"}})
    if (v != 0 && (v < 8 || v % 8 != 0 || v > Limits::kMaxSize))
      fail_argument(field(names, name), " must be a positive multiple of 8 up to ", Limits::kMaxSize,
                    ", got ", v);
  if (num_inference_steps < 1 || num_inference_steps > Limits::kMaxSteps)
    fail_argument(field(names, "num_inference_steps"), " must be between 1 and ", Limits::kMaxSteps,
                  ", got ", num_inference_steps);
  if (!std::isfinite(guidance_scale) || std::fabs(guidance_scale) > Limits::kMaxGuidance)
    fail_argument(field(names, "guidance_scale"), " must be a finite number (|g| <= ",
                  Limits::kMaxGuidance, "), got ", guidance_scale);
  if (num_images_per_prompt < 1 || num_images_per_prompt > Limits::kMaxImages)
    fail_argument(field(names, "num_images_per_prompt"), " must be between 1 and ", Limits::kMaxImages,
                  ", got ", num_images_per_prompt);
  const size_t images = prompts.size() * size_t(num_images_per_prompt);
  if (images > size_t(Limits::kMaxImages))
    fail_argument(images, " images requested; at most ", Limits::kMaxImages, " per call");
  if (seeds.size() > 1 && seeds.size() != images)
    fail_argument("give no seed, one seed, or one per image (", images, "), got ", seeds.size());
  if (!generator_states.empty()) {
    if (!seeds.empty()) fail_argument("give seeds or generator states, not both");
    if (generator != GeneratorKind::Numpy)
      fail_argument("generator states are numpy PCG64 states; the ", field(names, "generator"), " is '",
                    to_string(generator), "'");
    if (generator_states.size() != images)
      fail_argument("give one generator state per image (", images, "), got ", generator_states.size());
  }
  if (!(eta >= 0 && eta <= 1)) fail_argument(field(names, "eta"), " must be between 0 and 1, got ", eta);
  if (!(strength >= 0.0 && strength <= 1.0))
    fail_argument(field(names, "strength"), " must be between 0 and 1, got ", strength);
  if (deepcache_interval < 0 || deepcache_interval > Limits::kMaxSteps)
    fail_argument(field(names, "deepcache_interval"), " must be between 0 and ", Limits::kMaxSteps,
                  " (0 or 1: off), got ", deepcache_interval);
  if (generator != GeneratorKind::Numpy && generator != GeneratorKind::Torch)
    fail_argument(field(names, "generator"), " must be numpy or torch, got value ", int(generator));
  if (clip_skip < 0) fail_argument(field(names, "clip_skip"), " must be 0 or more, got ", clip_skip);
  if (threads < 0 || threads > Limits::kMaxThreads)
    fail_argument(field(names, "threads"), " must be between 0 (the pipeline's) and ", Limits::kMaxThreads,
                  ", got ", threads);
}

}  // namespace sdfast
