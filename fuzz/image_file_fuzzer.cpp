// libFuzzer harness: bytes as an image file (PNG, JPEG, WebP or anything else). decode_image must
// decode within the limits or refuse with sdfast::Error, for both alpha modes; never crash, leak,
// read out of bounds or allocate for dimensions over the limits.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "sdfast/image.h"

using namespace sdfast;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ImageLimits limits;
  limits.max_side = 4096;  // bounded work per input; the limit check itself is what is fuzzed
  limits.max_pixels = int64_t(1) << 22;
  for (AlphaUse alpha : {AlphaUse::Drop, AlphaUse::Transparent}) {
    try {
      const Image im = decode_image(data, size, "fuzz input", alpha, limits);
      if (im.width < 1 || im.height < 1 || im.width > limits.max_side || im.height > limits.max_side ||
          im.rgb.size() != size_t(im.width) * size_t(im.height) * 3)
        __builtin_trap();
    } catch (const Error&) {
    }
  }
  return 0;
}
