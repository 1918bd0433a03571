// An HTTP server: HTTP/1.1 and HTTP/2 over TLS (chosen by ALPN), and
// cleartext HTTP/1.1 (plus HTTP/2 with prior knowledge) for listeners such as
// a Prometheus /metrics endpoint.
//
//   core::Runtime runtime;
//   http::Router router;
//   router.add("/metrics", {"GET"}, metrics_handler);
//   http::Server server(runtime, router.handler());
//   server.listen({.endpoint = *core::Endpoint::parse("127.0.0.1:9090")});
//   server.attach(shutdown);
//   runtime.run();
//
// Every listen() opens one socket per Runtime worker with SO_REUSEPORT; each
// connection is served start to finish on the worker that accepted it, and
// its handlers run there as coroutines. Limits (limits.hpp) bound every
// connection; Stats counts what happened. For TLS, create the
// core::TlsServerContext with `alpn = http::alpn_protocols()`: HTTP/2 is
// used only when ALPN picks it. Replacing the context's certificates
// (TlsServerContext::set_certificates) affects new handshakes only; open
// connections keep going.
//
// Thread-safety: listen(), stop() and attach() may be called from any one
// thread at a time; stats() from anywhere. Lifetime: the Server must outlive
// the Runtime's threads (destroy it after runtime.join() or run() returned).
#pragma once

#include "basalt/core/ip.hpp"
#include "basalt/core/tls.hpp"
#include "basalt/http/handler.hpp"
#include "basalt/http/limits.hpp"
#include "basalt/http/stats.hpp"
#include "basalt/http/stream_handler.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace basalt::core {
class Runtime;
class Shutdown;
}  // namespace basalt::core

namespace basalt::http {

// The ALPN list a TLS listener should offer, in preference order:
// {"h2", "http/1.1"}. Put it into core::TlsServerOptions::alpn.
inline std::vector<std::string> alpn_protocols() {
  return {"h2", "http/1.1"};
}

struct ListenOptions {
  // Port 0 picks a free port (returned by listen()).
  core::Endpoint endpoint{core::IpAddress::v4_loopback(), 0};
  // Absent: cleartext HTTP.
  std::optional<core::TlsServerContext> tls;
  // Cleartext only: accept HTTP/2 from clients that start with the HTTP/2
  // connection preface (prior knowledge, RFC 9113 §3.3).
  bool h2c = true;
};

class Server {
 public:
  // `handler` is called for every request with the head, and reads the body
  // and writes the response as streams (stream_handler.hpp); a Router's
  // stream_handler() routes by path.
  Server(core::Runtime& runtime, StreamHandler handler, Limits limits = {});
  // A buffered handler (whole request in, whole response out; handler.hpp),
  // served through http::buffered(handler, limits.max_body_bytes).
  Server(core::Runtime& runtime, Handler handler, Limits limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens one listening socket per worker on `options.endpoint` and starts
  // accepting (as soon as the runtime runs). Returns the bound port.
  // Throws std::system_error naming the address when binding fails.
  std::uint16_t listen(const ListenOptions& options);

  // Graceful stop: closes the listening sockets, lets in-flight requests
  // finish (HTTP/1.1 connections close after their current response,
  // HTTP/2 connections get GOAWAY(NO_ERROR) and finish their open streams),
  // closes idle connections. Returns at once; idempotent.
  void stop();

  // Ties the server to a graceful shutdown: every connection holds a
  // Shutdown::Token, and shutdown.begin() calls stop(). Call before listen().
  void attach(core::Shutdown& shutdown);

  const Stats& stats() const noexcept;
  const Limits& limits() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::http
