// `sdfast serve`: noticing that the client of a blocking request has gone away, so that its run
// can be cancelled instead of finishing for nobody.
//
// cpp-httplib 0.11 (Debian 12) hands a handler no access to its connection (later versions have
// Request::is_connection_closed). The handler runs while the connection stays open, so its socket
// is found once, among the process's sockets, as the one whose two ends are the request's
// local and remote address and port; then it is polled without reading anything.
#pragma once

#include <string>

namespace sdfast::server {

class ClientConnection {
 public:
  ClientConnection(const std::string& local_addr, int local_port, const std::string& remote_addr, int remote_port);
  // True once the peer has closed or reset the connection (false while it is open, and when the
  // socket could not be found).
  bool closed() const;

 private:
  int fd_ = -1;
};

}  // namespace sdfast::server
