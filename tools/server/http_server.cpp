// `sdfast serve`: cpp-httplib set-up shared by every route.
#include "http_server.h"

#include <chrono>

#include "openai_api.h"
#include "sdfast/error.h"

namespace sdfast::server {

bool constant_time_equal(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

namespace {

using Clock = std::chrono::steady_clock;

// When the request this thread is serving started (cpp-httplib serves a request on one thread from
// the pre-routing handler to the logger); reset after each so that requests refused before routing
// (413) count without a time.
thread_local Clock::time_point request_start{};

// The route a path belongs to, for metric labels (bounded: never the raw path).
std::string route_of(const httplib::Request& req) {
  static const char* const kRoutes[] = {"/v1/images/generations", "/v1/images/edits", "/v1/models", "/v1/jobs",
                                        "/sdapi/v1/txt2img", "/sdapi/v1/img2img", "/sdapi/v1/samplers",
                                        "/sdapi/v1/sd-models", "/sdapi/v1/progress", "/sdapi/v1/interrupt",
                                        "/health", "/ready", "/metrics"};
  for (const char* r : kRoutes)
    if (req.path == r) return r;
  if (req.path.rfind("/v1/jobs/", 0) == 0) return "/v1/jobs/{id}";
  return "other";
}

bool public_route(const std::string& path) { return path == "/health" || path == "/ready"; }

}  // namespace

HttpServer::HttpServer(Service& service) : service_(service) {
  const ServerOptions& opt = service.options;
  const size_t threads = opt.http_threads > 0 ? size_t(opt.http_threads)
                                              : size_t(opt.queue.workers) + opt.queue.max_queue + 16;
  http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_.set_payload_max_length(opt.limits.max_body_bytes);
  http_.set_read_timeout(opt.read_timeout_s, 0);
  http_.set_write_timeout(opt.write_timeout_s, 0);
  http_.set_keep_alive_timeout(std::min(opt.read_timeout_s, 5));
  if (!opt.cors_origin.empty())
    http_.set_default_headers({{"Access-Control-Allow-Origin", opt.cors_origin}, {"Vary", "Origin"}});

  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    request_start = Clock::now();
    const ServerOptions& o = service_.options;
    if (req.method == "OPTIONS" && !o.cors_origin.empty()) {  // CORS preflight
      res.status = 204;
      res.set_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
      res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
      res.set_header("Access-Control-Max-Age", "600");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!o.api_key.empty() && !public_route(req.path)) {
      const std::string auth = req.get_header_value("Authorization");
      const std::string prefix = "Bearer ";
      const bool ok = auth.size() > prefix.size() && auth.compare(0, prefix.size(), prefix) == 0 &&
                      constant_time_equal(auth.substr(prefix.size()), o.api_key);
      if (!ok) {
        send_error(res, ApiError(401, "invalid_request_error", "invalid_api_key", "",
                                 auth.empty() ? "this server needs an API key: send 'Authorization: Bearer KEY'"
                                              : "the API key is not valid"));
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // Handlers throw ApiError (and the engine Error); every one becomes a JSON error.
  http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const ApiError& e) {
      send_error(res, e);
    } catch (const InvalidArgument& e) {
      send_error(res, ApiError(400, "invalid_request_error", "invalid_value", "", e.what()));
    } catch (const std::exception& e) {
      send_error(res, ApiError(500, "server_error", "internal_error", "", e.what()));
    } catch (...) {
      send_error(res, ApiError(500, "server_error", "internal_error", "", "unknown failure"));
    }
  });

  // Errors cpp-httplib answers itself (no route, body over the limit, bad request line) get a JSON
  // body too; bodies a handler already wrote stay.
  http_.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                       httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const int status = res.status;
    if (status == 404)
      send_error(res, ApiError(404, "invalid_request_error", "not_found", "",
                               "no route " + req.method + " " + req.path.substr(0, 200)));
    else if (status == 413)
      send_error(res, ApiError(413, "invalid_request_error", "body_too_large", "",
                               "the request body is over this server's limit of " +
                                   std::to_string(service_.options.limits.max_body_bytes) + " bytes"));
    else if (status == 400 && req.is_multipart_form_data())
      send_error(res, ApiError(400, "invalid_request_error", "invalid_multipart", "",
                               "the multipart/form-data body could not be read (a boundary missing from "
                               "Content-Type, or parts cut off or malformed)"));
    else
      send_error(res, ApiError(status, "invalid_request_error", "http_error",
                               "", "HTTP " + std::to_string(status) + " for " + req.method + " " +
                                       req.path.substr(0, 200)));
    res.status = status;
    return httplib::Server::HandlerResponse::Handled;
  }));

  http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const double seconds = request_start == Clock::time_point{}
                               ? 0.0
                               : std::chrono::duration<double>(Clock::now() - request_start).count();
    request_start = Clock::time_point{};
    service_.metrics.request(route_of(req), res.status, seconds);
  });

  add_openai_routes(http_, service_);
  add_sdapi_routes(http_, service_);
  add_job_routes(http_, service_);
  add_operational_routes(http_, service_);
}

int HttpServer::bind() {
  const ServerOptions& o = service_.options;
  const int port = o.port == 0 ? http_.bind_to_any_port(o.host) : (http_.bind_to_port(o.host, o.port) ? o.port : -1);
  if (port <= 0)
    throw Error("sdfast serve: cannot listen on " + o.host + ":" + std::to_string(o.port) +
                " (address in use, or not an address of this machine)");
  return port;
}

void HttpServer::listen() { http_.listen_after_bind(); }

void HttpServer::stop() { http_.stop(); }

}  // namespace sdfast::server
