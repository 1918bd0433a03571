// One client-side HTTP/2 connection (nghttp2 over a Transport): concurrent
// requests as streams, a reader and a writer coroutine. Response bodies
// stream into a Body per stream; WINDOW_UPDATE is sent only for bytes the
// caller consumed (automatic window updates are off), so a slow reader
// holds at most the stream window per stream. Request bodies stream from
// the caller's Body through an nghttp2 data provider. Extended CONNECT
// (RFC 8441) runs a byte tunnel over a stream.
// Single-threaded: used on the transport's executor only.
#pragma once

#include "basalt/http/client.hpp"
#include "basalt/http/transport.hpp"
#include "request_target.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace basalt::http {

class H2ClientConnection : public std::enable_shared_from_this<H2ClientConnection> {
 public:
  using Clock = std::chrono::steady_clock;

  // `on_change` is posted whenever the connection may take more streams
  // or ended (a stream closed, SETTINGS or GOAWAY arrived, it closed).
  H2ClientConnection(std::unique_ptr<Transport> transport, const ClientOptions& options,
                     std::function<void()> on_change);
  ~H2ClientConnection();

  // Starts the reader and writer; call once, right after construction.
  void start();
  // Takes a new stream now: open, no GOAWAY, below the server's
  // SETTINGS_MAX_CONCURRENT_STREAMS and not retired (requests, age).
  bool accepts_stream() const;
  bool idle() const;
  bool closed() const;

  // Opens a stream for `request`; completes with the final head or an
  // error. `retry` is set when the server refused the stream without
  // processing it (GOAWAY, REFUSED_STREAM) and nothing of a streamed body
  // was taken.
  boost::asio::awaitable<ClientStream> open(const ClientRequest& request, const RequestTarget& target,
                                            Clock::time_point deadline, bool& retry);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::http
