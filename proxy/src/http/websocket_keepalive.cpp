// WebSocketKeepalive (websocket_keepalive.hpp).
#include "http/websocket_keepalive.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>

namespace basalt::proxy {

namespace asio = boost::asio;
using boost::system::error_code;

asio::awaitable<void> WebSocketKeepalive::Gate::lock() {
  while (busy) {
    wake.expires_at(Clock::time_point::max());
    co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  busy = true;
}

void WebSocketKeepalive::Gate::unlock() {
  busy = false;
  wake.cancel();
}

WebSocketKeepalive::WebSocketKeepalive(asio::any_io_executor executor, const WebSocketOptions& options,
                                       std::shared_ptr<http::Body> to_backend,
                                       http::ResponseWriter& to_client,
                                       std::function<void(std::string_view)> on_dead)
    : options_(options),
      to_backend_(std::move(to_backend)),
      to_client_(to_client),
      on_dead_(std::move(on_dead)),
      up_gate_(executor),
      down_gate_(executor),
      timer_(executor) {}

asio::awaitable<bool> WebSocketKeepalive::relay_up(std::string_view chunk, error_code& ec) {
  last_traffic_ = Clock::now();
  std::string out;
  std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(chunk.data()), chunk.size());
  auto r = up_.feed(bytes, out);
  if (r.pong_seen) client_ping_ = {};
  if (r.close_seen) closing_ = true;
  if (!r.ok()) {
    dead(std::string("client broke WebSocket framing: ") +
         std::string(WebSocketFrameTracker::describe(r.error)));
    ec = make_error_code(http::BodyError::kProtocol);
    co_return false;
  }
  if (out.empty()) co_return true;
  co_await up_gate_.lock();
  co_await to_backend_->write(out, ec);
  up_gate_.unlock();
  co_return !ec;
}

asio::awaitable<bool> WebSocketKeepalive::relay_down(std::string_view chunk, error_code& ec) {
  last_traffic_ = Clock::now();
  std::string out;
  std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(chunk.data()), chunk.size());
  auto r = down_.feed(bytes, out);
  if (r.pong_seen) backend_ping_ = {};
  if (r.close_seen) closing_ = true;
  if (!r.ok()) {
    dead(std::string("backend broke WebSocket framing: ") +
         std::string(WebSocketFrameTracker::describe(r.error)));
    ec = make_error_code(http::BodyError::kProtocol);
    co_return false;
  }
  if (out.empty()) co_return true;
  co_await down_gate_.lock();
  co_await to_client_.write(out, ec);
  down_gate_.unlock();
  co_return !ec;
}

std::string WebSocketKeepalive::token() {
  const std::uint64_t v = random_();
  return std::string(reinterpret_cast<const char*>(&v), sizeof v);
}

asio::awaitable<bool> WebSocketKeepalive::ping_backend() {
  if (!up_.at_frame_boundary() || up_gate_.busy) co_return true;  // next round
  const std::string t = token();
  const std::uint64_t key = random_();
  std::array<std::uint8_t, 4> mask{};
  std::copy_n(reinterpret_cast<const std::uint8_t*>(&key), 4, mask.begin());
  scratch_ = WebSocketFrameTracker::ping_frame(t, true, mask);
  down_.expect_pong(t);
  backend_ping_ = Clock::now();
  co_await up_gate_.lock();
  error_code ec;
  co_await to_backend_->write(scratch_, ec);
  up_gate_.unlock();
  co_return !ec;
}

asio::awaitable<bool> WebSocketKeepalive::ping_client() {
  if (!down_.at_frame_boundary() || down_gate_.busy) co_return true;
  const std::string t = token();
  std::string frame = WebSocketFrameTracker::ping_frame(t, false, {});
  up_.expect_pong(t);
  client_ping_ = Clock::now();
  co_await down_gate_.lock();
  error_code ec;
  co_await to_client_.write(frame, ec);
  down_gate_.unlock();
  co_return !ec;
}

asio::awaitable<void> WebSocketKeepalive::run() {
  auto self = shared_from_this();
  const auto tick =
      std::max(std::chrono::milliseconds(10), std::min(options_.ping_interval, options_.ping_timeout) / 4);
  Clock::time_point closing_since{};
  while (!stopped_) {
    timer_.expires_after(tick);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopped_) co_return;
    const auto now = Clock::now();
    if (closing_) {
      // A Close frame has passed: no more pings, and the tunnel stays until
      // the other side's Close has come back through it and the backend has
      // closed (the relays end it). Returning here cut the answering Close
      // off whenever it took longer than a tick: the client saw 1006. A side
      // that never answers the Close costs at most pingTimeout.
      if (closing_since == Clock::time_point{}) closing_since = now;
      if (now - closing_since >= options_.ping_timeout) {
        dead("the closing handshake did not complete");
        co_return;
      }
      continue;
    }
    if (going_away_) {
      co_await send_close();
      co_return;
    }
    const auto overdue = [&](Clock::time_point since) {
      return since != Clock::time_point{} && now - since >= options_.ping_timeout;
    };
    if (overdue(backend_ping_)) {
      dead("the backend did not answer a ping");
      co_return;
    }
    if (overdue(client_ping_)) {
      dead("the client did not answer a ping");
      co_return;
    }
    if (now - last_traffic_ < options_.ping_interval) continue;
    if (backend_ping_ == Clock::time_point{} && !co_await ping_backend()) co_return;
    if (client_ping_ == Clock::time_point{} && !co_await ping_client()) co_return;
    last_traffic_ = now;  // the next round waits another interval
  }
}

void WebSocketKeepalive::go_away() {
  if (going_away_ || stopped_) return;
  going_away_ = true;
  timer_.cancel();
}

asio::awaitable<void> WebSocketKeepalive::send_close() {
  // Between frames on both sides (a frame being relayed finishes first);
  // the caller closes the connection a moment later in any case.
  const auto give_up = Clock::now() + std::chrono::milliseconds(500);
  while ((!up_.at_frame_boundary() || !down_.at_frame_boundary() || up_gate_.busy || down_gate_.busy) &&
         Clock::now() < give_up) {
    timer_.expires_after(std::chrono::milliseconds(10));
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  const std::uint64_t key = random_();
  std::array<std::uint8_t, 4> mask{};
  std::copy_n(reinterpret_cast<const std::uint8_t*>(&key), 4, mask.begin());
  constexpr std::uint16_t kGoingAway = 1001;
  scratch_ = WebSocketFrameTracker::close_frame(kGoingAway, "route removed", true, mask);
  const std::string to_client = WebSocketFrameTracker::close_frame(kGoingAway, "route removed", false, {});
  error_code ec;
  co_await up_gate_.lock();
  co_await to_backend_->write(scratch_, ec);
  up_gate_.unlock();
  co_await down_gate_.lock();
  co_await to_client_.write(to_client, ec);
  down_gate_.unlock();
  dead("the route was removed and its drainGrace is over");
}

void WebSocketKeepalive::stop() {
  stopped_ = true;
  timer_.cancel();
}

void WebSocketKeepalive::dead(std::string_view why) {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
  if (on_dead_) on_dead_(why);
}

}  // namespace basalt::proxy
