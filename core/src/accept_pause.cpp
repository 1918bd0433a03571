#include "basalt/core/accept_pause.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

namespace basalt::core {

namespace {
constexpr std::chrono::milliseconds kFirst{10};
constexpr std::chrono::milliseconds kLongest{1000};
}  // namespace

AcceptPause::AcceptPause(std::string listener, std::chrono::seconds log_interval)
    : listener_(std::move(listener)), log_interval_(log_interval) {}

bool AcceptPause::exhausted(const boost::system::error_code& ec) noexcept {
  if (ec.category() != boost::system::system_category()) return false;
  switch (ec.value()) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      return true;
    default:
      return false;
  }
}

std::chrono::milliseconds AcceptPause::after_error(const boost::system::error_code& ec) {
  if (!exhausted(ec)) return std::chrono::milliseconds(0);
  ++failures_;
  ++unlogged_;
  delay_ = delay_.count() == 0 ? kFirst : std::min(delay_ * 2, kLongest);
  auto now = std::chrono::steady_clock::now();
  if (last_log_ == std::chrono::steady_clock::time_point{} || now - last_log_ >= log_interval_) {
    spdlog::warn(
        "{}: cannot accept connections: {} ({} time(s) since the last report); pausing accepts up to {} ms",
        listener_, ec.message(), unlogged_, kLongest.count());
    last_log_ = now;
    unlogged_ = 0;
  }
  return delay_;
}

}  // namespace basalt::core
