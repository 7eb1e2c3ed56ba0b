// `sdfast serve`: decoding and checking the init image and mask of an edit request.
#include "edit_images.h"

#include "api_error.h"
#include "base64.h"
#include "json_fields.h"
#include "sdfast/error.h"

namespace sdfast::server {

namespace {

std::string size_text(const Image& im) { return std::to_string(im.width) + "x" + std::to_string(im.height); }

Image decode(std::string_view bytes, const char* param, AlphaUse alpha, const ParseContext& context) {
  if (bytes.empty()) throw invalid_field(param, std::string("'") + param + "' is empty: send a PNG, JPEG or WebP file");
  ImageLimits limits;
  limits.max_side = context.limits.max_side;
  limits.max_pixels = int64_t(context.limits.max_side) * context.limits.max_side;
  limits.max_file_bytes = int64_t(context.limits.max_body_bytes);
  try {
    return decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), param, alpha, limits);
  } catch (const InvalidArgument& e) {
    throw ApiError(400, "invalid_request_error", "invalid_image", param, e.what());
  }
}

// A1111's inpainting_mask_invert: the mask's grey value (PIL's "L": (R*299 + G*587 + B*114) / 1000)
// inverted, written to every channel so that the engine's own grey conversion reads it back exactly.
void invert_grey(Image& mask) {
  for (size_t i = 0; i + 2 < mask.rgb.size(); i += 3) {
    const unsigned grey = (mask.rgb[i] * 299u + mask.rgb[i + 1] * 587u + mask.rgb[i + 2] * 114u) / 1000u;
    mask.rgb[i] = mask.rgb[i + 1] = mask.rgb[i + 2] = uint8_t(255 - grey);
  }
}

}  // namespace

void set_edit_images(ImageSpec& spec, std::string_view image, const std::optional<std::string_view>& mask,
                     MaskSource mask_source, double strength, const ParseContext& context,
                     const EditFieldNames& names) {
  if (!(strength > 0 && strength <= 1))
    throw invalid_field(names.strength, std::string("'") + names.strength + "' must be in (0, 1], got " +
                                            Json(strength).dump());
  auto init = std::make_shared<Image>(decode(image, names.image, AlphaUse::Drop, context));
  if (init->width % 8 != 0 || init->height % 8 != 0 || init->width < 8 || init->height < 8)
    throw invalid_field(names.image, std::string("'") + names.image + "' is " + size_text(*init) +
                                         ": its width and height must be multiples of 8 (the image is not "
                                         "resized; its size is the output size)");
  std::shared_ptr<Image> m;
  if (mask) {
    m = std::make_shared<Image>(
        decode(*mask, names.mask, mask_source == MaskSource::Alpha ? AlphaUse::Transparent : AlphaUse::Drop, context));
    if (m->width != init->width || m->height != init->height)
      throw invalid_field(names.mask, std::string("'") + names.mask + "' is " + size_text(*m) + ", '" + names.image +
                                          "' is " + size_text(*init) + ": the mask must have the image's size");
    if (mask_source == MaskSource::InvertedGrey) invert_grey(*m);
  }
  spec.task = m ? ImageTask::Inpaint : ImageTask::ImageToImage;
  spec.width = init->width;
  spec.height = init->height;
  spec.init_image = std::move(init);
  spec.mask = std::move(m);
  spec.strength = strength;
}

std::string decode_base64_image(std::string_view text, const std::string& param) {
  if (text.substr(0, 5) == "data:") {  // data:[<media type>][;base64],<data>
    const size_t comma = text.find(',');
    const std::string_view header = text.substr(0, comma);
    if (comma == std::string_view::npos || header.size() < 7 || header.substr(header.size() - 7) != ";base64")
      throw invalid_field(param, "'" + param + "' is a data URL without ';base64,': send base64 image data");
    text.remove_prefix(comma + 1);
  }
  std::optional<std::string> bytes = base64_decode(text);
  if (!bytes)
    throw ApiError(400, "invalid_request_error", "invalid_base64", param,
                   "'" + param + "' is not valid base64 (" + std::to_string(text.size()) + " characters)");
  return std::move(*bytes);
}

}  // namespace sdfast::server
