// `sdfast serve`: images as the bytes of a PNG, JPEG or WebP file.
#pragma once

#include <string>
#include <vector>

#include "image_spec.h"
#include "sdfast/image.h"

namespace sdfast::server {

// `text` goes into PNG text chunks (JPEG and WebP files carry none). `quality` 0..100 for JPEG/WebP.
std::string encode_image(const Image& image, OutputFormat format, int quality, const std::vector<PngText>& text);

}  // namespace sdfast::server
