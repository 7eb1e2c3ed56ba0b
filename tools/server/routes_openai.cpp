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
  // Image-to-image and inpainting: a multipart/form-data body with the image file (and a mask).
  http.Post("/v1/images/edits", [&service](const httplib::Request& req, httplib::Response& res) {
    ImageSpec spec = parse_openai_edit(form_fields(req), service.parse);
    run_blocking(service, req, res, std::move(spec), [](const ImageSpec& s, const JobOutput& out) {
      return openai_images_response(s, out, int64_t(std::time(nullptr)));
    });
  });
  http.Get("/v1/models", [&service](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, openai_models_response(service.model_name, service.model_created_unix));
  });
}

}  // namespace sdfast::server
