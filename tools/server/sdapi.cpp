// `sdfast serve`: A1111 sdapi requests and responses (modules/api/models.py of
// AUTOMATIC1111/stable-diffusion-webui names the fields).
#include "sdapi.h"

#include <algorithm>
#include <limits>

#include "api_error.h"
#include "base64.h"
#include "edit_images.h"

namespace sdfast::server {

namespace {

struct Sampler {
  const char* a1111;      // A1111's display name
  const char* scheduler;  // sdfast's scheduler alias
  const char* alias;      // A1111's k-diffusion alias
};

constexpr Sampler kSamplers[] = {
    {"Euler a", "euler_a", "k_euler_a"},     {"Euler", "euler", "k_euler"},
    {"LMS", "lms", "k_lms"},                 {"Heun", "heun", "k_heun"},
    {"DPM++ 2M", "dpmpp_2m", "k_dpmpp_2m"},  {"DPM++ 2M Karras", "dpmpp_2m_karras", "k_dpmpp_2m_ka"},
    {"DDIM", "ddim", "ddim"},                {"PLMS", "pndm", "plms"},
    {"UniPC", "unipc", "unipc"},             {"LCM", "lcm", "lcm"},
    {"DDPM", "ddpm", "ddpm"},
};

// Known A1111 fields sdfast does not act on; listed in info when a request sets them.
constexpr const char* kIgnoredFields[] = {
    "restore_faces", "tiling",          "enable_hr",        "denoising_strength", "subseed",
    "subseed_strength", "seed_resize_from_h", "seed_resize_from_w", "styles", "override_settings",
    "script_name",   "alwayson_scripts", "refiner_checkpoint", "hr_scale",        "s_churn",
    "s_noise",       "s_tmin",          "s_tmax",           "firstphase_width",   "firstphase_height"};
// The same for img2img, where denoising_strength is the init image's strength (honoured).
constexpr const char* kImg2ImgIgnoredFields[] = {
    "restore_faces", "tiling",          "subseed",          "subseed_strength",   "seed_resize_from_h",
    "seed_resize_from_w", "styles",     "override_settings", "script_name",       "alwayson_scripts",
    "refiner_checkpoint", "s_churn",    "s_noise",          "s_tmin",             "s_tmax",
    "resize_mode",   "image_cfg_scale"};
// img2img fields about the mask that sdfast does not act on (listed when a mask is given).
constexpr const char* kInpaintIgnoredFields[] = {"mask_blur", "mask_blur_x", "mask_blur_y", "inpaint_full_res",
                                                 "inpaint_full_res_padding", "latent_mask"};

// A value a client sends when it means "not set".
bool unset(const Json& v) {
  return v.is_null() || (v.is_boolean() && !v.get<bool>()) || (v.is_string() && v.get<std::string>().empty()) ||
         (v.is_array() && v.empty()) || (v.is_object() && v.empty()) || (v.is_number() && (v == 0 || v == -1));
}

}  // namespace

std::string sdapi_sampler_to_scheduler(const std::string& sampler, const std::string& a1111_scheduler) {
  std::string name = sampler;
  if (a1111_scheduler == "Karras" && name == "DPM++ 2M") name = "DPM++ 2M Karras";
  for (const Sampler& s : kSamplers)
    if (name == s.a1111 || name == s.alias || name == s.scheduler) return s.scheduler;
  return "";
}

namespace {

// The fields txt2img and img2img share; `ignored`: the known fields sdfast does not act on. With
// `size_from_image` (img2img: the output has the init image's size) width and height are only
// type-checked here, not held to the size limits, and left in the spec for the caller to compare.
template <size_t N>
ImageSpec parse_sdapi_common(const Json& body, const ParseContext& context, const char* const (&ignored)[N],
                             bool size_from_image) {
  ImageSpec spec;
  spec.prompt = get_string(body, "prompt").value_or("");
  spec.negative_prompt = get_string(body, "negative_prompt").value_or("");
  spec.seed = get_seed(body, "seed", /*random_below_zero=*/true);
  spec.steps = int(get_int(body, "steps", 1, context.limits.max_steps).value_or(0));
  spec.guidance = get_number(body, "cfg_scale", -1000, 1000);
  const int max_side = size_from_image ? 1 << 20 : context.limits.max_side;
  spec.width = int(get_int(body, "width", 8, max_side).value_or(0));
  spec.height = int(get_int(body, "height", 8, max_side).value_or(0));
  const int64_t batch = get_int(body, "batch_size", 1, context.limits.max_images).value_or(1);
  const int64_t iters = get_int(body, "n_iter", 1, context.limits.max_images).value_or(1);
  if (batch * iters > context.limits.max_images)
    throw invalid_field("batch_size", "batch_size * n_iter = " + std::to_string(batch * iters) +
                                          " images; this server makes 1 to " +
                                          std::to_string(context.limits.max_images) + " per request");
  spec.images = int(batch * iters);
  spec.eta = get_number(body, "eta", 0, 1).value_or(0);
  auto sampler = get_string(body, "sampler_name");
  if (!sampler) sampler = get_string(body, "sampler_index");
  const std::string a1111_scheduler = get_string(body, "scheduler").value_or("");
  if (sampler && !sampler->empty()) {
    spec.scheduler = sdapi_sampler_to_scheduler(*sampler, a1111_scheduler);
    if (spec.scheduler.empty()) {
      std::string list;
      for (const Sampler& s : kSamplers) list += std::string(list.empty() ? "" : ", ") + s.a1111;
      throw invalid_field("sampler_name", "sampler '" + sampler->substr(0, 60) + "' is not available; valid: " + list);
    }
  }
  if (!a1111_scheduler.empty() && a1111_scheduler != "Automatic" &&
      !(a1111_scheduler == "Karras" && spec.scheduler == "dpmpp_2m_karras"))
    spec.ignored.push_back("scheduler");
  for (const char* name : ignored) {
    auto it = body.find(name);
    if (it != body.end() && !unset(*it)) spec.ignored.push_back(name);
  }
  FieldNames names;
  names.images = "batch_size";
  names.width = "width";
  names.height = "height";
  names.guidance = "cfg_scale";
  names.scheduler = "sampler_name";
  const int width = spec.width, height = spec.height;
  if (size_from_image) spec.width = spec.height = 0;
  validate(spec, context, names);
  spec.width = width;
  spec.height = height;
  return spec;
}

}  // namespace

ImageSpec parse_sdapi_txt2img(const Json& body, const ParseContext& context) {
  return parse_sdapi_common(body, context, kIgnoredFields, /*size_from_image=*/false);
}

ImageSpec parse_sdapi_img2img(const Json& body, const ParseContext& context) {
  ImageSpec spec = parse_sdapi_common(body, context, kImg2ImgIgnoredFields, /*size_from_image=*/true);
  auto it = body.find("init_images");
  if (it == body.end() || it->is_null())
    throw invalid_field("init_images", "'init_images' is required: a list with the base64 image to start from");
  if (!it->is_array() || it->empty() || !it->front().is_string())
    throw invalid_field("init_images", "'init_images' must be a list of one base64 image, got " + type_name(*it));
  if (it->size() > 1)
    throw invalid_field("init_images", "'init_images' has " + std::to_string(it->size()) +
                                           " images; sdfast edits one image per request");
  const std::string image = decode_base64_image(it->front().get_ref<const std::string&>(), "init_images");
  std::optional<std::string> mask;
  if (auto m = get_string(body, "mask"); m && !m->empty()) mask = decode_base64_image(*m, "mask");
  const double any = std::numeric_limits<double>::max();
  const double strength = get_number(body, "denoising_strength", -any, any).value_or(0.75);
  const bool invert = get_int(body, "inpainting_mask_invert", 0, 1).value_or(0) == 1;
  get_bool(body, "include_init_images");  // checked here: the response reads it
  if (auto m = get_number(body, "initial_noise_multiplier", -1e6, 1e6); m && *m != 1)
    spec.ignored.push_back("initial_noise_multiplier");
  const int asked_width = spec.width, asked_height = spec.height;
  EditFieldNames names;
  names.image = "init_images";
  names.strength = "denoising_strength";
  set_edit_images(spec, image, mask ? std::optional<std::string_view>(*mask) : std::nullopt,
                  invert ? MaskSource::InvertedGrey : MaskSource::Grey, strength, context, names);
  // A1111 resizes the init image to width x height (any size); sdfast keeps the image's size.
  if (asked_width != 0 && asked_width != spec.width) spec.ignored.push_back("width");
  if (asked_height != 0 && asked_height != spec.height) spec.ignored.push_back("height");
  if (mask) {
    for (const char* name : kInpaintIgnoredFields) {
      auto f = body.find(name);
      if (f != body.end() && !unset(*f)) spec.ignored.push_back(name);
    }
    // 1 ("original": the masked area starts from the init image) is what sdfast does.
    auto fill = body.find("inpainting_fill");
    if (fill != body.end() && !fill->is_null() && *fill != 1) spec.ignored.push_back("inpainting_fill");
  }
  return spec;
}

Json sdapi_images_response(const Json& request, const ImageSpec& spec, const JobOutput& out,
                           const std::string& model_name) {
  Json images = Json::array();
  for (const std::string& image : out.images) images.push_back(base64_encode(image));
  std::string sampler = out.scheduler;
  for (const Sampler& s : kSamplers)
    if (spec.scheduler == s.scheduler) sampler = s.a1111;
  Json info = {{"prompt", spec.prompt},
                     {"all_prompts", std::vector<std::string>(out.images.size(), spec.prompt)},
                     {"negative_prompt", spec.negative_prompt},
                     {"seed", out.seeds.empty() ? 0 : out.seeds[0]},
                     {"all_seeds", out.seeds},
                     {"width", out.width},
                     {"height", out.height},
                     {"sampler_name", sampler},
                     {"scheduler_class", out.scheduler},
                     {"cfg_scale", out.guidance},
                     {"steps", out.steps},
                     {"batch_size", out.images.size()},
                     {"sd_model_name", model_name},
                     {"ignored_fields", spec.ignored},
                     {"warnings", out.warnings},
                     {"generate_s", out.generate_s}};
  Json parameters = request;
  if (spec.task != ImageTask::TextToImage) {
    info["denoising_strength"] = spec.strength;
    const auto include = request.find("include_init_images");
    if (include == request.end() || *include != true) parameters["init_images"] = parameters["mask"] = nullptr;
  }
  return {{"images", std::move(images)}, {"parameters", std::move(parameters)}, {"info", info.dump()}};
}

Json sdapi_samplers() {
  Json list = Json::array();
  for (const Sampler& s : kSamplers)
    list.push_back({{"name", s.a1111}, {"aliases", {s.alias, s.scheduler}}, {"options", Json::object()}});
  return list;
}

}  // namespace sdfast::server
