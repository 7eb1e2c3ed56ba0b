#include <gtest/gtest.h>

#include <filesystem>

#include "sdfast/error.h"
#include "sdfast/image.h"

namespace sdfast {
namespace {

namespace fs = std::filesystem;

Image solid(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  Image im{w, h, {}};
  for (int i = 0; i < w * h; ++i) im.rgb.insert(im.rgb.end(), {r, g, b});
  return im;
}

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("sdfast-image-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(ImageGrid, PastesRowByRow) {
  std::vector<Image> ims{solid(2, 3, 1, 0, 0), solid(2, 3, 2, 0, 0), solid(2, 3, 3, 0, 0), solid(2, 3, 4, 0, 0)};
  Image g = make_image_grid(ims, 2, 2);
  ASSERT_EQ(g.width, 4);
  ASSERT_EQ(g.height, 6);
  auto at = [&](int x, int y) { return g.rgb[(size_t(y) * 4 + size_t(x)) * 3]; };
  EXPECT_EQ(at(0, 0), 1);
  EXPECT_EQ(at(3, 2), 2);
  EXPECT_EQ(at(1, 3), 3);
  EXPECT_EQ(at(2, 5), 4);
  EXPECT_THROW(make_image_grid(ims, 1, 3), InvalidArgument);
  ims[1] = solid(3, 3, 0, 0, 0);
  EXPECT_THROW(make_image_grid(ims, 2, 2), InvalidArgument);
}

TEST(Png, RoundTripWithUtf8TextAndNoOverwrite) {
  fs::path d = temp_dir("png");
  Image im = solid(5, 4, 10, 200, 30);
  im.rgb[0] = 255;
  const std::string path = (d / "a.png").string();
  save_png(im, path, {{"parameters", "a photo of 東京, Seed: 1"}});
  std::vector<PngText> text;
  Image back = load_png(path, &text);
  EXPECT_EQ(back.width, 5);
  EXPECT_EQ(back.height, 4);
  EXPECT_EQ(back.rgb, im.rgb);
  ASSERT_EQ(text.size(), 1u);
  EXPECT_EQ(text[0].first, "parameters");
  EXPECT_EQ(text[0].second, "a photo of 東京, Seed: 1");
  EXPECT_THROW(save_png(solid(1, 1, 0, 0, 0), path), Error);
  EXPECT_EQ(load_png(path).width, 5);  // untouched
  save_png(solid(1, 1, 0, 0, 0), path, {}, /*overwrite=*/true);
  EXPECT_EQ(load_png(path).width, 1);
  for (const auto& e : fs::directory_iterator(d)) EXPECT_EQ(e.path().extension(), ".png") << e.path();
  EXPECT_THROW(save_png(im, (d / "missing" / "x.png").string()), Error);
  EXPECT_THROW(load_png((d / "nope.png").string()), Error);
  fs::remove_all(d);
}

TEST(Upscale, NearestAndBilinear) {
  Image im = solid(2, 1, 0, 0, 0);
  im.rgb[3] = 200;
  Image n = upscale(im, 3, UpscaleFilter::Nearest);
  EXPECT_EQ(n.width, 6);
  EXPECT_EQ(n.rgb[2 * 3], 0);
  EXPECT_EQ(n.rgb[3 * 3], 200);
  Image b = upscale(im, 4, UpscaleFilter::Bilinear);
  EXPECT_EQ(b.rgb[0], 0);
  EXPECT_EQ(b.rgb[7 * 3], 200);
  EXPECT_GT(b.rgb[4 * 3], 0);
  EXPECT_LT(b.rgb[4 * 3], 200);
  EXPECT_THROW(upscale(im, 0, UpscaleFilter::Nearest), InvalidArgument);
}

}  // namespace
}  // namespace sdfast
