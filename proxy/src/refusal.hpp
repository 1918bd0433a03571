// Why the proxy closed a connection without serving it; the names are the
// `refused.byReason` keys of getMetrics and the `reason` label in Prometheus.
#pragma once

#include <string_view>

namespace basalt::proxy {

enum class Refusal {
  kNoRoute,               // no route matches (port, client IP, SNI)
  kPortWithoutRoute,      // a port held open by addListeningPort
  kIpBlocked,             // the route's ipBlockList / ipAllowList
  kLimit,                 // a connection limit (the limits table names which)
  kInitialDataTimeout,    // the client sent nothing within initialDataTimeout
  kBadClientHello,        // malformed or oversized TLS ClientHello
  kTlsHandshakeFailed,    // the client's TLS handshake with the proxy failed
  kBackendConnectFailed,  // no target host accepted the connection
  kBackendTlsFailed,      // TLS to the backend failed (re-encrypt)
  kShuttingDown,          // accepted while draining
};

constexpr std::string_view to_string(Refusal r) noexcept {
  switch (r) {
    case Refusal::kNoRoute: return "no_route";
    case Refusal::kPortWithoutRoute: return "port_without_route";
    case Refusal::kIpBlocked: return "ip_blocked";
    case Refusal::kLimit: return "limit";
    case Refusal::kInitialDataTimeout: return "initial_data_timeout";
    case Refusal::kBadClientHello: return "bad_client_hello";
    case Refusal::kTlsHandshakeFailed: return "tls_handshake_failed";
    case Refusal::kBackendConnectFailed: return "backend_connect_failed";
    case Refusal::kBackendTlsFailed: return "backend_tls_failed";
    case Refusal::kShuttingDown: return "shutting_down";
  }
  return "unknown";
}

}  // namespace basalt::proxy
