// Prompt adherence on the bundled demo model (coloured shapes on plain backgrounds): prompts
// `a COLOR SHAPE on a BG background`, and a classifier that reads an image's background and shape
// colour by nearest-palette-colour counting (models/demo/README.md, "Evaluation").
//
//   for (const sdfast::ShapePrompt& p : sdfast::random_shape_prompts(50, 2024)) {
//     ... generate one image for p.text() ...
//     sdfast::ColorClassification c = sdfast::classify_shape_image(image);
//     bool hit = c.background == p.background && c.foreground == p.color;
//   }
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sdfast/image.h"

namespace sdfast {

struct PaletteColor {
  std::string name;
  uint8_t r = 0, g = 0, b = 0;
};

// The demo data's 8 colours, in the README's order: red, green, blue, yellow, white, black,
// purple, orange. The generator's RGB values are not published; these are estimates read from the
// demo model's own images (see docs/demo.md, "Palette").
const std::vector<PaletteColor>& demo_palette();
// The demo data's 3 shapes: circle, square, triangle.
const std::vector<std::string>& demo_shapes();

// One prompt `a COLOR SHAPE on a BG background` ("an" before a vowel), by indices into
// demo_palette() and demo_shapes().
struct ShapePrompt {
  int color = 0;
  int shape = 0;
  int background = 0;
  std::string text() const;
};

// `count` prompts drawn with Python's random module, as a reconstruction of the demo evaluation's
// "50 prompts (random, seed 2024)" (the script is not published; docs/demo.md lists the readings
// tried and their scores):
//   rng = random.Random(seed)
//   for each prompt: color, background = rng.sample(COLORS, 2); shape = rng.choice(SHAPES)
// Python's Mersenne Twister and sample/choice are reproduced exactly.
std::vector<ShapePrompt> random_shape_prompts(int count, uint64_t seed);

// Parses `a COLOR SHAPE on a BG background` (article a/an, case and surrounding spaces ignored).
// Throws InvalidArgument quoting the text when it is not of that form or names an unknown colour
// or shape.
ShapePrompt parse_shape_prompt(const std::string& text);

struct ClassifyOptions {
  int border = 2;                  // width in pixels of the frame that decides the background
  int min_foreground_pixels = 20;  // the foreground colour needs at least this many pixels
  std::vector<PaletteColor> palette = demo_palette();
};

// Guessed from how much of its bounding box the foreground colour fills (square ~1, circle
// ~pi/4, triangle ~1/2). A rough heuristic: blurry or fragmented shapes fool it.
enum class ShapeGuess { None = -1, Circle = 0, Square = 1, Triangle = 2 };

struct ColorClassification {
  std::vector<int64_t> counts;  // pixels per palette colour (every pixel of the image)
  int background = -1;          // palette index: the most frequent colour of the border frame
  int foreground = -1;          // palette index, or -1 when no other colour has enough pixels
  int64_t foreground_pixels = 0;
  // Bounding box of the foreground colour's pixels [x0, x1) x [y0, y1), and the share of it they
  // fill (0 without a foreground).
  int bbox_x0 = 0, bbox_y0 = 0, bbox_x1 = 0, bbox_y1 = 0;
  double fill_ratio = 0;
  ShapeGuess shape = ShapeGuess::None;
};

// Index of the palette colour nearest to (r, g, b) in squared RGB distance; ties go to the lower
// index. Throws InvalidArgument on an empty palette.
int nearest_palette_color(uint8_t r, uint8_t g, uint8_t b,
                          const std::vector<PaletteColor>& palette);

// Each pixel is assigned its nearest palette colour. Background: the colour most frequent among
// the pixels of the `border`-pixel frame. Foreground: the most frequent other colour over the whole
// image, if it has at least `min_foreground_pixels` pixels. Ties go to the lower palette index.
// Throws InvalidArgument for an empty image, a wrong pixel buffer size, an empty palette, or a
// border or pixel threshold that is not positive.
ColorClassification classify_shape_image(const Image& image, const ClassifyOptions& options = {});

// The shape guess for a fill ratio: > 0.89 square, > 0.64 circle, else triangle (the midpoints
// between 1, pi/4 and 1/2).
ShapeGuess shape_from_fill_ratio(double fill_ratio);

}  // namespace sdfast
