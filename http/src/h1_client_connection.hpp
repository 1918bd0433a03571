// One client-side HTTP/1.1 connection: one exchange at a time, both bodies
// streamed. The request head (and a buffered body) is written, the
// response head awaited; then one coroutine moves response bytes from the
// socket into the response Body (reading the socket only while the Body
// has room) and, for a streamed upload, another moves the caller's Body to
// the socket (Content-Length or chunked). After a 101 to an Upgrade request
// or a 2xx to CONNECT both coroutines carry raw tunnel bytes instead.
// Single-threaded: used on the transport's executor only.
#pragma once

#include "basalt/http/client.hpp"
#include "basalt/http/transport.hpp"
#include "request_target.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace basalt::http {

class H1ClientConnection : public std::enable_shared_from_this<H1ClientConnection> {
 public:
  using Clock = std::chrono::steady_clock;
  // Called once per exchange, when both bodies are done or it failed;
  // `reusable`: the connection is open, in sync and kept alive.
  using Release = std::function<void(std::shared_ptr<H1ClientConnection>, bool reusable)>;

  H1ClientConnection(std::unique_ptr<Transport> transport, const ClientOptions& options);
  ~H1ClientConnection();

  // Sends `request` and completes with the final response head (1xx
  // skipped) or an error. `deadline` bounds the exchange up to the head.
  // `retry` is set when the failure is the keep-alive race on a reused
  // connection and sending the request again is safe.
  boost::asio::awaitable<ClientStream> exchange(const ClientRequest& request, const RequestTarget& target,
                                                Clock::time_point deadline, Release release, bool& retry);

  // Closed, or the server closed it (or sent something) while it was idle.
  bool stale();
  std::size_t exchanges() const noexcept { return exchanges_; }
  Clock::time_point created() const noexcept { return created_; }
  // While idle in the pool: `on_expire` runs after `after` unless disarmed.
  void arm_idle(std::chrono::milliseconds after, std::function<void()> on_expire);
  void disarm_idle();
  void close();

 private:
  struct Exchange;
  boost::asio::awaitable<void> send_body(std::shared_ptr<Exchange> x);
  boost::asio::awaitable<void> pump_response(std::shared_ptr<Exchange> x);
  boost::asio::awaitable<void> tunnel_in(std::shared_ptr<Exchange> x);
  boost::asio::awaitable<void> tunnel_out(std::shared_ptr<Exchange> x);

  std::unique_ptr<Transport> transport_;
  ClientOptions options_;
  Clock::time_point created_ = Clock::now();
  std::size_t exchanges_ = 0;
  boost::asio::steady_timer idle_timer_;
  std::uint64_t idle_generation_ = 0;
};

}  // namespace basalt::http
