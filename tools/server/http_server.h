// `sdfast serve`: the HTTP server: cpp-httplib with the routes, bearer-token auth, optional CORS,
// JSON errors for everything (unknown routes, bodies over the limit, exceptions), request metrics,
// timeouts against slow clients, and a graceful stop.
#pragma once

#include <httplib.h>

#include <memory>
#include <string>

#include "service.h"

namespace sdfast::server {

class HttpServer {
 public:
  explicit HttpServer(Service& service);
  // Binds host:port (port 0: any free one); returns the port. Throws sdfast::Error when it cannot.
  int bind();
  // Serves until stop(); returns when every connection's handler has finished.
  void listen();
  // Stops accepting connections; listen() returns once the handlers running now have answered.
  void stop();

 private:
  Service& service_;
  httplib::Server http_;
};

// Compares a secret in time that depends on the lengths only, not on where the texts differ.
bool constant_time_equal(const std::string& a, const std::string& b);

}  // namespace sdfast::server
