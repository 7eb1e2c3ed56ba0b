// `sdfast serve`: PNG through the engine's encode_png, JPEG through libturbojpeg, WebP through libwebp.
#include "image_encoding.h"

#include <turbojpeg.h>
#include <webp/encode.h>

#include <memory>

#include "sdfast/error.h"

namespace sdfast::server {

namespace {

std::string encode_jpeg(const Image& image, int quality) {
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitCompress(), tjDestroy);
  if (!tj) throw Error("JPEG encoder: tjInitCompress failed");
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  if (tjCompress2(tj.get(), image.rgb.data(), image.width, 0, image.height, TJPF_RGB, &buf, &size, TJSAMP_420,
                  quality, TJFLAG_ACCURATEDCT) != 0) {
    const std::string why = tjGetErrorStr2(tj.get());
    tjFree(buf);
    throw Error("JPEG encoder: " + why);
  }
  std::string out(reinterpret_cast<const char*>(buf), size);
  tjFree(buf);
  return out;
}

std::string encode_webp(const Image& image, int quality) {
  uint8_t* buf = nullptr;
  const size_t size = WebPEncodeRGB(image.rgb.data(), image.width, image.height, image.width * 3, float(quality), &buf);
  if (size == 0) throw Error("WebP encoder failed on a " + std::to_string(image.width) + "x" +
                             std::to_string(image.height) + " image");
  std::string out(reinterpret_cast<const char*>(buf), size);
  WebPFree(buf);
  return out;
}

}  // namespace

std::string encode_image(const Image& image, OutputFormat format, int quality, const std::vector<PngText>& text) {
  switch (format) {
    case OutputFormat::Jpeg: return encode_jpeg(image, quality);
    case OutputFormat::Webp: return encode_webp(image, quality);
    default: {
      const std::vector<uint8_t> png = encode_png(image, text);
      return std::string(png.begin(), png.end());
    }
  }
}

}  // namespace sdfast::server
