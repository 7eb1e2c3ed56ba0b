// PNG files through libpng; images, grids and upscaling for viewing.
#include <png.h>

#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "io/atomic_file.h"
#include "sdfast/image.h"

namespace sdfast {

namespace fs = std::filesystem;

Image make_image_grid(const std::vector<Image>& images, int rows, int cols) {
  if (rows < 1 || cols < 1) fail_argument("image grid ", rows, "x", cols, ": rows and columns must be >= 1");
  if (int64_t(images.size()) != int64_t(rows) * cols)
    fail_argument("image grid ", rows, "x", cols, " needs ", int64_t(rows) * cols, " images, got ",
                  images.size());
  const int w = images[0].width, h = images[0].height;
  for (const Image& im : images)
    if (im.width != w || im.height != h || im.rgb.size() != size_t(w) * size_t(h) * 3)
      fail_argument("image grid: images differ in size (", w, "x", h, " vs ", im.width, "x", im.height, ")");
  Image grid;
  grid.width = cols * w;
  grid.height = rows * h;
  grid.rgb.assign(size_t(grid.width) * size_t(grid.height) * 3, 0);
  for (size_t i = 0; i < images.size(); ++i) {
    const int x0 = int(i % size_t(cols)) * w, y0 = int(i / size_t(cols)) * h;
    for (int y = 0; y < h; ++y)
      std::memcpy(&grid.rgb[(size_t(y0 + y) * size_t(grid.width) + size_t(x0)) * 3],
                  &images[i].rgb[size_t(y) * size_t(w) * 3], size_t(w) * 3);
  }
  return grid;
}

Image upscale(const Image& in, int factor, UpscaleFilter filter) {
  if (factor < 1 || factor > 64) fail_argument("upscale factor must be 1..64, got ", factor);
  if (factor == 1) return in;
  Image out;
  out.width = in.width * factor;
  out.height = in.height * factor;
  out.rgb.resize(size_t(out.width) * size_t(out.height) * 3);
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        float v;
        if (filter == UpscaleFilter::Nearest) {
          v = in.rgb[(size_t(y / factor) * size_t(in.width) + size_t(x / factor)) * 3 + size_t(c)];
        } else {  // bilinear with half-pixel centres (align_corners=False), edges clamped
          const float sy = std::max(0.0f, (y + 0.5f) / float(factor) - 0.5f);
          const float sx = std::max(0.0f, (x + 0.5f) / float(factor) - 0.5f);
          const int y0 = std::min(int(sy), in.height - 1), x0 = std::min(int(sx), in.width - 1);
          const int y1 = std::min(y0 + 1, in.height - 1), x1 = std::min(x0 + 1, in.width - 1);
          const float fy = sy - float(y0), fx = sx - float(x0);
          auto px = [&](int yy, int xx) {
            return float(in.rgb[(size_t(yy) * size_t(in.width) + size_t(xx)) * 3 + size_t(c)]);
          };
          v = (px(y0, x0) * (1 - fx) + px(y0, x1) * fx) * (1 - fy) + (px(y1, x0) * (1 - fx) + px(y1, x1) * fx) * fy;
        }
        out.rgb[(size_t(y) * size_t(out.width) + size_t(x)) * 3 + size_t(c)] = uint8_t(std::lround(v));
      }
    }
  }
  return out;
}

namespace {

struct PngWriteError {
  std::string message;
};

void png_error_fn(png_structp png, png_const_charp msg) {
  auto* err = static_cast<PngWriteError*>(png_get_error_ptr(png));
  err->message = msg;
  png_longjmp(png, 1);
}
void png_warning_fn(png_structp, png_const_charp) {}

// Where write_png_stream sends the encoded bytes: a FILE, or a vector in memory.
struct PngSink {
  FILE* file = nullptr;
  std::vector<uint8_t>* bytes = nullptr;
};

void png_write_to_vector(png_structp png, png_bytep data, png_size_t size) {
  auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + size);
}
void png_flush_nothing(png_structp) {}

// The libpng calls, in a function holding no C++ objects across setjmp.
bool write_png_stream(PngSink sink, int width, int height, png_text* chunks, int nchunks, png_bytep* rows,
                      PngWriteError* err) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, err, png_error_fn, png_warning_fn);
  if (!png) return false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png)) != 0) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  if (sink.file)
    png_init_io(png, sink.file);
  else
    png_set_write_fn(png, sink.bytes, png_write_to_vector, png_flush_nothing);
  png_set_IHDR(png, info, png_uint_32(width), png_uint_32(height), 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (nchunks > 0) png_set_text(png, info, chunks, nchunks);
  png_set_rows(png, info, rows);
  png_write_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

// The image checked as 8-bit RGB, its text as libpng chunks and its rows as libpng pointers (the
// pointers refer into `image` and `text`, which must outlive them).
struct PngParts {
  std::vector<png_text> chunks;
  std::vector<png_bytep> rows;
};
PngParts png_parts(const Image& image, const std::vector<PngText>& text, const std::string& where) {
  if (image.width < 1 || image.height < 1 ||
      image.rgb.size() != size_t(image.width) * size_t(image.height) * 3)
    fail(where, ": image of ", image.width, "x", image.height, " with ", image.rgb.size(),
         " bytes is not RGB");
  PngParts parts;
  parts.chunks.resize(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    png_text& c = parts.chunks[i];
    c.compression = PNG_ITXT_COMPRESSION_NONE;
    c.key = const_cast<char*>(text[i].first.c_str());
    c.text = const_cast<char*>(text[i].second.c_str());
    c.itxt_length = text[i].second.size();
    c.lang = nullptr;
    c.lang_key = nullptr;
  }
  parts.rows.resize(size_t(image.height));
  for (int y = 0; y < image.height; ++y)
    parts.rows[size_t(y)] = const_cast<png_bytep>(&image.rgb[size_t(y) * size_t(image.width) * 3]);
  return parts;
}

}  // namespace

std::vector<uint8_t> encode_png(const Image& image, const std::vector<PngText>& text) {
  PngParts parts = png_parts(image, text, "encode_png");
  std::vector<uint8_t> bytes;
  PngWriteError err;
  PngSink sink;
  sink.bytes = &bytes;
  if (!write_png_stream(sink, image.width, image.height, parts.chunks.data(), int(parts.chunks.size()),
                        parts.rows.data(), &err))
    fail("encode_png: libpng failed", err.message.empty() ? "" : ": " + err.message);
  return bytes;
}

void save_png(const Image& image, const std::string& path, const std::vector<PngText>& text,
              bool overwrite) {
  PngParts parts = png_parts(image, text, "save_png '" + path + "'");
  write_file_atomically(path, overwrite, "PNG", [&](FILE* f, std::string* error) {
    PngWriteError err;
    PngSink sink;
    sink.file = f;
    const bool ok = write_png_stream(sink, image.width, image.height, parts.chunks.data(),
                                     int(parts.chunks.size()), parts.rows.data(), &err);
    *error = err.message;
    return ok;
  });
}

Image load_png(const std::string& path, std::vector<PngText>* text) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path.c_str()))
    fail("cannot read PNG '", path, "': ", img.message);
  img.format = PNG_FORMAT_RGB;
  Image out;
  out.width = int(img.width);
  out.height = int(img.height);
  out.rgb.resize(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, out.rgb.data(), 0, nullptr)) {
    png_image_free(&img);
    fail("cannot decode PNG '", path, "': ", img.message);
  }
  if (text) {
    text->clear();
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) fail("cannot read '", path, "'");
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (png && info && setjmp(png_jmpbuf(png)) == 0) {
      png_init_io(png, f);
      png_read_info(png, info);
      png_textp t = nullptr;
      int n = 0;
      png_get_text(png, info, &t, &n);
      for (int i = 0; i < n; ++i)
        text->emplace_back(t[i].key, std::string(t[i].text, t[i].itxt_length ? t[i].itxt_length : t[i].text_length));
    }
    if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    std::fclose(f);
  }
  return out;
}

}  // namespace sdfast
