// One client-side HTTP/2 connection (nghttp2 over a Transport): many
// concurrent requests as streams, a reader and a writer coroutine.
// Single-threaded: used on the transport's executor only.
#pragma once

#include "basalt/http/client.hpp"
#include "transport.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>

namespace basalt::http {

struct RequestTarget {
  std::string scheme;  // "https" / "http"
  std::string host;    // without brackets
  std::uint16_t port = 0;
  std::string authority;  // host[:port] as sent
  std::string path;       // path?query, at least "/"
};

class H2ClientConnection : public std::enable_shared_from_this<H2ClientConnection> {
 public:
  using Clock = std::chrono::steady_clock;

  H2ClientConnection(std::unique_ptr<Transport> transport, const ClientOptions& options);
  ~H2ClientConnection();

  // Starts the reader and writer; call once, right after construction.
  void start();
  // Open, no GOAWAY received, below the server's stream limit.
  bool usable() const;
  bool idle() const;
  Clock::time_point last_used() const { return last_used_; }

  boost::asio::awaitable<ClientResult> request(const ClientRequest& request, const RequestTarget& target,
                                               Clock::time_point deadline);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Clock::time_point last_used_ = Clock::now();
};

}  // namespace basalt::http
