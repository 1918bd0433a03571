// Serves the management protocol (see message.hpp) to drivers over stdio
// (`--management`: the driver spawned us) and over a Unix socket
// (`--management-socket PATH`: any number of clients at once).
//
// Every client gets the `ready` event when it can send requests; requests
// from one client may be answered out of order (answers carry the request id);
// stream chunks and the answer go to the client that asked; events go to
// every connected client. A malformed or overlong line is answered with an
// error and the connection stays open. On stdio, stdout carries protocol
// lines only (logs go to stderr).
//
// Lifetime: construct on an io_context (usually Runtime::control()); the
// Server must outlive that context's run. Thread-safety: emit() and close()
// may be called from any thread; everything else from the io_context's thread
// or before it runs.
#pragma once

#include "basalt/core/management/registry.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace basalt::core::management {

class Server {
 public:
  struct Options {
    std::size_t max_line_bytes = 16 * 1024 * 1024;
    std::size_t max_pending_bytes =
        64 * 1024 * 1024;            // per socket client; a client this far behind is dropped
    boost::json::object ready_data;  // data of the `ready` event
  };

  Server(boost::asio::io_context& io, const Registry& registry, Options options);
  Server(boost::asio::io_context& io, const Registry& registry) : Server(io, registry, Options{}) {}
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Reads requests from stdin and writes lines to stdout. `on_eof` runs (on
  // the io_context) when stdin closes: the driver is gone.
  void serve_stdio(std::function<void()> on_eof);

  // Listens on a Unix socket at `path` (mode 0600). A stale socket file is
  // replaced; a live one (another daemon answers) is an error. Throws
  // std::system_error naming the path.
  void listen_unix(const std::string& path);

  // Sends `{"event": name, "data": data}` to every connected client.
  void emit(std::string_view event, boost::json::value data);

  // Stops listening, closes every client, removes the socket file.
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace basalt::core::management
