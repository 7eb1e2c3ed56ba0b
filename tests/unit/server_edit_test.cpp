// `sdfast serve`'s edit requests (tools/server/): the form of POST /v1/images/edits and the body of
// POST /sdapi/v1/img2img parsed into an ImageSpec with decoded, checked images; hostile files,
// sizes, masks and strengths; the A1111 response; a finished job dropping its input pixels.
#include <gtest/gtest.h>

#include <chrono>

#include "api_error.h"
#include "base64.h"
#include "edit_images.h"
#include "job_queue.h"
#include "openai_api.h"
#include "sdapi.h"
#include "server_test_util.h"

namespace sdfast::server {
namespace {

ParseContext context() { return test_context(); }

// A PNG file of a w x h image whose pixel (x, y) is `rgb(x, y)` (and alpha `alpha(x, y)` when given).
template <class Rgb>
std::string png(int w, int h, Rgb rgb) {
  Image im{w, h, std::vector<uint8_t>(size_t(w) * size_t(h) * 3)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const std::array<uint8_t, 3> p = rgb(x, y);
      std::copy(p.begin(), p.end(), im.rgb.begin() + (size_t(y) * size_t(w) + size_t(x)) * 3);
    }
  const std::vector<uint8_t> bytes = encode_png(im);
  return std::string(bytes.begin(), bytes.end());
}
std::string flat_png(int w, int h, uint8_t v) {
  return png(w, h, [v](int, int) { return std::array<uint8_t, 3>{v, v, v}; });
}
// Left half white, right half black: repaint the left half when read by grey value.
std::string half_mask(int w, int h) {
  return png(w, h, [w](int x, int) {
    const uint8_t v = x < w / 2 ? 255 : 0;
    return std::array<uint8_t, 3>{v, v, v};
  });
}

// A minimal RGBA PNG (the engine writes RGB only): one IDAT of stored (uncompressed) deflate blocks.
uint32_t crc32(const std::string& s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}
std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }
std::string chunk(const std::string& type, const std::string& data) {
  return be32(uint32_t(data.size())) + type + data + be32(crc32(type + data));
}
// w x h RGBA, transparent (alpha 0) where x < w / 2, opaque elsewhere; colour black.
std::string rgba_half_transparent(int w, int h) {
  std::string raw;
  for (int y = 0; y < h; ++y) {
    raw += '\0';  // filter: none
    for (int x = 0; x < w; ++x) raw += std::string{0, 0, 0, char(x < w / 2 ? 0 : 255)};
  }
  uint32_t a = 1, b = 0;  // adler32
  for (unsigned char c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  std::string z = "\x78\x01";
  z += '\x01';  // final stored block (raw stays under 65535 bytes here)
  const uint16_t len = uint16_t(raw.size());
  z += std::string{char(len & 0xFF), char(len >> 8), char(~len & 0xFF), char((~len >> 8) & 0xFF)};
  z += raw + be32((b << 16) | a);
  const std::string ihdr = be32(uint32_t(w)) + be32(uint32_t(h)) + std::string{8, 6, 0, 0, 0};
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", z) + chunk("IEND", "");
}

std::vector<FormField> form(std::initializer_list<std::pair<const char*, std::string>> fields) {
  std::vector<FormField> f;
  for (const auto& [name, content] : fields) f.push_back({name, content, "", ""});
  return f;
}

TEST(ServerEdit, OpenAiEditForm) {
  const ImageSpec s = parse_openai_edit(form({{"prompt", "a cat"},
                                              {"image[]", flat_png(16, 8, 100)},
                                              {"mask", rgba_half_transparent(16, 8)},
                                              {"n", "2"},
                                              {"size", "16x8"},
                                              {"strength", "0.6"},
                                              {"seed", "7"},
                                              {"steps", "3"},
                                              {"guidance_scale", "4.5"},
                                              {"output_format", "webp"},
                                              {"model", "gpt-image-1"},
                                              {"unknown", "x"}}),
                                        context());
  EXPECT_EQ(s.task, ImageTask::Inpaint);
  EXPECT_EQ(s.prompt, "a cat");
  EXPECT_EQ(s.images, 2);
  EXPECT_EQ(s.width, 16);
  EXPECT_EQ(s.height, 8);
  EXPECT_EQ(s.strength, 0.6);
  EXPECT_EQ(*s.seed, 7u);
  EXPECT_EQ(s.steps, 3);
  EXPECT_EQ(*s.guidance, 4.5);
  EXPECT_EQ(s.output_format, OutputFormat::Webp);
  EXPECT_EQ(s.ignored, (std::vector<std::string>{"model"}));
  ASSERT_TRUE(s.init_image && s.mask);
  EXPECT_EQ(s.init_image->rgb, std::vector<uint8_t>(16 * 8 * 3, 100));
  // OpenAI's mask: transparent is repainted, i.e. white for the engine.
  EXPECT_EQ(s.mask->rgb[0], 255);
  EXPECT_EQ(s.mask->rgb[(7 * 16 + 15) * 3], 0);
}

TEST(ServerEdit, OpenAiEditDefaults) {
  const ImageSpec img2img = parse_openai_edit(form({{"prompt", "p"}, {"image", flat_png(8, 8, 0)}}), context());
  EXPECT_EQ(img2img.task, ImageTask::ImageToImage);
  EXPECT_EQ(img2img.strength, 0.8);  // `sdfast img2img`'s default
  EXPECT_FALSE(img2img.mask);
  const ImageSpec grey = parse_openai_edit(
      form({{"prompt", "p"}, {"image", flat_png(16, 8, 0)}, {"mask", half_mask(16, 8)}, {"mask_alpha", "false"},
            {"size", "auto"}}),
      context());
  EXPECT_EQ(grey.task, ImageTask::Inpaint);
  EXPECT_EQ(grey.strength, 1.0);  // `sdfast inpaint`'s default
  EXPECT_EQ(grey.mask->rgb[0], 255);
  EXPECT_EQ(grey.mask->rgb[15 * 3], 0);
}

TEST(ServerEdit, OpenAiEditBadInput) {
  const std::string image = flat_png(16, 8, 50);
  struct Case {
    std::vector<FormField> form;
    const char* param;
    const char* code;
  };
  const Case cases[] = {
      {form({{"prompt", "p"}}), "image", "invalid_value"},
      {form({{"image", image}}), "prompt", "invalid_value"},
      {form({{"prompt", "p"}, {"image", image}, {"image[]", image}}), "image", "invalid_value"},
      {form({{"prompt", "p"}, {"prompt", "q"}, {"image", image}}), "prompt", "invalid_value"},
      {form({{"prompt", "p"}, {"image", ""}}), "image", "invalid_value"},
      {form({{"prompt", "p"}, {"image", "not an image at all"}}), "image", "invalid_image"},
      {form({{"prompt", "p"}, {"image", image.substr(0, image.size() / 2)}}), "image", "invalid_image"},
      {form({{"prompt", "p"}, {"image", flat_png(12, 8, 0)}}), "image", "invalid_value"},
      {form({{"prompt", "p"}, {"image", flat_png(520, 8, 0)}}), "image", "invalid_image"},  // over --max-size
      {form({{"prompt", "p"}, {"image", image}, {"mask", rgba_half_transparent(8, 8)}}), "mask", "invalid_value"},
      {form({{"prompt", "p"}, {"image", image}, {"mask", half_mask(16, 8)}}), "mask", "invalid_image"},  // no alpha
      {form({{"prompt", "p"}, {"image", image}, {"strength", "0"}}), "strength", "invalid_value"},
      {form({{"prompt", "p"}, {"image", image}, {"strength", "2"}}), "strength", "invalid_value"},
      {form({{"prompt", "p"}, {"image", image}, {"strength", "-0.5"}}), "strength", "invalid_value"},
      {form({{"prompt", "p"}, {"image", image}, {"strength", "high"}}), "strength", "invalid_value"},
      {form({{"prompt", "p"}, {"image", image}, {"strength", "1e999"}}), "strength", "invalid_value"},
      {form({{"prompt", "p"}, {"image", image}, {"n", "two"}}), "n", "invalid_value"},
      {form({{"prompt", "p"}, {"image", image}, {"n", "1000000000"}}), "n", "invalid_value"},
      {form({{"prompt", "p"}, {"image", image}, {"size", "64x64"}}), "size", "invalid_value"},
      {form({{"prompt", "p"}, {"image", image}, {"mask_alpha", "yes"}}), "mask_alpha", "invalid_value"},
      {form({{"prompt", "p"}, {"image", image}, {"response_format", "url"}}), "response_format", "invalid_value"},
  };
  for (const Case& c : cases) {
    const ApiError e = error_of([&] { parse_openai_edit(c.form, context()); });
    EXPECT_EQ(e.status, 400) << e.what();
    EXPECT_EQ(e.param, c.param) << e.what();
    EXPECT_EQ(e.code, c.code) << e.what();
  }
  const ApiError huge = error_of([&] { parse_openai_edit(form({{"prompt", "p"}, {"image", flat_png(520, 8, 0)}}), context()); });
  EXPECT_NE(std::string(huge.what()).find("limit"), std::string::npos) << huge.what();
}

Json img2img_body(Json fields) {
  Json body = {{"prompt", "p"}, {"init_images", {base64_encode(flat_png(16, 8, 30))}}};
  body.update(fields);
  return body;
}

TEST(ServerEdit, SdapiImg2ImgFields) {
  const ImageSpec a = parse_sdapi_img2img(img2img_body({{"denoising_strength", 0.3}, {"seed", 5}, {"steps", 4},
                                                        {"width", 512}, {"height", 8}, {"batch_size", 2},
                                                        {"sampler_name", "Euler a"}, {"restore_faces", true}}),
                                          context());
  EXPECT_EQ(a.task, ImageTask::ImageToImage);
  EXPECT_EQ(a.strength, 0.3);
  EXPECT_EQ(a.width, 16);
  EXPECT_EQ(a.height, 8);
  EXPECT_EQ(a.images, 2);
  EXPECT_EQ(a.scheduler, "euler_a");
  EXPECT_EQ(a.ignored, (std::vector<std::string>{"restore_faces", "width"}));  // A1111 would resize

  const ImageSpec b = parse_sdapi_img2img(
      img2img_body({{"init_images", {"data:image/png;base64," + base64_encode(flat_png(16, 8, 30))}},
                    {"mask", base64_encode(half_mask(16, 8))}, {"inpainting_mask_invert", 1}, {"mask_blur", 4},
                    {"inpainting_fill", 1}, {"inpaint_full_res", false}}),
      context());
  EXPECT_EQ(b.task, ImageTask::Inpaint);
  EXPECT_EQ(b.strength, 0.75);  // A1111's default
  EXPECT_EQ(b.mask->rgb[0], 0);  // inverted: black is repainted
  EXPECT_EQ(b.mask->rgb[15 * 3], 255);
  EXPECT_EQ(b.ignored, (std::vector<std::string>{"mask_blur"}));
  const ImageSpec c = parse_sdapi_img2img(
      img2img_body({{"mask", base64_encode(half_mask(16, 8))}, {"inpainting_fill", 0}, {"mask_blur", 0}}), context());
  EXPECT_EQ(c.mask->rgb[0], 255);
  EXPECT_EQ(c.ignored, (std::vector<std::string>{"inpainting_fill"}));
  const ImageSpec d = parse_sdapi_img2img(img2img_body({{"mask", ""}, {"mask_blur", 4}}), context());
  EXPECT_EQ(d.task, ImageTask::ImageToImage);
  EXPECT_TRUE(d.ignored.empty());
}

TEST(ServerEdit, SdapiImg2ImgBadInput) {
  const Json cases[] = {
      {{"prompt", "p"}},
      img2img_body({{"init_images", nullptr}}),
      img2img_body({{"init_images", "abc"}}),
      img2img_body({{"init_images", Json::array()}}),
      img2img_body({{"init_images", {1}}}),
      img2img_body({{"init_images", {"%%%not base64"}}}),
      img2img_body({{"init_images", {"data:image/png,abc"}}}),
      img2img_body({{"init_images", {base64_encode("GIF89a not supported")}}}),
      img2img_body({{"init_images", {base64_encode(flat_png(8, 8, 0)), base64_encode(flat_png(8, 8, 0))}}}),
      img2img_body({{"denoising_strength", 0}}),
      img2img_body({{"denoising_strength", 1.5}}),
      img2img_body({{"denoising_strength", "0.5"}}),
      img2img_body({{"mask", base64_encode(half_mask(8, 8))}}),
      img2img_body({{"mask", "!!"}}),
      img2img_body({{"mask", 7}}),
      img2img_body({{"inpainting_mask_invert", 2}}),
      img2img_body({{"include_init_images", "yes"}}),
      img2img_body({{"width", -512}}),
  };
  const char* params[] = {"init_images", "init_images", "init_images", "init_images", "init_images",
                          "init_images", "init_images", "init_images", "init_images", "denoising_strength",
                          "denoising_strength", "denoising_strength", "mask", "mask", "mask",
                          "inpainting_mask_invert", "include_init_images", "width"};
  static_assert(std::size(cases) == std::size(params));
  for (size_t i = 0; i < std::size(cases); ++i) {
    const ApiError e = error_of([&] { parse_sdapi_img2img(cases[i], context()); });
    EXPECT_EQ(e.status, 400) << i << ": " << e.what();
    EXPECT_EQ(e.param, params[i]) << i << ": " << e.what();
  }
  EXPECT_EQ(error_of([&] { parse_sdapi_img2img(cases[5], context()); }).code, "invalid_base64");
}

TEST(ServerEdit, SdapiResponseLeavesOutInitImages) {
  const Json request = img2img_body({{"mask", base64_encode(half_mask(16, 8))}});
  const ImageSpec spec = parse_sdapi_img2img(request, context());
  JobOutput out;
  out.images = {"png"};
  out.seeds = {3};
  const Json r = sdapi_images_response(request, spec, out, "m");
  EXPECT_TRUE(r["parameters"]["init_images"].is_null());
  EXPECT_TRUE(r["parameters"]["mask"].is_null());
  EXPECT_EQ(Json::parse(r["info"].get<std::string>())["denoising_strength"], 1.0 * spec.strength);
  Json keep = request;
  keep["include_init_images"] = true;
  EXPECT_EQ(sdapi_images_response(keep, spec, out, "m")["parameters"]["init_images"], request["init_images"]);
  const Json openai = openai_images_response(spec, out, 1);
  EXPECT_EQ(openai["sdfast"]["strength"], spec.strength);
}

TEST(ServerEdit, FinishedJobDropsItsInputPixels) {
  bool had_image = false;
  JobQueue q(
      [&](const ImageSpec& spec, const std::function<bool(int, int)>&) {
        had_image = spec.init_image && spec.mask;
        return JobOutput{};
      },
      QueueOptions{}, nullptr);
  ImageSpec spec = parse_sdapi_img2img(img2img_body({{"mask", base64_encode(half_mask(16, 8))}}), context());
  std::weak_ptr<const Image> image = spec.init_image;
  auto job = q.submit(std::move(spec), /*keep=*/true);
  ASSERT_TRUE(job->wait_for(std::chrono::seconds(30)));
  EXPECT_EQ(job->status().state, JobState::Succeeded);
  EXPECT_TRUE(had_image);
  EXPECT_FALSE(job->spec().init_image);
  EXPECT_FALSE(job->spec().mask);
  EXPECT_TRUE(image.expired());
  EXPECT_EQ(job->spec().task, ImageTask::Inpaint);
}

}  // namespace
}  // namespace sdfast::server
