// `sdfast serve`'s request parsing and validation (tools/server/): OpenAI images and A1111 sdapi
// bodies, hostile values, base64, metrics text, the constant-time key comparison.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "api_error.h"
#include "base64.h"
#include "json_fields.h"
#include "openai_api.h"
#include "sdapi.h"
#include "server_test_util.h"

namespace sdfast::server {
namespace {

ParseContext context() { return test_context(); }

ApiError openai_error(const std::string& body) {
  return error_of([&] { parse_openai_generation(parse_json_object(body, "application/json"), context()); });
}
ApiError sdapi_error(const std::string& body) {
  return error_of([&] { parse_sdapi_txt2img(parse_json_object(body, "application/json"), context()); });
}

TEST(ServerApi, OpenAiGenerationFields) {
  const ImageSpec s = parse_openai_generation(
      parse_json_object(R"({"prompt":"cat","n":2,"size":"64x128","seed":18446744073709551615,"steps":4,
                           "guidance_scale":3.5,"negative_prompt":"dog","scheduler":"euler_a",
                           "output_format":"webp","output_compression":70,"model":"dall-e-3","user":"u"})",
                        "application/json; charset=utf-8"),
      context());
  EXPECT_EQ(s.prompt, "cat");
  EXPECT_EQ(s.negative_prompt, "dog");
  EXPECT_EQ(s.images, 2);
  EXPECT_EQ(s.width, 64);
  EXPECT_EQ(s.height, 128);
  EXPECT_EQ(*s.seed, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(s.steps, 4);
  EXPECT_EQ(*s.guidance, 3.5);
  EXPECT_EQ(s.scheduler, "euler_a");
  EXPECT_EQ(s.output_format, OutputFormat::Webp);
  EXPECT_EQ(s.quality, 70);
  EXPECT_EQ(s.ignored, (std::vector<std::string>{"model", "user"}));
}

TEST(ServerApi, OpenAiDefaults) {
  const ImageSpec s = parse_openai_generation(parse_json_object(R"({"prompt":"cat","size":"auto"})", "application/json"), context());
  EXPECT_EQ(s.images, 1);
  EXPECT_EQ(s.width, 0);
  EXPECT_EQ(s.steps, 0);
  EXPECT_FALSE(s.seed);
  EXPECT_FALSE(s.guidance);
  EXPECT_EQ(s.output_format, OutputFormat::Png);
}

TEST(ServerApi, OpenAiBadInput) {
  struct Case {
    const char* body;
    int status;
    const char* param;
  };
  const Case cases[] = {
      {R"({})", 400, "prompt"},
      {R"({"prompt":""})", 400, "prompt"},
      {R"({"prompt":["a"]})", 400, "prompt"},
      {R"({"prompt":"p","n":1000000000})", 400, "n"},
      {R"({"prompt":"p","n":1e300})", 400, "n"},
      {R"({"prompt":"p","n":-3})", 400, "n"},
      {R"({"prompt":"p","n":true})", 400, "n"},
      {R"({"prompt":"p","n":2.5})", 400, "n"},
      {R"({"prompt":"p","size":"64"})", 400, "size"},
      {R"({"prompt":"p","size":"x64"})", 400, "size"},
      {R"({"prompt":"p","size":"64x"})", 400, "size"},
      {R"({"prompt":"p","size":"1000000x64"})", 400, "size"},
      {R"({"prompt":"p","size":"4096x4096"})", 400, "size"},
      {R"({"prompt":"p","size":"0x64"})", 400, "size"},
      {R"({"prompt":"p","size":"+64x64"})", 400, "size"},
      {R"({"prompt":"p","size":"60x64"})", 400, "size"},
      {R"({"prompt":"p","steps":51})", 400, "steps"},
      {R"({"prompt":"p","num_inference_steps":0})", 400, "num_inference_steps"},
      {R"({"prompt":"p","guidance_scale":1e9})", 400, "guidance_scale"},
      {R"({"prompt":"p","guidance_scale":"7"})", 400, "guidance_scale"},
      {R"({"prompt":"p","seed":-1})", 400, "seed"},
      {R"({"prompt":"p","seed":"7"})", 400, "seed"},
      {R"({"prompt":"p","seed":1.5})", 400, "seed"},
      {R"({"prompt":"p","eta":2})", 400, "eta"},
      {R"({"prompt":"p","scheduler":"magic"})", 400, "scheduler"},
      {R"({"prompt":"p","response_format":"url"})", 400, "response_format"},
      {R"({"prompt":"p","output_format":"bmp"})", 400, "output_format"},
      {R"({"prompt":"p","output_compression":101})", 400, "output_compression"},
  };
  for (const Case& c : cases) {
    const ApiError e = openai_error(c.body);
    EXPECT_EQ(e.status, c.status) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body << ": " << e.what();
    EXPECT_EQ(e.type, "invalid_request_error");
  }
  const ApiError long_prompt = openai_error(R"({"prompt":")" + std::string(101, 'x') + R"("})");
  EXPECT_EQ(long_prompt.status, 413);
  EXPECT_NE(std::string(long_prompt.what()).find("101 bytes"), std::string::npos);
}

TEST(ServerApi, JsonBodyChecks) {
  EXPECT_EQ(error_of([] { parse_json_object("{}", "text/plain"); }).status, 415);
  EXPECT_EQ(error_of([] { parse_json_object("{}", ""); }).status, 415);
  EXPECT_EQ(error_of([] { parse_json_object("{\"a\":", "application/json"); }).status, 400);
  EXPECT_EQ(error_of([] { parse_json_object("[]", "application/json"); }).status, 400);
  EXPECT_EQ(error_of([] { parse_json_object("", "application/json"); }).status, 400);
  EXPECT_EQ(error_of([] { parse_json_object(std::string(100000, '['), "application/json"); }).status, 400);
  EXPECT_NO_THROW(parse_json_object(" {} ", " Application/JSON ;charset=utf-8"));
}

TEST(ServerApi, SdapiFields) {
  const ImageSpec s = parse_sdapi_txt2img(
      parse_json_object(R"({"prompt":"cat","seed":-1,"steps":20,"cfg_scale":7,"width":64,"height":64,
                           "batch_size":2,"n_iter":2,"sampler_name":"DPM++ 2M","scheduler":"Karras",
                           "restore_faces":true,"tiling":false,"unknown_field":[1,2]})",
                        "application/json"),
      context());
  EXPECT_FALSE(s.seed);  // -1: random
  EXPECT_EQ(s.images, 4);
  EXPECT_EQ(s.scheduler, "dpmpp_2m_karras");
  EXPECT_EQ(*s.guidance, 7.0);
  EXPECT_EQ(s.ignored, (std::vector<std::string>{"restore_faces"}));
  const ImageSpec empty = parse_sdapi_txt2img(parse_json_object("{}", "application/json"), context());
  EXPECT_EQ(empty.prompt, "");  // A1111 takes an empty prompt
  EXPECT_EQ(sdapi_sampler_to_scheduler("Euler a", ""), "euler_a");
  EXPECT_EQ(sdapi_sampler_to_scheduler("k_dpmpp_2m", ""), "dpmpp_2m");
  EXPECT_EQ(sdapi_sampler_to_scheduler("nope", ""), "");
}

TEST(ServerApi, SdapiBadInput) {
  EXPECT_EQ(sdapi_error(R"({"batch_size":3,"n_iter":2})").param, "batch_size");
  EXPECT_EQ(sdapi_error(R"({"width":-8})").param, "width");
  EXPECT_EQ(sdapi_error(R"({"height":1e12})").param, "height");
  EXPECT_EQ(sdapi_error(R"({"width":65})").param, "width");
  EXPECT_EQ(sdapi_error(R"({"seed":"x"})").param, "seed");
  EXPECT_EQ(sdapi_error(R"({"sampler_name":"Magic"})").param, "sampler_name");
  EXPECT_EQ(sdapi_error(R"({"cfg_scale":null,"steps":{}})").param, "steps");
}

TEST(ServerApi, Base64RoundTripAndRejects) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff\x10", 3)})
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(*base64_decode("Zm8"), "fo");        // unpadded
  EXPECT_EQ(*base64_decode("Zm9v\nYmFy"), "foobar");  // line breaks
  for (const char* bad : {"Zm9v!", "Z", "Zm8==x", "Zm8===", "Zm9=", "====", "Zh==", "Zm=8"})
    EXPECT_FALSE(base64_decode(bad)) << bad;
}

TEST(ServerApi, OpenAiResponseShape) {
  ImageSpec spec;
  spec.prompt = "p";
  JobOutput out;
  out.images = {"abc"};
  out.seeds = {5};
  out.width = 64;
  out.height = 32;
  const Json r = openai_images_response(spec, out, 7);
  EXPECT_EQ(r["data"][0]["b64_json"], "YWJj");
  EXPECT_EQ(r["size"], "64x32");
  EXPECT_EQ(r["sdfast"]["seeds"][0], 5);
  const Json e = error_body("m", "t", "", "");
  EXPECT_TRUE(e["error"]["param"].is_null());
}

}  // namespace
}  // namespace sdfast::server
