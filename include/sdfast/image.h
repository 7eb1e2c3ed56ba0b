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

}  // namespace sdfast
