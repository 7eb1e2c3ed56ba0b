// `sdfast serve`: AUTOMATIC1111's /sdapi/v1 routes.
#include "sdapi.h"
#include "service.h"

namespace sdfast::server {

void add_sdapi_routes(httplib::Server& http, Service& service) {
  http.Post("/sdapi/v1/txt2img", [&service](const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_json_object(req.body, req.get_header_value("Content-Type"));
    ImageSpec spec = parse_sdapi_txt2img(body, service.parse);
    run_blocking(service, req, res, std::move(spec), [&service, &body](const ImageSpec& s, const JobOutput& out) {
      return sdapi_images_response(body, s, out, service.model_name);
    });
  });
  http.Post("/sdapi/v1/img2img", [&service](const httplib::Request& req, httplib::Response& res) {
    const Json body = parse_json_object(req.body, req.get_header_value("Content-Type"));
    ImageSpec spec = parse_sdapi_img2img(body, service.parse);
    run_blocking(service, req, res, std::move(spec), [&service, &body](const ImageSpec& s, const JobOutput& out) {
      return sdapi_images_response(body, s, out, service.model_name);
    });
  });
  http.Get("/sdapi/v1/samplers", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, sdapi_samplers());
  });
  http.Get("/sdapi/v1/sd-models", [&service](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, Json::array({{{"title", service.model_name},
                                      {"model_name", service.model_name},
                                      {"hash", nullptr},
                                      {"sha256", nullptr},
                                      {"filename", service.model_name},
                                      {"config", nullptr}}}));
  });
  // The first running job's progress (A1111 has one job at a time; job_count says how many run).
  http.Get("/sdapi/v1/progress", [&service](const httplib::Request&, httplib::Response& res) {
    const auto running = service.queue.running_jobs();
    JobStatus s;
    if (!running.empty()) s = running.front()->status();
    const double progress = s.total_steps > 0 ? double(s.step) / s.total_steps : 0.0;
    send_json(res, 200,
              {{"progress", progress},
               {"eta_relative", s.eta_s},
               {"state",
                {{"job_count", running.size() + service.queue.queued()},
                 {"job", running.empty() ? "" : running.front()->id()},
                 {"sampling_step", s.step},
                 {"sampling_steps", s.total_steps},
                 {"interrupted", false}}},
               {"current_image", nullptr},
               {"textinfo", running.empty() ? "idle" : "generating"}});
  });
  http.Post("/sdapi/v1/interrupt", [&service](const httplib::Request&, httplib::Response& res) {
    const int n = service.queue.cancel_running("interrupted by /sdapi/v1/interrupt");
    send_json(res, 200, {{"interrupted", n}});
  });
}

}  // namespace sdfast::server
