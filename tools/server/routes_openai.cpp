// `sdfast serve`: OpenAI's images API routes.
#include <ctime>

#include "openai_api.h"
#include "service.h"

namespace sdfast::server {

void add_openai_routes(httplib::Server& http, Service& service) {
  http.Post("/v1/images/generations", [&service](const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_json_object(req.body, req.get_header_value("Content-Type"));
    ImageSpec spec = parse_openai_generation(body, service.parse);
    run_blocking(service, req, res, std::move(spec), [](const ImageSpec& s, const JobOutput& out) {
      return openai_images_response(s, out, int64_t(std::time(nullptr)));
    });
  });
  // Image-to-image and inpainting need GenerateRequest::image / mask_image / strength (issue 16),
  // which the engine does not have yet.
  http.Post("/v1/images/edits", [](const httplib::Request& req, httplib::Response& res) {
    throw ApiError(501, "invalid_request_error", "not_implemented", "image",
                   "/v1/images/edits (image-to-image and inpainting) is not available yet: this sdfast "
                   "engine makes images from text only; use /v1/images/generations");
  });
  http.Get("/v1/models", [&service](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, openai_models_response(service.model_name, service.model_created_unix));
  });
}

}  // namespace sdfast::server
