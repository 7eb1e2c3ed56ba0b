// `sdfast serve`: what the HTTP routes share (the queue, metrics, limits, the model's name) and the
// helpers they answer with.
#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>
#include <string>

#include "api_error.h"
#include "image_spec.h"
#include "job_output.h"
#include "job_queue.h"
#include "json_fields.h"
#include "metrics.h"
#include "openai_api.h"
#include "server_options.h"

namespace sdfast::server {

struct Service {
  const ServerOptions& options;
  ParseContext parse;
  std::string model_name;
  int64_t model_created_unix = 0;
  JobQueue& queue;
  Metrics& metrics;
  std::atomic<bool> ready{false};  // the model is loaded and jobs are accepted
};

void send_json(httplib::Response& res, int status, const Json& body);
// The OpenAI-shaped error; 429 gets Retry-After, 401 WWW-Authenticate.
void send_error(httplib::Response& res, const ApiError& e);

// The parts of a multipart/form-data request as cpp-httplib parsed them (it answers 400 itself for
// a malformed body); ApiError 415 when the request was sent as another content type.
std::vector<FormField> form_fields(const httplib::Request& req);

// A blocking image request: queues `spec`, waits for it while the client stays connected (a client
// that disconnects cancels its run), and answers with `respond(spec, output)` or the job's error.
using Respond = std::function<Json(const ImageSpec& spec, const JobOutput& out)>;
void run_blocking(Service& service, const httplib::Request& req, httplib::Response& res, ImageSpec spec,
                  const Respond& respond);

// The routes, one function per API (routes_*.cpp).
void add_openai_routes(httplib::Server& http, Service& service);
void add_sdapi_routes(httplib::Server& http, Service& service);
void add_job_routes(httplib::Server& http, Service& service);
void add_operational_routes(httplib::Server& http, Service& service);

}  // namespace sdfast::server
