// `sdfast serve`: asynchronous jobs: POST /v1/jobs (an OpenAI generations body, or an edits form
// sent as multipart/form-data) answers at once
// with an id; GET /v1/jobs/{id} gives state, progress and, once done, the result; DELETE cancels.
#include <ctime>

#include "openai_api.h"
#include "service.h"

namespace sdfast::server {

namespace {

Json job_json(const Job& job) {
  const JobStatus s = job.status();
  Json j = {{"id", job.id()},
            {"object", "image.job"},
            {"status", to_string(s.state)},
            {"progress", s.total_steps > 0 ? double(s.step) / s.total_steps : (s.state == JobState::Succeeded ? 1.0 : 0.0)},
            {"step", s.step},
            {"total_steps", s.total_steps},
            {"queued_s", s.queued_s},
            {"running_s", s.running_s},
            {"eta_s", s.eta_s}};
  if (s.state == JobState::Succeeded) j["result"] = openai_images_response(job.spec(), *job.output(), int64_t(std::time(nullptr)));
  if (s.state == JobState::Failed || s.state == JobState::Cancelled || !s.error.empty())
    j["error"] = s.error.empty() ? Json(nullptr) : Json(s.error);
  return j;
}

std::shared_ptr<Job> find_job(Service& service, const std::string& id) {
  auto job = service.queue.find(id);
  if (!job) throw ApiError(404, "invalid_request_error", "job_not_found", "id", "no job '" + id.substr(0, 80) + "' (finished jobs are kept for " + std::to_string(int(service.options.queue.kept_job_ttl_s)) + " s)");
  return job;
}

}  // namespace

void add_job_routes(httplib::Server& http, Service& service) {
  http.Post("/v1/jobs", [&service](const httplib::Request& req, httplib::Response& res) {
    ImageSpec spec = req.is_multipart_form_data()
                         ? parse_openai_edit(form_fields(req), service.parse)
                         : parse_openai_generation(parse_json_object(req.body, req.get_header_value("Content-Type")),
                                                   service.parse);
    auto job = service.queue.submit(std::move(spec), /*keep=*/true);
    res.set_header("Location", "/v1/jobs/" + job->id());
    send_json(res, 202, job_json(*job));
  });
  http.Get(R"(/v1/jobs/([A-Za-z0-9-]+))", [&service](const httplib::Request& req, httplib::Response& res) {
    send_json(res, 200, job_json(*find_job(service, req.matches[1])));
  });
  http.Delete(R"(/v1/jobs/([A-Za-z0-9-]+))", [&service](const httplib::Request& req, httplib::Response& res) {
    auto job = find_job(service, req.matches[1]);
    if (!job->finished()) {
      job->cancel("cancelled by DELETE /v1/jobs/" + job->id());
      job->wait_for(std::chrono::seconds(30));  // within one model step
    }
    send_json(res, 200, job_json(*job));
  });
}

}  // namespace sdfast::server
