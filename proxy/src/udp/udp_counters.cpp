#include "udp/udp_counters.hpp"

#include <array>

namespace basalt::proxy {

std::string_view to_string(UdpDrop reason) noexcept {
  static constexpr std::array<std::string_view, kUdpDropCount> kNames{
      "no_route",        "ip_blocked",    "too_large",     "route_max_sessions",
      "ip_max_sessions", "ip_rate_limit", "ip_table_full", "no_backend",
      "backend_refused", "send_failed",   "pending_full",  "draining"};
  const auto i = static_cast<std::size_t>(reason);
  return i < kNames.size() ? kNames[i] : "unknown";
}

}  // namespace basalt::proxy
