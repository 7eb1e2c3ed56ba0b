// Image files in and out (src/io/image_file.cpp): the seed files of fuzz/image_seeds decode to the
// pixels they were made with, every format round-trips through save_image, and bad files
// (truncated, not an image, empty, absurd dimensions, no alpha for a mask) are refused with
// InvalidArgument naming the file, before decoding where the header says too much.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"
#include "hostile_test_util.h"
#include "sdfast/image.h"

namespace sdfast {
namespace {

using testing::TempDir;
using testing::write_file;

const std::string kSeeds = std::string(SDFAST_SOURCE_DIR) + "/fuzz/image_seeds/";

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The seeds' picture: 16x8, pixel (x, y) = (16x, 32y, 128).
uint8_t expected(int x, int y, int c) { return uint8_t(c == 0 ? x * 16 : c == 1 ? y * 32 : 128); }

// From column `x0` on (rgba.*: the colour of the transparent left half need not survive encoding;
// libwebp's lossless encoder cleans it up).
int max_diff_to_seed(const Image& im, int x0 = 0) {
  int worst = 0;
  for (int y = 0; y < 8; ++y)
    for (int x = x0; x < 16; ++x)
      for (int c = 0; c < 3; ++c)
        worst = std::max(worst, std::abs(int(im.rgb[size_t((y * 16 + x) * 3 + c)]) - int(expected(x, y, c))));
  return worst;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const InvalidArgument& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no error";
}

TEST(ImageFile, LosslessSeedsDecodeExactly) {
  for (const char* name : {"rgb.png", "rgb-lossless.webp", "rgba.png", "rgba.webp"}) {
    const Image im = load_image(kSeeds + name);
    ASSERT_EQ(im.width, 16) << name;
    ASSERT_EQ(im.height, 8) << name;
    EXPECT_EQ(max_diff_to_seed(im, std::string(name) == "rgba.webp" ? 8 : 0), 0) << name;
  }
}

TEST(ImageFile, LossySeedsDecodeClose) {
  for (const char* name : {"rgb.jpg", "rgb-progressive.jpg", "rgb.webp"}) {
    const Image im = load_image(kSeeds + name);
    ASSERT_EQ(im.width * im.height, 128) << name;
    EXPECT_LE(max_diff_to_seed(im), 24) << name;
  }
}

TEST(ImageFile, GreyIsReplicatedAndAlphaBecomesTheMask) {
  const Image grey = load_image(kSeeds + "grey.png");
  for (size_t i = 0; i < grey.rgb.size(); i += 3) {
    EXPECT_EQ(grey.rgb[i], grey.rgb[i + 1]);
    EXPECT_EQ(grey.rgb[i], grey.rgb[i + 2]);
  }
  EXPECT_EQ(load_image(kSeeds + "grey16.png").width, 16);
  EXPECT_EQ(load_image(kSeeds + "grey.jpg").height, 8);
  EXPECT_EQ(load_image(kSeeds + "palette-trns.png").width, 16);
  // rgba.*: transparent for x < 8, opaque from x = 8: the mask is white (repaint) on the left.
  for (const char* name : {"rgba.png", "rgba.webp"}) {
    const Image mask = load_image(kSeeds + name, AlphaUse::Transparent);
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 16; ++x)
        for (int c = 0; c < 3; ++c) ASSERT_EQ(mask.rgb[size_t((y * 16 + x) * 3 + c)], x < 8 ? 255 : 0) << name;
  }
  EXPECT_NE(error_of([] { load_image(kSeeds + "rgb.png", AlphaUse::Transparent); }).find("no alpha channel"),
            std::string::npos);
}

TEST(ImageFile, TruncatedFilesAreRefusedNamingTheFile) {
  TempDir dir;
  for (const char* name : {"rgb.png", "rgb.jpg", "rgb-progressive.jpg", "rgb.webp", "rgb-lossless.webp",
                           "rgba.png", "palette-trns.png"}) {
    const std::string bytes = read_bytes(kSeeds + name);
    for (size_t keep : {bytes.size() / 2, bytes.size() - 3, size_t(20), size_t(2)}) {
      const std::string path = dir / ("cut-" + std::to_string(keep) + "-" + name);
      write_file(path, bytes.substr(0, keep));
      const std::string e = error_of([&] { load_image(path); });
      EXPECT_NE(e.find(path), std::string::npos) << name << " cut to " << keep << ": " << e;
    }
  }
}

TEST(ImageFile, NotAnImageEmptyMissingAndFolders) {
  TempDir dir;
  write_file(dir / "text.png", "this is not an image at all");
  EXPECT_NE(error_of([&] { load_image(dir / "text.png"); }).find("not a PNG, JPEG or WebP"), std::string::npos);
  write_file(dir / "empty.jpg", "");
  EXPECT_NE(error_of([&] { load_image(dir / "empty.jpg"); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([&] { load_image(dir / "missing.png"); }).find("does not exist"), std::string::npos);
  EXPECT_NE(error_of([&] { load_image(dir.path()); }).find("not a regular file"), std::string::npos);
}

// CRC-32 of PNG chunks (ISO 3309), to keep a rewritten IHDR valid.
uint32_t crc32(const std::string& data) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

void put_be32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + size_t(i)] = char((v >> (24 - 8 * i)) & 0xFF);
}

TEST(ImageFile, HugeDimensionsAreRefusedBeforeDecoding) {
  TempDir dir;
  // PNG: IHDR says 20000 x 20000 (the IDAT is the 16x8 one: decoding would fail much later).
  std::string png = read_bytes(kSeeds + "rgb.png");
  put_be32(png, 16, 20000);
  put_be32(png, 20, 20000);
  put_be32(png, 29, crc32(png.substr(12, 17)));
  write_file(dir / "bomb.png", png);
  std::string e = error_of([&] { load_image(dir / "bomb.png"); });
  EXPECT_NE(e.find("over the limit"), std::string::npos) << e;
  EXPECT_NE(e.find("bomb.png"), std::string::npos) << e;
  // JPEG: the baseline frame header (FFC0) says 60000 x 60000.
  std::string jpg = read_bytes(kSeeds + "rgb.jpg");
  const size_t sof = jpg.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  jpg[sof + 5] = jpg[sof + 7] = char(0xEA);
  jpg[sof + 6] = jpg[sof + 8] = char(0x60);
  write_file(dir / "bomb.jpg", jpg);
  e = error_of([&] { load_image(dir / "bomb.jpg"); });
  EXPECT_NE(e.find("60000x60000"), std::string::npos) << e;
  // Any format over caller-given limits.
  ImageLimits small;
  small.max_side = 8;
  for (const char* name : {"rgb.png", "rgb.jpg", "rgb.webp"}) {
    e = error_of([&] { load_image(kSeeds + name, AlphaUse::Drop, small); });
    EXPECT_NE(e.find("over the limit"), std::string::npos) << name << ": " << e;
  }
  small = ImageLimits{};
  small.max_file_bytes = 10;
  EXPECT_NE(error_of([&] { load_image(kSeeds + "rgb.jpg", AlphaUse::Drop, small); }).find("over the limit"),
            std::string::npos);
}

TEST(ImageFile, SaveImageRoundTripsEveryFormat) {
  TempDir dir;
  const Image seed = load_image(kSeeds + "rgb.png");
  for (const char* fmt : {"png", "jpeg", "webp"}) {
    const ImageFormat f = parse_image_format(fmt);
    const std::string path = dir / (std::string("out") + image_format_extension(f));
    save_image(seed, path, f, {{"parameters", "a test"}});
    const Image back = load_image(path);
    EXPECT_LE(max_diff_to_seed(back), f == ImageFormat::Png ? 0 : 24) << fmt;
    EXPECT_THROW(save_image(seed, path, f), Error) << fmt << ": an existing file must not be replaced";
    for (const auto& e : std::filesystem::directory_iterator(dir.path()))
      EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << e.path();
  }
  std::vector<PngText> text;
  load_png(dir / "out.png", &text);
  ASSERT_EQ(text.size(), 1u);
  EXPECT_EQ(text[0].second, "a test");
  EXPECT_THROW(parse_image_format("gif"), InvalidArgument);
}

}  // namespace
}  // namespace sdfast
