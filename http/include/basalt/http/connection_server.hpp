// Serves HTTP on a connection accepted elsewhere: a program that owns its
// listening sockets and its TLS (basalt-proxy reads the ClientHello, picks
// a route and ends TLS itself) hands the resulting stream over here, with
// the handler for that connection's requests.
//
//   http::ConnectionServer server(limits);          // one per worker thread
//   co_await server.serve(std::move(transport), client, handler,
//                         http::ConnectionServer::Protocol::kDetect);
//
// The sessions are the Server's (server.hpp): the same limits, stats,
// backpressure and upgrade/tunnel rules. Thread-safety: one ConnectionServer
// per worker thread; serve() and drain() on that thread, stats() anywhere.
#pragma once

#include "basalt/core/ip.hpp"
#include "basalt/http/limits.hpp"
#include "basalt/http/stats.hpp"
#include "basalt/http/stream_handler.hpp"
#include "basalt/http/transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

namespace basalt::http {

struct ServerShared;
struct WorkerConnections;

class ConnectionServer {
 public:
  enum class Protocol {
    kHttp1,   // HTTP/1.x
    kHttp2,   // HTTP/2 (ALPN h2, or a preface already seen in `initial`)
    kDetect,  // cleartext: HTTP/2 if the bytes start with its preface, else HTTP/1.x
  };

  explicit ConnectionServer(Limits limits = {});
  ~ConnectionServer();
  ConnectionServer(const ConnectionServer&) = delete;
  ConnectionServer& operator=(const ConnectionServer&) = delete;

  // Serves `transport` (connected; TLS already handshaken) until it closes.
  // `initial` holds bytes already read from it. Never throws.
  boost::asio::awaitable<void> serve(std::unique_ptr<Transport> transport, core::Endpoint remote,
                                     std::shared_ptr<const StreamHandler> handler, Protocol protocol,
                                     std::string initial = {});

  // Graceful stop of every connection being served: HTTP/1.1 closes after
  // the current response, HTTP/2 sends GOAWAY and finishes open streams.
  // New connections given to serve() afterwards are drained at once.
  void drain();

  const Stats& stats() const noexcept;
  const Limits& limits() const noexcept;

 private:
  std::shared_ptr<ServerShared> shared_;
  std::shared_ptr<WorkerConnections> connections_;
};

}  // namespace basalt::http
