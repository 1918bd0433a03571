#include "metrics/refuse_reason.hpp"

#include <array>

namespace basalt::proxy {
namespace {

constexpr std::array<std::string_view, kRefuseReasonCount> kNames = {
    "no_route",
    "ip_blocked",
    "route_max_connections",
    "ip_max_connections",
    "ip_rate_limit",
    "ip_table_full",
    "backend_connect_failed",
    "tls_handshake_failed",
    "initial_data_timeout",
    "port_without_route",
    "bad_client_hello",
    "backend_tls_failed",
    "shutting_down",
    "certificate_pending",
    "bad_proxy_header",
    "untrusted_proxy_header",
};

}  // namespace

std::string_view to_string(RefuseReason reason) noexcept {
  auto i = static_cast<std::size_t>(reason);
  return i < kNames.size() ? kNames[i] : "unknown";
}

std::optional<RefuseReason> refuse_reason_from_string(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<RefuseReason>(i);
  }
  return std::nullopt;
}

}  // namespace basalt::proxy
