// `sdfast serve`: OpenAI's images API (POST /v1/images/generations and /v1/images/edits), parsed
// into an ImageSpec and answered in OpenAI's response shape.
// https://platform.openai.com/docs/api-reference/images
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "image_spec.h"
#include "job_output.h"
#include "json_fields.h"

namespace sdfast::server {

// The body of POST /v1/images/generations (also of POST /v1/jobs). Fields: prompt (required), n,
// size "WxH" or "auto", response_format "b64_json", output_format png|jpeg|webp,
// output_compression 0..100; sdfast's: negative_prompt, steps (or num_inference_steps),
// guidance_scale, seed, scheduler, eta. model, quality, style, user, background and moderation are
// accepted and listed as ignored. Throws ApiError.
ImageSpec parse_openai_generation(const Json& body, const ParseContext& context);

// One part of a multipart/form-data body: cpp-httplib's MultipartFormData without the HTTP library
// (so that the parser stands alone for tests and the fuzz harness).
struct FormField {
  std::string name;
  std::string content;
  std::string filename;      // "" for a text field
  std::string content_type;  // "" when the part has none
};

// The form of POST /v1/images/edits (also of POST /v1/jobs sent as multipart/form-data): the file
// `image` (or `image[]`, once) and optional `mask`, and the text fields of a generations body
// (numbers as decimal text). The output has the image's size (`size`, when given, must equal it).
// The mask is read as OpenAI's: its transparent pixels (alpha < 128) are repainted; sdfast's
// `mask_alpha=false` reads its grey value instead (white is repainted, as `sdfast inpaint --mask`).
// Without a mask: image-to-image. sdfast's `strength` (0, 1] defaults to 0.8 (img2img) and 1.0
// (inpainting), as `sdfast img2img` / `sdfast inpaint`. Throws ApiError.
ImageSpec parse_openai_edit(const std::vector<FormField>& form, const ParseContext& context);

// {"created", "data": [{"b64_json"}...], "output_format", "size", "sdfast": {seeds, scheduler, ...}}
Json openai_images_response(const ImageSpec& spec, const JobOutput& out, int64_t created_unix);

// GET /v1/models: the one loaded model.
Json openai_models_response(const std::string& model_name, int64_t created_unix);

// {"error": {"message", "type", "param", "code"}}
Json error_body(const std::string& message, const std::string& type, const std::string& param,
                const std::string& code);

}  // namespace sdfast::server
