// `sdfast serve`: OpenAI's images API (POST /v1/images/generations), parsed into an ImageSpec and
// answered in OpenAI's response shape. https://platform.openai.com/docs/api-reference/images
#pragma once

#include <cstdint>

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

// {"created", "data": [{"b64_json"}...], "output_format", "size", "sdfast": {seeds, scheduler, ...}}
Json openai_images_response(const ImageSpec& spec, const JobOutput& out, int64_t created_unix);

// GET /v1/models: the one loaded model.
Json openai_models_response(const std::string& model_name, int64_t created_unix);

// {"error": {"message", "type", "param", "code"}}
Json error_body(const std::string& message, const std::string& type, const std::string& param,
                const std::string& code);

}  // namespace sdfast::server
