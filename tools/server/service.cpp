// `sdfast serve`: answering, and running blocking image requests.
#include "service.h"

#include "client_connection.h"
#include "openai_api.h"

namespace sdfast::server {

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n", "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
  if (e.status == 429) res.set_header("Retry-After", "1");
  if (e.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  send_json(res, e.status, error_body(e.what(), e.type, e.param, e.code));
}

std::vector<FormField> form_fields(const httplib::Request& req) {
  if (!req.is_multipart_form_data())
    throw ApiError(415, "invalid_request_error", "unsupported_media_type", "",
                   "the request body must be sent as Content-Type: multipart/form-data (the image as a file "
                   "field), got '" + req.get_header_value("Content-Type").substr(0, 100) + "'");
  std::vector<FormField> form;
  form.reserve(req.files.size());
  for (const auto& [name, part] : req.files) form.push_back({part.name, part.content, part.filename, part.content_type});
  return form;
}

void run_blocking(Service& service, const httplib::Request& req, httplib::Response& res, ImageSpec spec,
                  const Respond& respond) {
  std::shared_ptr<Job> job = service.queue.submit(std::move(spec), /*keep=*/false);
  const ClientConnection client(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
  bool client_gone = false;
  while (!job->wait_for(std::chrono::milliseconds(50))) {
    if (!client_gone && client.closed()) {
      client_gone = true;
      job->cancel("the client closed the connection");
    }
  }
  service.queue.forget(job->id());
  const JobStatus status = job->status();
  res.set_header("X-Sdfast-Job", job->id());
  switch (status.state) {
    case JobState::Succeeded: send_json(res, 200, respond(job->spec(), *job->output())); return;
    case JobState::Failed:
      send_error(res, ApiError(status.error_status >= 400 ? status.error_status : 500,
                               status.error_status == 400 ? "invalid_request_error" : "server_error",
                               "generation_failed", "", status.error));
      return;
    default:  // cancelled: by the client going away (nobody reads this), DELETE, interrupt or shutdown
      send_error(res, ApiError(status.error_status, "server_error", "cancelled", "",
                               "the job was cancelled: " + status.error));
      return;
  }
}

}  // namespace sdfast::server
