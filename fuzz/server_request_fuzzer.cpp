// libFuzzer harness: `sdfast serve`'s request parsing and validation (tools/server/): any bytes as
// the JSON body of POST /v1/images/generations and of POST /sdapi/v1/txt2img, and as base64. A
// parser either returns a spec within the limits or throws ApiError with a 4xx status; anything
// else (another exception, a crash, a sanitizer report) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api_error.h"
#include "base64.h"
#include "json_fields.h"
#include "openai_api.h"
#include "sdapi.h"

namespace {

using namespace sdfast::server;

const ParseContext& context() {
  static const ParseContext c = [] {
    ParseContext p;
    p.scheduler_names = {"PNDMScheduler", "DDIMScheduler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "lcm"};
    return p;
  }();
  return c;
}

void check(const ImageSpec& s) {
  const RequestLimits& l = context().limits;
  if (s.images < 1 || s.images > l.max_images || s.width < 0 || s.width > l.max_side || s.height < 0 ||
      s.height > l.max_side || s.steps < 0 || s.steps > l.max_steps || s.prompt.size() > l.max_prompt_bytes ||
      s.quality < 0 || s.quality > 100)
    std::abort();  // a spec outside the limits got through
}

template <class Parse>
void parse(std::string_view body, Parse&& p) {
  try {
    check(p(parse_json_object(body, "application/json"), context()));
  } catch (const ApiError& e) {
    if (e.status < 400 || e.status > 499) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  parse(body, parse_openai_generation);
  parse(body, parse_sdapi_txt2img);
  if (auto bytes = base64_decode(body)) {
    if (base64_decode(base64_encode(*bytes)) != bytes) std::abort();
  }
  return 0;
}
