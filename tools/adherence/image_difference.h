// How far one 8-bit RGB image is from another of the same size (e.g. a DeepCache image from the
// uncached one): PSNR over all channel values with peak 255, and the largest channel difference.
#pragma once

#include "sdfast/image.h"

namespace sdfast {

struct ImageDifference {
  double psnr_db = 0;  // 10 log10(255^2 / MSE); +infinity for identical images
  int max_abs = 0;     // max |a - b| over all pixels and channels, 0..255
};

// Throws InvalidArgument when the sizes differ or an image's pixel buffer does not match its size.
ImageDifference image_difference(const Image& a, const Image& b);

}  // namespace sdfast
