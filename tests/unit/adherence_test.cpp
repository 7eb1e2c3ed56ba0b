// The demo model's prompt-adherence check: Python's random.Random, the prompt list, the
// nearest-palette-colour classifier (synthetic images with known answers), real generated images,
// and a smoke run of `sdfast adherence`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "random/python_random.h"
#include "adherence/adherence.h"
#include "sdfast/error.h"
#include "sdfast/pipeline.h"

namespace sdfast {
namespace {

namespace fs = std::filesystem;

// ---- Python's random.Random (expected values printed by CPython 3.11) ----

TEST(PythonRandom, MatchesCPythonGetrandbits) {
  // random.Random(2024).getrandbits(32), three times
  PythonRandom r(2024);
  EXPECT_EQ(r.getrandbits(32), 2019024262u);
  EXPECT_EQ(r.getrandbits(32), 780421486u);
  EXPECT_EQ(r.getrandbits(32), 3127871324u);
  // Seed 0 (the single key word {0}) and a seed above 2^32 (two key words).
  PythonRandom zero(0);
  EXPECT_EQ(zero.getrandbits(32), 3626764237u);
  EXPECT_EQ(zero.getrandbits(32), 1654615998u);
  PythonRandom big((uint64_t(1) << 40) + 5);
  EXPECT_EQ(big.getrandbits(32), 2166296868u);
  EXPECT_EQ(big.getrandbits(32), 2220160828u);
}

TEST(PythonRandom, SecondBlockOfTheStateIsRight) {
  // The 700th output comes after one regeneration of the 624-word state.
  PythonRandom r(2024);
  uint32_t last = 0;
  for (int i = 0; i < 700; ++i) last = r.next_uint32();
  EXPECT_EQ(last, 2882124985u);
}

TEST(PythonRandom, RandbelowAndShortGetrandbits) {
  // r = random.Random(7); [r.randrange(3) for _ in range(12)], [r.getrandbits(5) for _ in range(3)]
  PythonRandom r(7);
  const std::vector<uint32_t> expected = {1, 0, 1, 2, 0, 0, 2, 0, 1, 2, 0, 2};
  for (uint32_t e : expected) EXPECT_EQ(r.randbelow(3), e);
  EXPECT_EQ(r.getrandbits(5), 6u);
  EXPECT_EQ(r.getrandbits(5), 1u);
  EXPECT_EQ(r.getrandbits(5), 2u);
  EXPECT_THROW(r.getrandbits(33), Error);
  EXPECT_THROW(r.randbelow(0), Error);
}

// ---- prompts ----

TEST(PythonRandom, SampleMatchesCPython) {
  // r = random.Random(5); r.sample(range(8), 2), r.sample(range(8), 2)
  PythonRandom r(5);
  EXPECT_EQ(r.sample_indices(8, 2), (std::vector<uint32_t>{4, 5}));
  EXPECT_EQ(r.sample_indices(8, 2), (std::vector<uint32_t>{5, 6}));
  // Large populations go through the set branch: random.Random(11).sample(range(100), 3) and
  // random.Random(13).sample(range(1000), 10); k > 5 widens the pool branch:
  // random.Random(12).sample(range(30), 10).
  EXPECT_EQ(PythonRandom(11).sample_indices(100, 3), (std::vector<uint32_t>{57, 71, 99}));
  EXPECT_EQ(PythonRandom(13).sample_indices(1000, 10),
            (std::vector<uint32_t>{265, 297, 701, 931, 700, 821, 869, 911, 190, 667}));
  EXPECT_EQ(PythonRandom(12).sample_indices(30, 10),
            (std::vector<uint32_t>{15, 8, 21, 16, 27, 11, 4, 12, 0, 24}));
  EXPECT_TRUE(PythonRandom(1).sample_indices(3, 0).empty());
  EXPECT_THROW(PythonRandom(1).sample_indices(2, 3), Error);
}

TEST(ShapePrompts, RandomListIsPythonsSampleAndChoiceSequence) {
  // The same draws in Python:
  //   r = random.Random(2024); c, b = r.sample(COLORS, 2); s = r.choice(SHAPES)
  const std::vector<ShapePrompt> p = random_shape_prompts(50, 2024);
  ASSERT_EQ(p.size(), 50u);
  const std::vector<std::string> first = {
      "an orange triangle on a green background",  "a white triangle on a green background",
      "a purple triangle on an orange background", "a white circle on an orange background",
      "an orange square on a blue background",     "a yellow triangle on a blue background"};
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(p[i].text(), first[i]) << i;
  EXPECT_EQ(p[49].text(), "a green circle on a white background");
  for (const ShapePrompt& q : p) EXPECT_NE(q.color, q.background);
  // A prefix of a longer list is the shorter list.
  EXPECT_EQ(random_shape_prompts(4, 2024)[3].text(), p[3].text());
  EXPECT_TRUE(random_shape_prompts(0, 2024).empty());
  EXPECT_THROW(random_shape_prompts(-1, 2024), InvalidArgument);
}

TEST(ShapePrompts, ParseRoundTripsAndRejects) {
  for (const ShapePrompt& p : random_shape_prompts(50, 1)) {
    const ShapePrompt q = parse_shape_prompt(p.text());
    EXPECT_EQ(q.color, p.color);
    EXPECT_EQ(q.shape, p.shape);
    EXPECT_EQ(q.background, p.background);
  }
  const ShapePrompt p = parse_shape_prompt("  An ORANGE square on a   blue background ");
  EXPECT_EQ(demo_palette()[p.color].name, "orange");
  EXPECT_EQ(demo_shapes()[p.shape], "square");
  EXPECT_EQ(demo_palette()[p.background].name, "blue");

  const auto message = [](const std::string& text) {
    try {
      parse_shape_prompt(text);
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("a red circle on a blue").find("not of the form"), std::string::npos);
  EXPECT_NE(message("a small red circle on a blue background").find("not of the form"),
            std::string::npos);
  EXPECT_NE(message("a pink circle on a blue background").find("unknown colour 'pink'"),
            std::string::npos);
  EXPECT_NE(message("a red circle on a teal background").find("unknown colour 'teal'"),
            std::string::npos);
  EXPECT_NE(message("a red star on a blue background").find("unknown shape 'star'"),
            std::string::npos);
  EXPECT_NE(message("a red circle on a red background").find("same colour"), std::string::npos);
  EXPECT_NE(message("").find("not of the form"), std::string::npos);
  // Long input is quoted shortened, not whole.
  EXPECT_LT(message(std::string(5000, 'x')).size(), 200u);
}

// ---- the classifier on synthetic images ----

Image solid(int w, int h, const PaletteColor& c) {
  Image im{w, h, {}};
  for (int i = 0; i < w * h; ++i) im.rgb.insert(im.rgb.end(), {c.r, c.g, c.b});
  return im;
}

void paint(Image& im, int x, int y, const PaletteColor& c) {
  uint8_t* p = &im.rgb[(size_t(y) * im.width + x) * 3];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

void fill_rect(Image& im, int x0, int y0, int x1, int y1, const PaletteColor& c) {
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) paint(im, x, y, c);
}

int color_index(const std::string& name) {
  const auto& p = demo_palette();
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i].name == name) return int(i);
  ADD_FAILURE() << "no colour " << name;
  return -1;
}

const PaletteColor& color(const std::string& name) { return demo_palette()[color_index(name)]; }

TEST(NearestPaletteColor, MapsToTheNearestAndBreaksTiesLow) {
  const auto& palette = demo_palette();
  ASSERT_EQ(palette.size(), 8u);
  for (size_t i = 0; i < palette.size(); ++i)
    EXPECT_EQ(nearest_palette_color(palette[i].r, palette[i].g, palette[i].b, palette), int(i));
  EXPECT_EQ(nearest_palette_color(255, 0, 0, palette), color_index("red"));
  EXPECT_EQ(nearest_palette_color(0, 0, 0, palette), color_index("black"));
  EXPECT_EQ(nearest_palette_color(255, 255, 255, palette), color_index("white"));
  EXPECT_EQ(nearest_palette_color(255, 255, 0, palette), color_index("yellow"));
  EXPECT_EQ(nearest_palette_color(255, 165, 0, palette), color_index("orange"));
  EXPECT_EQ(nearest_palette_color(0, 128, 0, palette), color_index("green"));
  EXPECT_EQ(nearest_palette_color(128, 0, 128, palette), color_index("purple"));
  EXPECT_EQ(nearest_palette_color(0, 0, 255, palette), color_index("blue"));
  // Equidistant from both entries: the lower index wins.
  const std::vector<PaletteColor> two = {{"a", 10, 0, 0}, {"b", 20, 0, 0}};
  EXPECT_EQ(nearest_palette_color(15, 0, 0, two), 0);
  EXPECT_EQ(nearest_palette_color(16, 0, 0, two), 1);
  EXPECT_THROW(nearest_palette_color(0, 0, 0, {}), InvalidArgument);
}

TEST(ClassifyShapeImage, SquareOnPlainBackground) {
  Image im = solid(64, 64, color("blue"));
  fill_rect(im, 20, 24, 40, 44, color("red"));  // 20 x 20
  const ColorClassification c = classify_shape_image(im);
  EXPECT_EQ(c.background, color_index("blue"));
  EXPECT_EQ(c.foreground, color_index("red"));
  EXPECT_EQ(c.foreground_pixels, 400);
  EXPECT_EQ(c.counts[color_index("blue")], 64 * 64 - 400);
  EXPECT_EQ(c.bbox_x0, 20);
  EXPECT_EQ(c.bbox_y0, 24);
  EXPECT_EQ(c.bbox_x1, 40);
  EXPECT_EQ(c.bbox_y1, 44);
  EXPECT_DOUBLE_EQ(c.fill_ratio, 1.0);
  EXPECT_EQ(c.shape, ShapeGuess::Square);
}

TEST(ClassifyShapeImage, CircleAndTriangleFillRatios) {
  Image circle = solid(64, 64, color("white"));
  Image triangle = solid(64, 64, color("white"));
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) {
      if (std::hypot(x + 0.5 - 32, y + 0.5 - 32) < 15) paint(circle, x, y, color("green"));
      // apex at the top (y = 12), base 40 wide at y = 52
      if (y >= 12 && y < 52 && std::abs(x + 0.5 - 32) < (y + 0.5 - 12) / 2)
        paint(triangle, x, y, color("green"));
    }
  const ColorClassification c = classify_shape_image(circle);
  EXPECT_EQ(c.foreground, color_index("green"));
  EXPECT_NEAR(c.fill_ratio, M_PI / 4, 0.03);
  EXPECT_EQ(c.shape, ShapeGuess::Circle);
  const ColorClassification t = classify_shape_image(triangle);
  EXPECT_EQ(t.foreground, color_index("green"));
  EXPECT_NEAR(t.fill_ratio, 0.5, 0.03);
  EXPECT_EQ(t.shape, ShapeGuess::Triangle);
  EXPECT_EQ(shape_from_fill_ratio(0), ShapeGuess::None);
  EXPECT_EQ(shape_from_fill_ratio(0.9), ShapeGuess::Square);
  EXPECT_EQ(shape_from_fill_ratio(0.7), ShapeGuess::Circle);
  EXPECT_EQ(shape_from_fill_ratio(0.6), ShapeGuess::Triangle);
}

TEST(ClassifyShapeImage, BackgroundIsTheBorderMajorityNotTheImageMajority) {
  // The 2-pixel frame of a 16x16 image has 16*16 - 12*12 = 112 pixels. Paint 60 of them green and
  // 52 white; the 144 inner pixels are white, so white is the image majority.
  Image im = solid(16, 16, color("white"));
  int painted = 0;
  for (int y = 0; y < 16 && painted < 60; ++y)
    for (int x = 0; x < 16 && painted < 60; ++x)
      if (x < 2 || y < 2 || x >= 14 || y >= 14) {
        paint(im, x, y, color("green"));
        ++painted;
      }
  const ColorClassification c = classify_shape_image(im);
  EXPECT_EQ(c.background, color_index("green"));
  EXPECT_EQ(c.foreground, color_index("white"));
  EXPECT_EQ(c.foreground_pixels, 16 * 16 - 60);
}

TEST(ClassifyShapeImage, BorderWidthDecides) {
  // 16x16 yellow; 31 of the 60 outermost pixels red (the top row and the left column).
  Image im = solid(16, 16, color("yellow"));
  fill_rect(im, 0, 0, 16, 1, color("red"));
  fill_rect(im, 0, 1, 1, 16, color("red"));
  // 1-pixel frame: red 31, yellow 29. 2-pixel frame (112 pixels): red 31, yellow 81.
  EXPECT_EQ(classify_shape_image(im, {.border = 1}).background, color_index("red"));
  const ColorClassification c = classify_shape_image(im);
  EXPECT_EQ(c.background, color_index("yellow"));
  EXPECT_EQ(c.foreground, color_index("red"));
  EXPECT_EQ(c.foreground_pixels, 31);
}

TEST(ClassifyShapeImage, ForegroundNeedsTwentyPixels) {
  Image im = solid(32, 32, color("black"));
  for (int i = 0; i < 19; ++i) paint(im, 8 + i % 10, 8 + i / 10, color("yellow"));
  ColorClassification c = classify_shape_image(im);
  EXPECT_EQ(c.background, color_index("black"));
  EXPECT_EQ(c.foreground, -1);
  EXPECT_EQ(c.foreground_pixels, 0);
  EXPECT_EQ(c.shape, ShapeGuess::None);
  EXPECT_EQ(c.counts[color_index("yellow")], 19);
  paint(im, 20, 20, color("yellow"));  // the 20th pixel
  c = classify_shape_image(im);
  EXPECT_EQ(c.foreground, color_index("yellow"));
  EXPECT_EQ(c.foreground_pixels, 20);
  EXPECT_EQ(classify_shape_image(im, {.min_foreground_pixels = 21}).foreground, -1);
}

TEST(ClassifyShapeImage, TiesGoToTheLowerPaletteIndex) {
  // Border: left half red, right half green (equal counts); red comes first in the palette.
  Image im = solid(8, 8, color("green"));
  fill_rect(im, 0, 0, 4, 8, color("red"));
  ColorClassification c = classify_shape_image(im);
  EXPECT_EQ(c.counts[color_index("red")], c.counts[color_index("green")]);
  EXPECT_EQ(c.background, color_index("red"));
  EXPECT_EQ(c.foreground, color_index("green"));
  // Foreground tie: 25 purple and 25 blue pixels inside a black frame; blue (index 2) beats
  // purple (index 6).
  Image fg = solid(32, 32, color("black"));
  fill_rect(fg, 5, 5, 10, 10, color("purple"));
  fill_rect(fg, 15, 15, 20, 20, color("blue"));
  c = classify_shape_image(fg);
  EXPECT_EQ(c.background, color_index("black"));
  EXPECT_EQ(c.foreground, color_index("blue"));
  EXPECT_EQ(c.foreground_pixels, 25);
}

TEST(ClassifyShapeImage, OffPaletteColoursSnapToTheNearest) {
  // A pure (255, 0, 0) disc on a (0, 0, 0) background reads as red on black.
  Image im{32, 32, std::vector<uint8_t>(32 * 32 * 3, 0)};
  for (int y = 10; y < 20; ++y)
    for (int x = 10; x < 20; ++x) im.rgb[(size_t(y) * 32 + x) * 3] = 255;
  const ColorClassification c = classify_shape_image(im);
  EXPECT_EQ(c.background, color_index("black"));
  EXPECT_EQ(c.foreground, color_index("red"));
}

TEST(ClassifyShapeImage, RejectsBadInput) {
  EXPECT_THROW(classify_shape_image(Image{}), InvalidArgument);
  Image short_buffer = solid(4, 4, color("red"));
  short_buffer.rgb.pop_back();
  EXPECT_THROW(classify_shape_image(short_buffer), InvalidArgument);
  EXPECT_THROW(classify_shape_image(solid(4, 4, color("red")), {.border = 0}), InvalidArgument);
  EXPECT_THROW(classify_shape_image(solid(4, 4, color("red")), {.min_foreground_pixels = 0}),
               InvalidArgument);
  EXPECT_THROW(classify_shape_image(solid(4, 4, color("red")), {.palette = {}}), InvalidArgument);
  // A border wider than half the image is the whole image.
  const ColorClassification c = classify_shape_image(solid(4, 4, color("red")), {.border = 9});
  EXPECT_EQ(c.background, color_index("red"));
  EXPECT_EQ(c.foreground, -1);
}

// ---- real images from the demo model ----

std::string demo_model() { return std::string(SDFAST_SOURCE_DIR) + "/models/demo/shapes-pipeline"; }

Image generate_one(Pipeline& pipe, const std::string& prompt, uint64_t seed) {
  GenerateRequest req;
  req.prompts = {prompt};
  req.num_inference_steps = 25;
  req.guidance_scale = 5.0;
  req.seeds = {seed};
  return pipe.generate(req).images.at(0);
}

// Two images of the 50-prompt check (prompts 10 and 5, seeds 109 and 104) whose colours were
// checked by eye: large margins, so float32 rounding differences between machines cannot flip them.
TEST(AdherenceOnDemoModel, ClassifiesRealImagesAsSeen) {
  auto pipe = Pipeline::from_pretrained(demo_model());
  {
    // A hit: a blue disc on a white background.
    const Image im = generate_one(*pipe, "a blue circle on a white background", 109);
    const ColorClassification c = classify_shape_image(im);
    EXPECT_EQ(c.background, color_index("white"));
    EXPECT_EQ(c.foreground, color_index("blue"));
    EXPECT_GT(c.foreground_pixels, 450);  // 618 when checked
    EXPECT_EQ(c.shape, ShapeGuess::Circle);
  }
  {
    // A miss: asked for an orange square on blue, the model drew a yellow blob with an orange rim.
    const Image im = generate_one(*pipe, "an orange square on a blue background", 104);
    const ColorClassification c = classify_shape_image(im);
    EXPECT_EQ(c.background, color_index("blue"));
    EXPECT_EQ(c.foreground, color_index("yellow"));
    EXPECT_GT(c.foreground_pixels, 400);  // 569 yellow and 146 orange when checked
    EXPECT_GT(c.foreground_pixels, 2 * c.counts[color_index("orange")]);
  }
}

// ---- `sdfast adherence` end to end ----

struct CommandResult {
  int status = -1;
  std::string output;
};

CommandResult run_sdfast(const std::string& args) {
  CommandResult r;
  const std::string cmd = std::string(SDFAST_BINARY) + " " + args + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() /
               ("sdfast-adherence-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(AdherenceCommand, SmokeRunOfFourPrompts) {
  const fs::path dir = temp_dir("smoke");
  const fs::path json_path = dir / "adherence.json";
  const CommandResult r = run_sdfast("adherence --prompts 4 --json " + json_path.string() +
                                     " --save-images " + (dir / "images").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("colour + background correct: "), std::string::npos) << r.output;
  std::ifstream in(json_path);
  ASSERT_TRUE(in) << r.output;
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_EQ(j.at("total").get<int>(), 4);
  const double score = j.at("color_score").get<double>();
  EXPECT_GE(score, 0.0);
  EXPECT_LE(score, 1.0);
  EXPECT_EQ(j.at("color_hits").get<int>(), int(std::lround(score * 4)));
  const std::vector<ShapePrompt> expected = random_shape_prompts(4, 2024);
  ASSERT_EQ(j.at("results").size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(j["results"][i].at("prompt").get<std::string>(), expected[i].text());
    EXPECT_EQ(j["results"][i].at("seed").get<uint64_t>(), 100 + i);
  }
  size_t pngs = 0;
  for (const auto& e : fs::directory_iterator(dir / "images"))
    pngs += e.path().extension() == ".png";
  EXPECT_EQ(pngs, 4u);
  fs::remove_all(dir);
}

TEST(AdherenceCommand, RejectsBadArguments) {
  const fs::path dir = temp_dir("bad");
  CommandResult r = run_sdfast("adherence --prompts 0");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--prompts must be between"), std::string::npos) << r.output;

  const fs::path file = dir / "prompts.txt";
  std::ofstream(file) << "# two prompts\na red circle on a blue background\n\na red blob on a blue "
                         "background\n";
  r = run_sdfast("adherence --prompts-file " + file.string());
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("prompts.txt:4: prompt 'a red blob on a blue background'"),
            std::string::npos)
      << r.output;

  r = run_sdfast("adherence --prompts-file " + (dir / "missing.txt").string());
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("cannot read --prompts-file"), std::string::npos) << r.output;

  const fs::path big = dir / "big.txt";
  std::ofstream(big) << std::string(2 << 20, '#');
  r = run_sdfast("adherence --prompts-file " + big.string());
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("larger than 1 MiB"), std::string::npos) << r.output;

  r = run_sdfast("adherence --guidance nan");
  EXPECT_EQ(r.status, 2) << r.output;
  r = run_sdfast("adherence --first-seed 18446744073709551615 --prompts 2");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("overflows"), std::string::npos) << r.output;
  r = run_sdfast("adherence --prompts 3 --prompts-file " + file.string());
  EXPECT_EQ(r.status, 2) << r.output;  // the two are exclusive
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sdfast
