// Colour classification of demo-model images: nearest palette colour per pixel, background from
// the border frame, foreground as the most frequent other colour, and a bounding-box fill-ratio
// shape guess.
//
// Reference: models/demo/README.md, "Evaluation" (the metric's definition; on real dataset images
// it scores 1.00). Ties are broken towards the lower palette index, as numpy's argmin/argmax do.
#include <algorithm>

#include "core/error.h"
#include "adherence/adherence.h"

namespace sdfast {

const std::vector<PaletteColor>& demo_palette() {
  // Estimated from the demo model's own images; docs/demo.md ("Palette") says how.
  static const std::vector<PaletteColor> palette = {
      {"red", 215, 35, 30},     {"green", 30, 170, 40},   {"blue", 30, 70, 225},
      {"yellow", 240, 225, 30}, {"white", 240, 235, 240}, {"black", 15, 25, 20},
      {"purple", 140, 50, 190}, {"orange", 250, 140, 25},
  };
  return palette;
}

int nearest_palette_color(uint8_t r, uint8_t g, uint8_t b,
                          const std::vector<PaletteColor>& palette) {
  if (palette.empty()) fail_argument("nearest_palette_color: the palette is empty");
  int best = 0;
  int best_d = -1;
  for (size_t i = 0; i < palette.size(); ++i) {
    const int dr = int(r) - palette[i].r, dg = int(g) - palette[i].g, db = int(b) - palette[i].b;
    const int d = dr * dr + dg * dg + db * db;
    if (best_d < 0 || d < best_d) {
      best = int(i);
      best_d = d;
    }
  }
  return best;
}

ShapeGuess shape_from_fill_ratio(double fill_ratio) {
  if (!(fill_ratio > 0)) return ShapeGuess::None;
  if (fill_ratio > 0.89) return ShapeGuess::Square;
  if (fill_ratio > 0.64) return ShapeGuess::Circle;
  return ShapeGuess::Triangle;
}

// image: H x W RGB -> counts per palette colour, background, foreground and its bounding box.
ColorClassification classify_shape_image(const Image& image, const ClassifyOptions& options) {
  const std::vector<PaletteColor>& palette = options.palette;
  if (palette.empty()) fail_argument("classify_shape_image: the palette is empty");
  if (image.width <= 0 || image.height <= 0)
    fail_argument("classify_shape_image: empty image (", image.width, "x", image.height, ")");
  const size_t pixels = size_t(image.width) * size_t(image.height);
  if (image.rgb.size() != pixels * 3)
    fail_argument("classify_shape_image: a ", image.width, "x", image.height, " RGB image needs ",
                  pixels * 3, " bytes, got ", image.rgb.size());
  if (options.border < 1)
    fail_argument("classify_shape_image: the border must be at least 1 pixel, got ",
                  options.border);
  if (options.min_foreground_pixels < 1)
    fail_argument("classify_shape_image: min_foreground_pixels must be at least 1, got ",
                  options.min_foreground_pixels);

  const int w = image.width, h = image.height;
  std::vector<int> label(pixels);
  for (size_t i = 0; i < pixels; ++i)
    label[i] = nearest_palette_color(image.rgb[3 * i], image.rgb[3 * i + 1], image.rgb[3 * i + 2],
                                     palette);

  ColorClassification c;
  c.counts.assign(palette.size(), 0);
  std::vector<int64_t> border_counts(palette.size(), 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const int k = label[size_t(y) * w + x];
      ++c.counts[k];
      const bool in_border = x < options.border || y < options.border || x >= w - options.border ||
                             y >= h - options.border;
      if (in_border) ++border_counts[k];
    }
  // max_element returns the first maximum: ties go to the lower index.
  c.background =
      int(std::max_element(border_counts.begin(), border_counts.end()) - border_counts.begin());

  std::vector<int64_t> others = c.counts;
  others[c.background] = -1;
  const int fg = int(std::max_element(others.begin(), others.end()) - others.begin());
  if (palette.size() < 2 || others[fg] < options.min_foreground_pixels) return c;
  c.foreground = fg;
  c.foreground_pixels = c.counts[fg];

  c.bbox_x0 = w;
  c.bbox_y0 = h;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (label[size_t(y) * w + x] == fg) {
        c.bbox_x0 = std::min(c.bbox_x0, x);
        c.bbox_y0 = std::min(c.bbox_y0, y);
        c.bbox_x1 = std::max(c.bbox_x1, x + 1);
        c.bbox_y1 = std::max(c.bbox_y1, y + 1);
      }
  const double bbox_area = double(c.bbox_x1 - c.bbox_x0) * double(c.bbox_y1 - c.bbox_y0);
  c.fill_ratio = double(c.foreground_pixels) / bbox_area;
  c.shape = shape_from_fill_ratio(c.fill_ratio);
  return c;
}

}  // namespace sdfast
