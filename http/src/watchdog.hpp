// A movable deadline for one connection: the session moves it as it
// changes state (idle, reading a request, writing), and one waiting
// coroutine wakes when it passes. Cheaper and simpler than a timer race on
// every read; the expiry callback decides what to do (408, GOAWAY, close).
// Single-threaded: use on the connection's executor only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

namespace basalt::http {

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration kMaxSleep = std::chrono::seconds(5);

  explicit Watchdog(const boost::asio::any_io_executor& executor) : timer_(executor) {}

  void expires_after(Clock::duration d) { expires_at(Clock::now() + d); }
  void expires_at(Clock::time_point t) {
    deadline_ = t;
    if (t < armed_) timer_.cancel();  // wake the waiter to re-arm earlier
  }
  void disarm() { deadline_ = Clock::time_point::max(); }
  Clock::time_point deadline() const { return deadline_; }

  // Completes with true when the deadline passes, false after stop().
  boost::asio::awaitable<bool> wait() {
    for (;;) {
      if (stopped_) co_return false;
      auto now = Clock::now();
      if (deadline_ <= now) co_return true;
      // Sleep at most kMaxSleep: a deadline moved earlier than the armed
      // time costs a cancel and a re-arm, and sessions move theirs on every
      // request (idle -> request -> handler, no write -> write). With the
      // timer never far ahead, those moves are later than it and free.
      armed_ = std::min(deadline_, now + kMaxSleep);
      timer_.expires_at(armed_);
      boost::system::error_code ec;
      co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      armed_ = Clock::time_point::max();
    }
  }

  void stop() {
    stopped_ = true;
    timer_.cancel();
  }
  bool stopped() const { return stopped_; }

 private:
  boost::asio::steady_timer timer_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point armed_ = Clock::time_point::max();
  bool stopped_ = false;
};

}  // namespace basalt::http
