// Image files in and out: PNG (libspng to read, libpng to write), JPEG (libjpeg-turbo's TurboJPEG)
// and WebP (libwebp). No pixel decoding is written here. Every decoder reads the image size from
// the header first and refuses sizes over the limits before it allocates or decodes anything.
#include <spng.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/encode.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "core/error.h"
#include "io/atomic_file.h"
#include "sdfast/image.h"

namespace sdfast {

namespace fs = std::filesystem;

namespace {

// Decoded pixels, 3 (RGB) or 4 (RGBA) bytes each.
struct Pixels {
  int width = 0, height = 0, channels = 3;
  bool has_alpha = false;
  std::vector<uint8_t> data;
};

void check_dimensions(int64_t width, int64_t height, const std::string& name, const char* format,
                      const ImageLimits& limits) {
  if (width < 1 || height < 1)
    fail_argument("'", name, "': ", format, " header gives an empty image (", width, "x", height, ")");
  if (width > limits.max_side || height > limits.max_side || width * height > limits.max_pixels)
    fail_argument("'", name, "': ", format, " image of ", width, "x", height, " pixels is over the limit (",
                  limits.max_side, " per side, ", limits.max_pixels, " pixels): refused before decoding");
}

Pixels decode_png(const uint8_t* data, size_t size, const std::string& name, const ImageLimits& limits) {
  std::unique_ptr<spng_ctx, void (*)(spng_ctx*)> ctx(spng_ctx_new(0), spng_ctx_free);
  if (!ctx) fail("'", name, "': cannot start the PNG decoder (out of memory)");
  auto check = [&](int e, const char* what) {
    if (e != 0) fail_argument("'", name, "': not a readable PNG file (", what, ": ", spng_strerror(e), ")");
  };
  const uint32_t side = uint32_t(limits.max_side);
  // The image limits make spng refuse larger headers itself; chunk limits bound the metadata.
  check(spng_set_image_limits(ctx.get(), side, side), "limits");
  check(spng_set_chunk_limits(ctx.get(), size_t(1) << 24, size_t(1) << 26), "limits");
  check(spng_set_png_buffer(ctx.get(), data, size), "buffer");
  spng_ihdr ihdr{};
  const int e = spng_get_ihdr(ctx.get(), &ihdr);
  if (e == SPNG_EWIDTH || e == SPNG_EHEIGHT || e == SPNG_EUSER_WIDTH || e == SPNG_EUSER_HEIGHT)
    fail_argument("'", name, "': PNG image size is over the limit (", limits.max_side,
                  " pixels per side) or invalid: refused before decoding (", spng_strerror(e), ")");
  check(e, "header");
  check_dimensions(ihdr.width, ihdr.height, name, "PNG", limits);
  Pixels px;
  px.width = int(ihdr.width);
  px.height = int(ihdr.height);
  px.channels = 4;
  spng_trns trns{};
  px.has_alpha = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA ||
                 ihdr.color_type == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA || spng_get_trns(ctx.get(), &trns) == 0;
  size_t len = 0;
  check(spng_decoded_image_size(ctx.get(), SPNG_FMT_RGBA8, &len), "size");
  if (len != size_t(px.width) * size_t(px.height) * 4) fail_argument("'", name, "': PNG decoded size mismatch");
  px.data.resize(len);
  check(spng_decode_image(ctx.get(), px.data.data(), len, SPNG_FMT_RGBA8, SPNG_DECODE_TRNS), "pixels");
  // spng stops after the image data: a file cut after it must still be refused as truncated.
  static constexpr uint8_t kIend[] = {'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  if (std::search(data, data + size, std::begin(kIend), std::end(kIend)) == data + size)
    fail_argument("'", name, "': PNG file is truncated (no IEND chunk after the image data)");
  return px;
}

Pixels decode_jpeg(const uint8_t* data, size_t size, const std::string& name, const ImageLimits& limits) {
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
  if (!tj) fail("'", name, "': cannot start the JPEG decoder");
  int width = 0, height = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.get(), data, static_cast<unsigned long>(size), &width, &height, &subsamp,
                          &colorspace) != 0)
    fail_argument("'", name, "': not a readable JPEG file (", tjGetErrorStr2(tj.get()), ")");
  check_dimensions(width, height, name, "JPEG", limits);
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK)
    fail_argument("'", name, "': CMYK JPEG files are not supported (convert it to RGB)");
  Pixels px;
  px.width = width;
  px.height = height;
  px.data.resize(size_t(width) * size_t(height) * 3);
  // Any warning (a truncated or corrupt stream) refuses the file instead of returning grey rows.
  if (tjDecompress2(tj.get(), data, static_cast<unsigned long>(size), px.data.data(), width, 0, height,
                    TJPF_RGB, TJFLAG_STOPONWARNING) != 0)
    fail_argument("'", name, "': JPEG data is truncated or corrupt (", tjGetErrorStr2(tj.get()), ")");
  return px;
}

Pixels decode_webp(const uint8_t* data, size_t size, const std::string& name, const ImageLimits& limits) {
  WebPBitstreamFeatures f;
  if (const VP8StatusCode s = WebPGetFeatures(data, size, &f); s != VP8_STATUS_OK)
    fail_argument("'", name, "': not a readable WebP file (status ", int(s), ")");
  if (f.has_animation) fail_argument("'", name, "': animated WebP files are not supported");
  check_dimensions(f.width, f.height, name, "WebP", limits);
  Pixels px;
  px.width = f.width;
  px.height = f.height;
  px.channels = 4;
  px.has_alpha = f.has_alpha != 0;
  px.data.resize(size_t(f.width) * size_t(f.height) * 4);
  if (!WebPDecodeRGBAInto(data, size, px.data.data(), px.data.size(), f.width * 4))
    fail_argument("'", name, "': WebP data is truncated or corrupt");
  return px;
}

bool starts_with(const uint8_t* data, size_t size, size_t offset, const char* magic) {
  const size_t n = std::strlen(magic);
  return size >= offset + n && std::memcmp(data + offset, magic, n) == 0;
}

}  // namespace

ImageFormat parse_image_format(const std::string& name) {
  if (name == "png") return ImageFormat::Png;
  if (name == "jpeg" || name == "jpg") return ImageFormat::Jpeg;
  if (name == "webp") return ImageFormat::Webp;
  fail_argument("image format must be png, jpeg or webp, got '", name, "'");
}

const char* image_format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::Png: return "png";
    case ImageFormat::Jpeg: return "jpeg";
    case ImageFormat::Webp: return "webp";
  }
  return "?";
}

const char* image_format_extension(ImageFormat format) {
  switch (format) {
    case ImageFormat::Png: return ".png";
    case ImageFormat::Jpeg: return ".jpg";
    case ImageFormat::Webp: return ".webp";
  }
  return "";
}

Image decode_image(const uint8_t* data, size_t size, const std::string& name, AlphaUse alpha,
                   const ImageLimits& limits) {
  if (size == 0) fail_argument("'", name, "': the file is empty, not an image");
  Pixels px;
  if (starts_with(data, size, 0, "\x89PNG\r\n\x1a\n"))
    px = decode_png(data, size, name, limits);
  else if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
    px = decode_jpeg(data, size, name, limits);
  else if (starts_with(data, size, 0, "RIFF") && starts_with(data, size, 8, "WEBP"))
    px = decode_webp(data, size, name, limits);
  else
    fail_argument("'", name, "': not a PNG, JPEG or WebP file (unrecognised content)");
  if (alpha == AlphaUse::Transparent && !px.has_alpha)
    fail_argument("'", name, "' has no alpha channel to take the mask from");
  Image out;
  out.width = px.width;
  out.height = px.height;
  const size_t n = size_t(px.width) * size_t(px.height);
  out.rgb.resize(n * 3);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &px.data[i * size_t(px.channels)];
    for (size_t c = 0; c < 3; ++c)
      out.rgb[i * 3 + c] = alpha == AlphaUse::Transparent ? uint8_t(255 - p[3]) : p[c];
  }
  return out;
}

Image load_image(const std::string& path, AlphaUse alpha, const ImageLimits& limits) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    if (!fs::exists(path, ec)) fail_argument("image '", path, "' does not exist");
    fail_argument("image '", path, "' is not a regular file");
  }
  const auto size = fs::file_size(path, ec);
  if (ec) fail_argument("cannot read image '", path, "': ", ec.message());
  if (int64_t(size) > limits.max_file_bytes)
    fail_argument("image '", path, "' is ", size, " bytes, over the limit of ", limits.max_file_bytes);
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes(size);
  if (!in || !in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(size)))
    fail_argument("cannot read image '", path, "': ", std::strerror(errno));
  return decode_image(bytes.data(), bytes.size(), path, alpha, limits);
}

void save_image(const Image& image, const std::string& path, ImageFormat format,
                const std::vector<PngText>& text, bool overwrite) {
  if (format == ImageFormat::Png) return save_png(image, path, text, overwrite);
  if (image.width < 1 || image.height < 1 ||
      image.rgb.size() != size_t(image.width) * size_t(image.height) * 3)
    fail("save_image '", path, "': image of ", image.width, "x", image.height, " with ", image.rgb.size(),
         " bytes is not RGB");
  constexpr int kQuality = 95;
  if (format == ImageFormat::Jpeg) {
    std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitCompress(), tjDestroy);
    if (!tj) fail("cannot start the JPEG encoder for '", path, "'");
    unsigned char* buf = nullptr;
    unsigned long len = 0;
    if (tjCompress2(tj.get(), image.rgb.data(), image.width, 0, image.height, TJPF_RGB, &buf, &len, TJSAMP_444,
                    kQuality, TJFLAG_ACCURATEDCT) != 0) {
      tjFree(buf);
      fail("cannot encode JPEG '", path, "': ", tjGetErrorStr2(tj.get()));
    }
    std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(buf, tjFree);
    write_file_atomically(path, overwrite, "JPEG", [&](FILE* f, std::string*) {
      return std::fwrite(owned.get(), 1, len, f) == len;
    });
    return;
  }
  uint8_t* buf = nullptr;
  const size_t len = WebPEncodeRGB(image.rgb.data(), image.width, image.height, image.width * 3, kQuality, &buf);
  std::unique_ptr<uint8_t, void (*)(void*)> owned(buf, WebPFree);
  if (len == 0) fail("cannot encode WebP '", path, "' (", image.width, "x", image.height, ")");
  write_file_atomically(path, overwrite, "WebP", [&](FILE* f, std::string*) {
    return std::fwrite(owned.get(), 1, len, f) == len;
  });
}

}  // namespace sdfast
