// `sdfast serve`: one image request as every API parses it into (OpenAI images, A1111 sdapi,
// async jobs), already checked against the server's limits.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "request_limits.h"
#include "sdfast/image.h"

namespace sdfast::server {

enum class OutputFormat { Png, Jpeg, Webp };
// Text-to-image, image-to-image (an init image) or inpainting (an init image and a mask).
enum class ImageTask { TextToImage, ImageToImage, Inpaint };
const char* to_string(OutputFormat f);
const char* mime_type(OutputFormat f);

struct ImageSpec {
  std::string prompt;
  std::string negative_prompt;
  int images = 1;
  int width = 0;   // 0: the model's default
  int height = 0;
  int steps = 0;   // 0: the server's default
  std::optional<double> guidance;
  std::optional<uint64_t> seed;  // none: a random seed, reported in the response
  std::string scheduler;         // "" the model's; else a name Pipeline::scheduler_names() lists
  double eta = 0;
  OutputFormat output_format = OutputFormat::Png;
  int quality = 90;  // JPEG / WebP quality 0..100 (OpenAI's output_compression)
  // Fields of the request that sdfast understood but cannot honour (reported back to the client).
  std::vector<std::string> ignored;

  // Image-to-image and inpainting (POST /v1/images/edits, /sdapi/v1/img2img, /v1/jobs with a form):
  // the decoded init image and mask, checked by set_edit_images (edit_images.h); the output has the
  // init image's size (width and height are set to it). Held by pointer so that a finished job can
  // drop the pixels (Job::finish) while the rest of its spec stays readable: only the runner reads them.
  ImageTask task = ImageTask::TextToImage;
  std::shared_ptr<const Image> init_image;  // ImageToImage, Inpaint
  std::shared_ptr<const Image> mask;        // Inpaint: white (grey >= 128) is repainted
  double strength = 0;                      // (0, 1] with an init image: how far into the noise it goes
};

// What the request parsers need to know about the server: its limits and the scheduler names the
// loaded engine accepts (Pipeline::scheduler_names(); passed in so the parsers stand alone).
struct ParseContext {
  RequestLimits limits;
  std::vector<std::string> scheduler_names;
};

// The API's names of the spec's fields, for error messages (e.g. images: "n" or "batch_size").
struct FieldNames {
  const char* prompt = "prompt";
  const char* negative_prompt = "negative_prompt";
  const char* images = "n";
  const char* width = "size";
  const char* height = "size";
  const char* steps = "steps";
  const char* guidance = "guidance_scale";
  const char* scheduler = "scheduler";
};

// Checks `spec` against the limits (prompt lengths, sizes, steps, images, guidance, scheduler name)
// and throws ApiError (400, or 413 for an over-long prompt) naming the API's field on the first
// violation.
void validate(const ImageSpec& spec, const ParseContext& context, const FieldNames& names);

}  // namespace sdfast::server
