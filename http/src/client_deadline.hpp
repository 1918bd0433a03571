// A deadline for one step of a client exchange: runs `on_expire` (close the
// transport, reset the stream, cancel the resolver) if the time passes
// before the object is destroyed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace basalt::http {

class ClientDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  ClientDeadline(const boost::asio::any_io_executor& ex, Clock::time_point at,
                 std::function<void()> on_expire)
      : timer_(ex) {
    timer_.expires_at(at);
    timer_.async_wait([state = state_, f = std::move(on_expire)](const boost::system::error_code& ec) {
      // `active` also covers a completion already queued when the owner
      // went away (cancel() cannot recall it).
      if (ec || !state->active) return;
      state->expired = true;
      f();
    });
  }
  ~ClientDeadline() {
    state_->active = false;
    timer_.cancel();
  }
  ClientDeadline(const ClientDeadline&) = delete;
  ClientDeadline& operator=(const ClientDeadline&) = delete;
  bool expired() const { return state_->expired; }

 private:
  boost::asio::steady_timer timer_;
  struct State {
    bool expired = false;
    bool active = true;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace basalt::http
