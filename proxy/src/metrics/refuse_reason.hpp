// Why the proxy refused or dropped a connection before relaying it: the
// fixed set of reasons `refused.byReason` and
// basalt_proxy_refused_total{reason=...} report.
//
// Each worker counts refusals in an array indexed by this enum, so the set
// is closed at compile time. To add a reason, add an enumerator before
// kCount and its name in refuse_reason.cpp (a test checks every reason has a
// distinct name).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace basalt::proxy {

enum class RefuseReason : std::size_t {
  kNoRoute,               // no route matched the connection
  kIpBlocked,             // security.ipBlockList / not in ipAllowList
  kRouteMaxConnections,   // the route's connection limit
  kIpMaxConnections,      // security.maxConnections per client IP
  kIpRateLimit,           // per-IP connection rate limit
  kIpTableFull,           // the per-IP admission table is full
  kBackendConnectFailed,  // no target accepted the connection
  kTlsHandshakeFailed,    // TLS termination failed
  kInitialDataTimeout,    // no ClientHello before initialDataTimeout
  kPortWithoutRoute,      // a listener's port has no route in the current table
  kBadClientHello,        // a malformed or oversized TLS ClientHello
  kBackendTlsFailed,      // TLS to the backend failed (terminate-and-reencrypt)
  kShuttingDown,          // accepted while the proxy drains
  kCertificatePending,    // certificate: auto, and no certificate for the name yet
  kBadProxyHeader,        // acceptProxyProtocol: a proxyIPs peer sent no valid PROXY header
  kUntrustedProxyHeader,  // acceptProxyProtocol: a PROXY header from a peer not in proxyIPs
  kCount
};

inline constexpr std::size_t kRefuseReasonCount = static_cast<std::size_t>(RefuseReason::kCount);

// "no_route", "ip_blocked", ...: the names metrics use.
std::string_view to_string(RefuseReason reason) noexcept;
// The reason with that name, if any.
std::optional<RefuseReason> refuse_reason_from_string(std::string_view name) noexcept;

}  // namespace basalt::proxy
