// `sdfast serve`: liveness, readiness and Prometheus metrics.
#include "service.h"

namespace sdfast::server {

void add_operational_routes(httplib::Server& http, Service& service) {
  http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"status", "ok"}});
  });
  http.Get("/ready", [&service](const httplib::Request&, httplib::Response& res) {
    const bool ready = service.ready && service.queue.accepting();
    send_json(res, ready ? 200 : 503,
              {{"status", ready ? "ready" : "not ready"},
               {"model", service.model_name},
               {"queued", service.queue.queued()},
               {"running", service.queue.running()}});
  });
  http.Get("/metrics", [&service](const httplib::Request&, httplib::Response& res) {
    res.set_content(service.metrics.text(service.queue.queued(), service.queue.running(),
                                         service.options.queue.workers, service.ready && service.queue.accepting()),
                    "text/plain; version=0.0.4");
  });
}

}  // namespace sdfast::server
