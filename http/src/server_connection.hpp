// What the server's per-connection sessions (HTTP/1.1 and HTTP/2) share:
// the server-wide state, the per-worker list of live connections that a
// graceful stop walks, and the handler call with its timeout and catch.
#pragma once

#include "basalt/core/shutdown.hpp"
#include "basalt/http/limits.hpp"
#include "basalt/http/stats.hpp"
#include "basalt/http/stream_handler.hpp"
#include "basalt/http/transport.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

namespace basalt::http {

// Server-wide, shared by every connection; outlives them (held by shared_ptr).
struct ServerShared {
  StreamHandler handler;
  Limits limits;
  Stats stats;
  std::atomic<bool> draining{false};
  core::Shutdown* shutdown = nullptr;  // set before serving; tokens keep drain waiting
};

// A live connection a graceful stop can ask to finish.
class Connection {
 public:
  virtual ~Connection() = default;
  // Stop taking new requests, finish in-flight ones, then close (HTTP/2:
  // GOAWAY). Called on the connection's worker thread.
  virtual void drain() = 0;
};

// One per worker, touched only on that worker's thread.
struct WorkerConnections {
  std::unordered_set<Connection*> live;
  bool draining = false;
};

struct ConnectionContext {
  std::shared_ptr<ServerShared> shared;
  // This connection's handler (ConnectionServer::serve); null: shared->handler.
  std::shared_ptr<const StreamHandler> handler;
  std::shared_ptr<WorkerConnections> worker;
  core::Endpoint remote;
  std::optional<core::Shutdown::Token> token;
};

// One handler call's cancellation, for whoever enforces handler_timeout.
struct HandlerCall {
  boost::asio::cancellation_signal cancel;
  bool timed_out = false;
};

// Calls the handler for one exchange and sees it through: 500 when it
// throws or returns without a head (a reset when the head was out),
// finish() when it returns with the body still open. Completes when the
// handler returned. No timer of its own: the caller's watchdog calls
// time_out() when limits.handler_timeout passes without a head.
boost::asio::awaitable<void> call_handler(ServerShared& shared, const StreamHandler& handler,
                                          ServerRequest request, std::shared_ptr<ResponseWriter> writer,
                                          HandlerCall& call);
// handler_timeout passed: unless the head is out, answer 503 at once and
// cancel the handler (terminal cancellation of what it awaits).
void time_out(ServerShared& shared, HandlerCall& call, const std::shared_ptr<ResponseWriter>& writer,
              const boost::asio::any_io_executor& executor);

// call_handler() with a timer of its own for handler_timeout (for sessions
// without a per-exchange watchdog: HTTP/2 streams, HTTP/1.1 exchanges
// whose body streams beside the handler).
boost::asio::awaitable<void> run_handler(ServerShared& shared, const StreamHandler& handler,
                                         ServerRequest request, std::shared_ptr<ResponseWriter> writer);

// The handler a connection's requests go to.
inline const StreamHandler& handler_of(const ConnectionContext& ctx) noexcept {
  return ctx.handler ? *ctx.handler : ctx.shared->handler;
}

// Count the response's status class.
void count_response(Stats& stats, int status) noexcept;

// Serve one connection until it closes. `initial` holds bytes already read
// (while telling HTTP/1.1 from HTTP/2 prior knowledge). Never throw.
boost::asio::awaitable<void> serve_http1(std::unique_ptr<Transport> transport, ConnectionContext context,
                                         std::string initial);
boost::asio::awaitable<void> serve_http2(std::unique_ptr<Transport> transport, ConnectionContext context,
                                         std::string initial);
// Cleartext: reads (within limits.handshake_timeout) until the bytes are the
// HTTP/2 preface or cannot be, then serves HTTP/2 or HTTP/1.1.
boost::asio::awaitable<void> serve_cleartext(std::unique_ptr<Transport> transport, ConnectionContext context,
                                             std::string initial);

}  // namespace basalt::http
