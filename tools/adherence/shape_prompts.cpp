// Prompts of the demo model's adherence check: `a COLOR SHAPE on a BG background`, drawn at random
// as the demo's evaluation script drew them, or parsed from text.
//
// Reference: models/demo/README.md ("Data" for the vocabulary and captions, "Evaluation" for the
// 50 prompts "random, seed 2024"); the drawing order is the reconstruction argued in docs/demo.md.
#include <algorithm>
#include <cctype>
#include <sstream>

#include "core/error.h"
#include "random/python_random.h"
#include "adherence/adherence.h"

namespace sdfast {

namespace {

std::string with_article(const std::string& word) {
  const bool vowel = !word.empty() && std::string("aeiou").find(word[0]) != std::string::npos;
  return (vowel ? "an " : "a ") + word;
}

int index_of(const std::string& word, const std::vector<std::string>& names) {
  const auto it = std::find(names.begin(), names.end(), word);
  return it == names.end() ? -1 : int(it - names.begin());
}

std::vector<std::string> color_names() {
  std::vector<std::string> names;
  for (const PaletteColor& c : demo_palette()) names.push_back(c.name);
  return names;
}

// The prompt as quoted in messages: at most 80 bytes, cut before a UTF-8 continuation byte.
std::string quoted(const std::string& text) {
  size_t cut = text.size();
  if (cut > 80) {
    cut = 77;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  }
  std::string q = "'";
  q.append(text, 0, cut);
  q += cut < text.size() ? "...'" : "'";
  return q;
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

const std::vector<std::string>& demo_shapes() {
  static const std::vector<std::string> shapes = {"circle", "square", "triangle"};
  return shapes;
}

std::string ShapePrompt::text() const {
  const auto& palette = demo_palette();
  const auto& shapes = demo_shapes();
  SDFAST_CHECK(color >= 0 && color < int(palette.size()) && background >= 0 &&
                   background < int(palette.size()) && shape >= 0 && shape < int(shapes.size()),
               "ShapePrompt: index out of range (color ", color, ", shape ", shape, ", background ",
               background, ")");
  return with_article(palette[color].name) + " " + shapes[shape] + " on " +
         with_article(palette[background].name) + " background";
}

std::vector<ShapePrompt> random_shape_prompts(int count, uint64_t seed) {
  if (count < 0) fail_argument("random_shape_prompts: count must not be negative, got ", count);
  const uint32_t n_colors = uint32_t(demo_palette().size());
  const uint32_t n_shapes = uint32_t(demo_shapes().size());
  PythonRandom rng(seed);
  std::vector<ShapePrompt> prompts;
  prompts.reserve(size_t(count));
  for (int i = 0; i < count; ++i) {
    // color, background = rng.sample(COLORS, 2); shape = rng.choice(SHAPES)
    const std::vector<uint32_t> two = rng.sample_indices(n_colors, 2);
    ShapePrompt p;
    p.color = int(two[0]);
    p.background = int(two[1]);
    p.shape = int(rng.choice_index(n_shapes));
    prompts.push_back(p);
  }
  return prompts;
}

ShapePrompt parse_shape_prompt(const std::string& text) {
  std::string lower = text;
  for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  std::istringstream in(lower);
  std::vector<std::string> w;
  for (std::string word; in >> word;) w.push_back(word);
  const auto is_article = [](const std::string& s) { return s == "a" || s == "an"; };
  if (w.size() != 7 || !is_article(w[0]) || w[3] != "on" || !is_article(w[4]) ||
      w[6] != "background")
    fail_argument("prompt ", quoted(text),
                  " is not of the form 'a COLOR SHAPE on a BG background'");
  const std::vector<std::string> colors = color_names();
  ShapePrompt p;
  p.color = index_of(w[1], colors);
  p.shape = index_of(w[2], demo_shapes());
  p.background = index_of(w[5], colors);
  if (p.color < 0 || p.background < 0)
    fail_argument("prompt ", quoted(text), ": unknown colour '", p.color < 0 ? w[1] : w[5],
                  "' (known: ", joined(colors), ")");
  if (p.shape < 0)
    fail_argument("prompt ", quoted(text), ": unknown shape '", w[2],
                  "' (known: ", joined(demo_shapes()), ")");
  if (p.color == p.background)
    fail_argument("prompt ", quoted(text), ": the shape and the background have the same colour");
  return p;
}

}  // namespace sdfast
