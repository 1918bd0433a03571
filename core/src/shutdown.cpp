#include "basalt/core/shutdown.hpp"

#include "basalt/core/runtime.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>

namespace basalt::core {

struct Shutdown::State {
  explicit State(boost::asio::io_context& io) : signals(io), timer(io) {}
  boost::asio::signal_set signals;
  boost::asio::steady_timer timer;
  std::vector<std::function<void()>> callbacks;
  bool finished = false;  // touched on the control context only
};

Shutdown::Shutdown(Runtime& runtime, std::chrono::milliseconds drain_timeout)
    : runtime_(runtime), drain_timeout_(drain_timeout), state_(std::make_unique<State>(runtime.control())) {}

Shutdown::~Shutdown() = default;

void Shutdown::watch_signals() {
  state_->signals.add(SIGINT);
  state_->signals.add(SIGTERM);
  wait_for_signal();
}

void Shutdown::wait_for_signal() {
  state_->signals.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    if (draining()) {
      spdlog::warn("second signal ({}): stopping now", strsignal(signo));
      runtime_.stop();
      return;
    }
    begin(strsignal(signo));
    wait_for_signal();
  });
}

void Shutdown::on_begin(std::function<void()> callback) {
  boost::asio::post(runtime_.control(), [this, cb = std::move(callback)]() mutable {
    state_->callbacks.push_back(std::move(cb));
  });
}

void Shutdown::begin(std::string reason, std::optional<std::chrono::milliseconds> drain) {
  if (draining_.exchange(true)) return;
  boost::asio::post(runtime_.control(), [this, reason = std::move(reason), drain] {
    if (drain) drain_timeout_ = *drain;
    spdlog::info("shutting down ({}): draining {} in flight, at most {} ms", reason, in_flight(),
                 drain_timeout_.count());
    for (auto& cb : state_->callbacks) {
      try {
        cb();
      } catch (const std::exception& e) {
        spdlog::error("shutdown step failed: {}", e.what());
      }
    }
    state_->timer.expires_after(drain_timeout_);
    state_->timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || state_->finished) return;
      spdlog::warn("drain timeout: {} still in flight, stopping anyway", in_flight());
      state_->finished = true;
      runtime_.stop();
    });
    finish_if_drained();
  });
}

Shutdown::Token Shutdown::hold() {
  in_flight_.fetch_add(1, std::memory_order_acq_rel);
  return Token(this);
}

Shutdown::Token& Shutdown::Token::operator=(Token&& other) noexcept {
  if (this != &other) {
    if (owner_) owner_->release();
    owner_ = std::exchange(other.owner_, nullptr);
  }
  return *this;
}

Shutdown::Token::~Token() {
  if (owner_) owner_->release();
}

void Shutdown::release() {
  if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) == 1 && draining()) {
    boost::asio::post(runtime_.control(), [this] { finish_if_drained(); });
  }
}

void Shutdown::finish_if_drained() {
  if (state_->finished || in_flight() != 0) return;
  state_->finished = true;
  state_->timer.cancel();
  spdlog::info("drained; stopped");
  runtime_.stop();
}

}  // namespace basalt::core
