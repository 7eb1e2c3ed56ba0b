// libFuzzer harness: `sdfast serve`'s request parsing and validation (tools/server/): any bytes as
// the JSON body of POST /v1/images/generations, /sdapi/v1/txt2img and /sdapi/v1/img2img (whose
// base64 images are decoded), as the multipart form of POST /v1/images/edits (the parts cpp-httplib
// would hand over: the input split at "\r\n--\r\n", each part NAME=CONTENT), and as base64. A parser
// either returns a spec within the limits or throws ApiError with a 4xx status; anything else
// (another exception, a crash, a sanitizer report) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

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
    p.limits.max_side = 256;  // decoded images stay small
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
  if (s.task == ImageTask::TextToImage) {
    if (s.init_image || s.mask) std::abort();
    return;
  }
  // An edit: the init image decoded at the spec's size (multiples of 8), the mask at the same size,
  // a strength in (0, 1].
  const auto& im = s.init_image;
  if (!im || im->width != s.width || im->height != s.height || s.width % 8 || s.height % 8 || s.width < 8 ||
      s.height < 8 || im->rgb.size() != size_t(s.width) * size_t(s.height) * 3 || !(s.strength > 0 && s.strength <= 1))
    std::abort();
  if ((s.task == ImageTask::Inpaint) != bool(s.mask)) std::abort();
  if (s.mask && (s.mask->width != s.width || s.mask->height != s.height || s.mask->rgb.size() != im->rgb.size()))
    std::abort();
}

template <class Parse>
void parse(Parse&& p) {
  try {
    check(p());
  } catch (const ApiError& e) {
    if (e.status < 400 || e.status > 499) std::abort();
  }
}

std::vector<FormField> form_of(std::string_view body) {
  constexpr std::string_view kSeparator = "\r\n--\r\n";
  std::vector<FormField> form;
  while (!body.empty() && form.size() < 64) {
    const size_t end = body.find(kSeparator);
    const std::string_view part = body.substr(0, end);
    const size_t eq = part.find('=');
    FormField f;
    f.name = std::string(part.substr(0, eq));
    if (eq != std::string_view::npos) f.content = std::string(part.substr(eq + 1));
    form.push_back(std::move(f));
    if (end == std::string_view::npos) break;
    body.remove_prefix(end + kSeparator.size());
  }
  return form;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const ParseContext& c = context();
  parse([&] { return parse_openai_generation(parse_json_object(body, "application/json"), c); });
  parse([&] { return parse_sdapi_txt2img(parse_json_object(body, "application/json"), c); });
  parse([&] { return parse_sdapi_img2img(parse_json_object(body, "application/json"), c); });
  parse([&] { return parse_openai_edit(form_of(body), c); });
  if (auto bytes = base64_decode(body)) {
    if (base64_decode(base64_encode(*bytes)) != bytes) std::abort();
  }
  return 0;
}
