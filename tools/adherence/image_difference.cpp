#include "adherence/image_difference.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/error.h"

namespace sdfast {

ImageDifference image_difference(const Image& a, const Image& b) {
  if (a.width != b.width || a.height != b.height)
    fail_argument("image_difference: images of ", a.width, "x", a.height, " and ", b.width, "x",
                  b.height, " pixels");
  const size_t n = size_t(a.width) * size_t(a.height) * 3;
  if (a.width <= 0 || a.height <= 0 || a.rgb.size() != n || b.rgb.size() != n)
    fail_argument("image_difference: pixel buffers of ", a.rgb.size(), " and ", b.rgb.size(),
                  " bytes for ", a.width, "x", a.height, " RGB images (", n, " expected)");
  double sum_sq = 0;
  ImageDifference d;
  for (size_t i = 0; i < n; ++i) {
    const int diff = std::abs(int(a.rgb[i]) - int(b.rgb[i]));
    d.max_abs = std::max(d.max_abs, diff);
    sum_sq += double(diff) * diff;
  }
  const double mse = sum_sq / double(n);
  d.psnr_db =
      mse == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(255.0 * 255.0 / mse);
  return d;
}

}  // namespace sdfast
