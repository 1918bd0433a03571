// Keep-alive for a proxied WebSocket tunnel (route `websocket: {pingInterval,
// pingTimeout}`): when no byte has crossed the tunnel for pingInterval, the
// proxy sends a Ping of its own to both sides, between their frames
// (WebSocketFrameTracker), and swallows the Pongs that answer it; a side
// that has not answered within pingTimeout ends the tunnel. Every other
// byte passes through unchanged.
//
// The tunnel's two relay loops call relay_up() / relay_down() for every
// chunk instead of writing it themselves; run() is the pinger. Both sides'
// writes go through a gate so that the pinger's frame never lands inside a
// chunk being written.
//
// Lifetime: shared by the two loops and the pinger (std::shared_ptr); all
// on the exchange's worker thread. Bounds: the trackers hold at most
// WebSocketFrameTracker::kMaxBuffered bytes each; one ping in flight per side.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>

#include "basalt/http/body.hpp"
#include "basalt/http/stream_handler.hpp"
#include "basalt/proxy/options.hpp"
#include "http/websocket_frames.hpp"

namespace basalt::proxy {

class WebSocketKeepalive : public std::enable_shared_from_this<WebSocketKeepalive> {
 public:
  using Clock = std::chrono::steady_clock;

  // `to_backend`: the body the backend reads (client bytes go there);
  // `to_client`: the exchange's response writer. `on_dead` ends the tunnel
  // (called once, with the reason).
  WebSocketKeepalive(boost::asio::any_io_executor executor, const WebSocketOptions& options,
                     std::shared_ptr<http::Body> to_backend, http::ResponseWriter& to_client,
                     std::function<void(std::string_view)> on_dead);

  // A chunk from the client, for the backend. False: the tunnel must end
  // (`ec` set: the write failed, or the client broke the framing).
  boost::asio::awaitable<bool> relay_up(std::string_view chunk, boost::system::error_code& ec);
  // A chunk from the backend, for the client.
  boost::asio::awaitable<bool> relay_down(std::string_view chunk, boost::system::error_code& ec);

  // The pinger; returns once the tunnel ended (stop()) or a side is dead.
  // After a Close frame it only waits (for the relays to end the tunnel),
  // for at most pingTimeout.
  boost::asio::awaitable<void> run();
  void stop();
  // The route was removed and its drainGrace is over: send Close (1001,
  // "route removed") to both sides between their frames, then end the
  // tunnel (on_dead). Idempotent.
  void go_away();

 private:
  // One writer at a time towards one side.
  struct Gate {
    explicit Gate(const boost::asio::any_io_executor& ex) : wake(ex) {}
    boost::asio::awaitable<void> lock();
    void unlock();
    bool busy = false;
    boost::asio::steady_timer wake;
  };
  // Sends a ping towards one side when its bytes end between frames.
  boost::asio::awaitable<bool> ping_backend();
  boost::asio::awaitable<bool> ping_client();
  std::string token();
  void dead(std::string_view why);

  WebSocketOptions options_;
  std::shared_ptr<http::Body> to_backend_;
  http::ResponseWriter& to_client_;
  std::function<void(std::string_view)> on_dead_;
  WebSocketFrameTracker up_{true};     // client -> backend (masked)
  WebSocketFrameTracker down_{false};  // backend -> client
  Gate up_gate_;
  Gate down_gate_;
  boost::asio::steady_timer timer_;
  Clock::time_point last_traffic_ = Clock::now();
  Clock::time_point backend_ping_{};  // outstanding since; {} = none
  Clock::time_point client_ping_{};
  bool closing_ = false;  // a Close frame passed: no more pings
  bool going_away_ = false;
  boost::asio::awaitable<void> send_close();
  bool stopped_ = false;
  std::mt19937_64 random_{std::random_device{}()};
  std::string scratch_;
};

}  // namespace basalt::proxy
