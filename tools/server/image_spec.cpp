// `sdfast serve`: the checks every image request passes before it is queued.
#include "image_spec.h"

#include <algorithm>

#include "api_error.h"

namespace sdfast::server {

const char* to_string(OutputFormat f) {
  switch (f) {
    case OutputFormat::Jpeg: return "jpeg";
    case OutputFormat::Webp: return "webp";
    default: return "png";
  }
}

const char* mime_type(OutputFormat f) {
  switch (f) {
    case OutputFormat::Jpeg: return "image/jpeg";
    case OutputFormat::Webp: return "image/webp";
    default: return "image/png";
  }
}

void validate(const ImageSpec& spec, const ParseContext& context, const FieldNames& names) {
  const RequestLimits& lim = context.limits;
  for (auto [text, name] : {std::pair{&spec.prompt, names.prompt}, {&spec.negative_prompt, names.negative_prompt}})
    if (text->size() > lim.max_prompt_bytes)
      throw ApiError(413, "invalid_request_error", "prompt_too_long", name,
                     std::string("'") + name + "' is " + std::to_string(text->size()) +
                         " bytes; this server takes at most " + std::to_string(lim.max_prompt_bytes));
  if (spec.images < 1 || spec.images > lim.max_images)
    throw invalid_field(names.images, std::string("'") + names.images + "' asks for " + std::to_string(spec.images) +
                                          " images; this server makes 1 to " + std::to_string(lim.max_images) +
                                          " per request");
  for (auto [v, name] : {std::pair{spec.width, names.width}, {spec.height, names.height}})
    if (v != 0 && (v < 8 || v % 8 != 0 || v > lim.max_side))
      throw invalid_field(name, std::string("image sides must be multiples of 8 from 8 to ") +
                                    std::to_string(lim.max_side) + ", got " + std::to_string(v) + " ('" + name + "')");
  if (spec.steps != 0 && (spec.steps < 1 || spec.steps > lim.max_steps))
    throw invalid_field(names.steps, std::string("'") + names.steps + "' must be between 1 and " +
                                         std::to_string(lim.max_steps) + ", got " + std::to_string(spec.steps));
  if (spec.guidance && !(*spec.guidance >= -1000 && *spec.guidance <= 1000))
    throw invalid_field(names.guidance, std::string("'") + names.guidance + "' must be between -1000 and 1000");
  if (!(spec.eta >= 0 && spec.eta <= 1)) throw invalid_field("eta", "'eta' must be between 0 and 1");
  if (!spec.scheduler.empty() &&
      std::find(context.scheduler_names.begin(), context.scheduler_names.end(), spec.scheduler) ==
          context.scheduler_names.end()) {
    std::string list;
    for (const std::string& n : context.scheduler_names) list += (list.empty() ? "" : ", ") + n;
    throw invalid_field(names.scheduler, std::string("'") + names.scheduler + "' '" + spec.scheduler.substr(0, 100) +
                                             "' is not known; valid: " + list);
  }
}

}  // namespace sdfast::server
