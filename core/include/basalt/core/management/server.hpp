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
// Output is bounded per client and never blocks the caller: a client that
// does not read loses events (counted in stats(), one warning per episode)
// once its unsent output passes max_queued_event_bytes; answers and stream
// chunks are never dropped, and a client with more than max_queued_bytes of
// them unread is disconnected. stdout is written the same way when it is a
// pipe or a socket (a terminal or a file is written directly).
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
#include <cstdint>
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
    std::size_t max_line_bytes = 16 * 1024 * 1024;  // per request line read
    // Per client: an event that would take the client's unsent output past
    // this is dropped for that client. It gets events again once it has read
    // down to half of it. Also bounds the events emitted but not yet handed
    // to the clients (the io_context is busy).
    std::size_t max_queued_event_bytes = 4 * 1024 * 1024;
    // Per client: answers and stream chunks are queued up to this (a single
    // one into an empty queue always is); a client that would go past it is
    // disconnected. Must be at least max_queued_event_bytes.
    std::size_t max_queued_bytes = 16 * 1024 * 1024;
    boost::json::object ready_data;  // data of the `ready` event
  };

  // What the output bounds cost the clients, since the server was made.
  struct Stats {
    std::uint64_t events_dropped = 0;        // one per event per client that missed it
    std::uint64_t clients_disconnected = 0;  // for unread answers past max_queued_bytes
  };

  // Throws std::invalid_argument if max_queued_bytes < max_queued_event_bytes.
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

  // Sends `{"event": name, "data": data}` to every connected client. Never
  // blocks: the line is built on the calling thread and handed to the
  // io_context; see Options for when it is dropped.
  void emit(std::string_view event, boost::json::value data);

  // Thread-safe; for metrics.
  Stats stats() const;

  // Stops listening, closes every client (after writing what is queued for
  // it, for at most 2 s), removes the socket file.
  void close();

  // Stops accepting new clients and removes the socket file, so that another
  // process may listen on the path (a successor taking over); connected
  // clients stay. Call from any thread but the io_context's own while it
  // runs: returns once the file is gone (waits at most 5 s).
  void stop_listening();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace basalt::core::management
