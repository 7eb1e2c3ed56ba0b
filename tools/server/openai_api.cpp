// `sdfast serve`: OpenAI images API requests and responses.
#include "openai_api.h"

#include <charconv>
#include <limits>
#include <set>

#include "api_error.h"
#include "base64.h"
#include "edit_images.h"

namespace sdfast::server {

namespace {

// "512x768" -> {512, 768}; "auto" -> {0, 0}.
std::pair<int, int> parse_size(const std::string& size) {
  if (size == "auto") return {0, 0};
  const size_t x = size.find('x');
  int w = 0, h = 0;
  auto number = [](std::string_view t, int* v) {
    if (t.empty() || t.size() > 5) return false;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), *v);
    return ec == std::errc() && end == t.data() + t.size();
  };
  if (x == std::string::npos || !number(std::string_view(size).substr(0, x), &w) ||
      !number(std::string_view(size).substr(x + 1), &h) || w < 1 || h < 1)
    throw invalid_field("size", "'size' must be \"WIDTHxHEIGHT\" such as \"512x512\", or \"auto\"; got \"" +
                                    size.substr(0, 40) + "\"");
  return {w, h};
}

OutputFormat parse_output_format(const std::string& f) {
  if (f == "png") return OutputFormat::Png;
  if (f == "jpeg" || f == "jpg") return OutputFormat::Jpeg;
  if (f == "webp") return OutputFormat::Webp;
  throw invalid_field("output_format", "'output_format' must be png, jpeg or webp, got \"" + f.substr(0, 40) + "\"");
}

// A form field's text as the JSON value a generations body would carry: numbers for the numeric
// fields, true/false for the boolean ones, the text for the rest.
Json form_value(const std::string& name, const std::string& text) {
  static const std::set<std::string> numbers = {"n", "steps", "num_inference_steps", "guidance_scale", "seed", "eta",
                                                "strength", "output_compression", "partial_images"};
  static const std::set<std::string> booleans = {"mask_alpha", "stream"};
  if (numbers.count(name)) {
    Json v = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (v.is_discarded() || !v.is_number())
      throw invalid_field(name, "'" + name + "' must be a number, got \"" + text.substr(0, 40) + "\"");
    return v;
  }
  if (booleans.count(name)) {
    if (text == "true") return true;
    if (text == "false") return false;
    throw invalid_field(name, "'" + name + "' must be true or false, got \"" + text.substr(0, 40) + "\"");
  }
  return text;
}

}  // namespace

ImageSpec parse_openai_edit(const std::vector<FormField>& form, const ParseContext& context) {
  Json body = Json::object();
  const FormField* image = nullptr;
  const FormField* mask = nullptr;
  std::set<std::string> seen;
  for (const FormField& f : form) {
    const std::string name = f.name == "image[]" ? "image" : f.name;  // OpenAI's SDKs send a list as image[]
    if (!seen.insert(name).second)
      throw invalid_field(name, "'" + name.substr(0, 60) + "' is given more than once" +
                                    (name == "image" ? ": sdfast edits one image per request" : ""));
    if (name == "image")
      image = &f;
    else if (name == "mask")
      mask = &f;
    else
      body[name] = form_value(name, f.content);
  }
  ImageSpec spec = parse_openai_generation(body, context);  // the fields edits share with generations
  if (!image)
    throw invalid_field("image", "'image' is required: the PNG, JPEG or WebP file to edit, as a multipart/form-data file");
  for (const char* name : {"input_fidelity", "partial_images", "stream"})
    if (body.contains(name)) spec.ignored.push_back(name);
  const int asked_width = spec.width, asked_height = spec.height;
  const double any = std::numeric_limits<double>::max();
  const double strength = get_number(body, "strength", -any, any).value_or(mask ? 1.0 : 0.8);
  const MaskSource source = get_bool(body, "mask_alpha").value_or(true) ? MaskSource::Alpha : MaskSource::Grey;
  set_edit_images(spec, image->content, mask ? std::optional<std::string_view>(mask->content) : std::nullopt, source,
                  strength, context, EditFieldNames{});
  if (asked_width != 0 && (asked_width != spec.width || asked_height != spec.height))
    throw invalid_field("size", "'size' is " + std::to_string(asked_width) + "x" + std::to_string(asked_height) +
                                    " but 'image' is " + std::to_string(spec.width) + "x" + std::to_string(spec.height) +
                                    ": edits keep the image's size (it is not resized); leave 'size' out or send \"auto\"");
  return spec;
}

ImageSpec parse_openai_generation(const Json& body, const ParseContext& context) {
  ImageSpec spec;
  const auto prompt = get_string(body, "prompt");
  if (!prompt || prompt->empty()) throw invalid_field("prompt", "'prompt' is required and must not be empty");
  spec.prompt = *prompt;
  spec.negative_prompt = get_string(body, "negative_prompt").value_or("");
  spec.images = int(get_int(body, "n", 1, context.limits.max_images).value_or(1));
  if (auto size = get_string(body, "size")) std::tie(spec.width, spec.height) = parse_size(*size);
  if (auto rf = get_string(body, "response_format"); rf && *rf != "b64_json")
    throw invalid_field("response_format", "'response_format' \"" + rf->substr(0, 40) +
                                               "\" is not supported: this server keeps no files, use \"b64_json\"");
  if (auto f = get_string(body, "output_format")) spec.output_format = parse_output_format(*f);
  spec.quality = int(get_int(body, "output_compression", 0, 100).value_or(spec.quality));
  auto steps = get_int(body, "steps", 1, context.limits.max_steps);
  if (!steps) steps = get_int(body, "num_inference_steps", 1, context.limits.max_steps);
  spec.steps = int(steps.value_or(0));
  spec.guidance = get_number(body, "guidance_scale", -1000, 1000);
  spec.seed = get_seed(body, "seed", false);
  spec.scheduler = get_string(body, "scheduler").value_or("");
  spec.eta = get_number(body, "eta", 0, 1).value_or(0);
  for (const char* name : {"model", "quality", "style", "user", "background", "moderation"}) {
    auto it = body.find(name);
    if (it != body.end() && !it->is_null()) spec.ignored.push_back(name);
  }
  FieldNames names;
  names.steps = body.contains("steps") ? "steps" : "num_inference_steps";
  validate(spec, context, names);
  return spec;
}

Json openai_images_response(const ImageSpec& spec, const JobOutput& out, int64_t created_unix) {
  Json data = Json::array();
  for (const std::string& image : out.images) data.push_back({{"b64_json", base64_encode(image)}});
  return {{"created", created_unix},
          {"data", std::move(data)},
          {"output_format", to_string(spec.output_format)},
          {"size", std::to_string(out.width) + "x" + std::to_string(out.height)},
          {"sdfast",
           {{"seeds", out.seeds},
            {"scheduler", out.scheduler},
            {"steps", out.steps},
            {"guidance_scale", out.guidance},
            {"strength", spec.task == ImageTask::TextToImage ? Json(nullptr) : Json(spec.strength)},
            {"ignored", spec.ignored},
            {"warnings", out.warnings},
            {"generate_s", out.generate_s}}}};
}

Json openai_models_response(const std::string& model_name, int64_t created_unix) {
  return {{"object", "list"},
          {"data", Json::array({{{"id", model_name}, {"object", "model"}, {"created", created_unix},
                                 {"owned_by", "sdfast"}}})}};
}

Json error_body(const std::string& message, const std::string& type, const std::string& param,
                const std::string& code) {
  return {{"error",
           {{"message", message},
            {"type", type},
            {"param", param.empty() ? Json(nullptr) : Json(param)},
            {"code", code.empty() ? Json(nullptr) : Json(code)}}}};
}

}  // namespace sdfast::server
