// `sdfast serve`: the images of an edit request (image-to-image, inpainting): decoded from the
// bytes of a PNG, JPEG or WebP file and checked against the server's limits before the request is
// queued. The engine takes the init image as it is (no resizing: its size is the output size, both
// sides multiples of 8) and a mask of the same size (GenerateRequest::image / mask_image), as
// `sdfast img2img` / `sdfast inpaint` do; a request that does not fit gets a 400 naming the field.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "image_spec.h"

namespace sdfast::server {

// How a mask file marks the pixels to repaint.
enum class MaskSource {
  Grey,         // white (grey >= 128) is repainted: `sdfast inpaint --mask`, A1111's mask
  InvertedGrey, // black is repainted (A1111's inpainting_mask_invert)
  Alpha         // transparent (alpha < 128) is repainted: OpenAI's mask, `sdfast inpaint --mask-alpha`
};

// The request's field names, for error messages.
struct EditFieldNames {
  const char* image = "image";
  const char* mask = "mask";
  const char* strength = "strength";
};

// Decodes `image` (and `mask` when given) into spec.init_image / spec.mask, sets spec.task, and
// spec.width / height to the image's size; checks `strength` (in (0, 1]) into spec.strength.
// Throws ApiError 400 for an empty or undecodable file, one over the size limit (refused from its
// header, before decoding), sides that are not multiples of 8, or a mask of another size.
void set_edit_images(ImageSpec& spec, std::string_view image, const std::optional<std::string_view>& mask,
                     MaskSource mask_source, double strength, const ParseContext& context,
                     const EditFieldNames& names);

// The bytes of a base64 image as JSON APIs send it: plain base64 or a data URL
// ("data:image/png;base64,..."). Throws ApiError 400 naming `param` when it is not base64.
std::string decode_base64_image(std::string_view text, const std::string& param);

}  // namespace sdfast::server
