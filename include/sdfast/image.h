// Images as sdfast returns them: 8-bit RGB, row-major, and what can be done with them.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sdfast {

struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // height * width * 3 bytes, row-major, RGB
};

// One text chunk of a PNG file (written as iTXt, UTF-8).
using PngText = std::pair<std::string, std::string>;

// Diffusers' make_image_grid: `rows * cols` images of equal size pasted row by row into one image.
// Throws InvalidArgument when the count or sizes do not fit.
Image make_image_grid(const std::vector<Image>& images, int rows, int cols);

enum class UpscaleFilter { Nearest, Bilinear };
// Enlarges an image `factor` times for viewing (factor >= 1).
Image upscale(const Image& image, int factor, UpscaleFilter filter);

// Writes a PNG with the given text chunks. The file is written to a temporary name in the same
// folder and renamed into place, so an interrupted write leaves no partial PNG. Unless `overwrite`,
// an existing file is never replaced (Error naming it).
void save_png(const Image& image, const std::string& path, const std::vector<PngText>& text = {},
              bool overwrite = false);

// The PNG file save_png would write, as bytes in memory (for servers and pipes).
std::vector<uint8_t> encode_png(const Image& image, const std::vector<PngText>& text = {});

// Reads an 8-bit RGB/RGBA/gray PNG (converted to RGB) and its text chunks.
Image load_png(const std::string& path, std::vector<PngText>* text = nullptr);

// ---- Image files in (PNG, JPEG, WebP) and out (src/io/image_file.cpp) ----

enum class ImageFormat { Png, Jpeg, Webp };
// "png", "jpeg" (or "jpg"), "webp"; InvalidArgument naming the accepted ones otherwise.
ImageFormat parse_image_format(const std::string& name);
const char* image_format_name(ImageFormat format);       // "png", "jpeg", "webp"
const char* image_format_extension(ImageFormat format);  // ".png", ".jpg", ".webp"

// What to do with an alpha channel when reading an image.
enum class AlphaUse {
  Drop,        // keep the colour channels (PIL's convert("RGB"))
  Transparent  // the result is a mask: white where the file is transparent (alpha 0), black where
               // opaque, grey between (255 - alpha in every channel); a file without alpha fails
};

// Refusal limits, checked from the file's header before any pixel is decoded (decompression bombs).
struct ImageLimits {
  int max_side = 16384;                  // pixels per side
  int64_t max_pixels = int64_t(1) << 26;  // width * height (64 Mpx)
  int64_t max_file_bytes = int64_t(1) << 28;
};

// Decodes a PNG, JPEG or WebP image (told apart by content, not by name) into 8-bit RGB: grey is
// replicated, 16-bit PNG samples are reduced to 8 bits, alpha is handled as `alpha` says. Throws
// InvalidArgument naming `name` for a truncated, corrupt, animated or unknown file, or one whose
// size exceeds `limits`.
Image decode_image(const uint8_t* data, size_t size, const std::string& name,
                   AlphaUse alpha = AlphaUse::Drop, const ImageLimits& limits = {});
// decode_image of the file at `path` (InvalidArgument naming it when it cannot be read).
Image load_image(const std::string& path, AlphaUse alpha = AlphaUse::Drop, const ImageLimits& limits = {});

// Writes `image` as `format`: PNG with `text` as iTXt chunks (save_png), JPEG (quality 95, 4:4:4) or
// WebP (quality 95); the text chunks are PNG only. Written to a temporary file and renamed into
// place (an interrupted write leaves nothing); unless `overwrite`, an existing file is never
// replaced (Error naming it).
void save_image(const Image& image, const std::string& path, ImageFormat format,
                const std::vector<PngText>& text = {}, bool overwrite = false);

}  // namespace sdfast
