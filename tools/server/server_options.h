// `sdfast serve`: the server's settings (command-line options of `sdfast serve`).
#pragma once

#include <string>

#include "job_queue.h"
#include "request_limits.h"

namespace sdfast::server {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  int port = 7860;                 // 0: any free port (printed when listening)
  QueueOptions queue;
  RequestLimits limits;
  std::string api_key;      // non-empty: every route but /health and /ready needs "Authorization: Bearer KEY"
  std::string cors_origin;  // non-empty: CORS headers for this origin ("*" for any)
  int read_timeout_s = 10;  // a client that sends nothing for this long is disconnected (slow clients)
  int write_timeout_s = 30;
  int http_threads = 0;     // connections served at once; 0: workers + max_queue + 16
  double shutdown_grace_s = 30;  // SIGTERM: running and queued jobs get this long to finish
};

}  // namespace sdfast::server
