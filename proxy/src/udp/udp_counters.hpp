// What the UDP engine of one worker counts: datagrams and bytes per route
// (by metrics slot) and in total, sessions, and datagrams dropped by reason.
// The control thread sums every worker's counters for getStatistics and
// getMetrics (the package's `datagram` counters).
//
// Thread-safety: written by the owning worker only (relaxed atomics),
// read from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "metrics/counter.hpp"

namespace basalt::proxy {

struct RouteDatagrams {
  Counter in;   // client -> proxy
  Counter out;  // proxy -> client
  Counter bytes_in;
  Counter bytes_out;
};

enum class UdpDrop : std::size_t {
  kNoRoute,         // no UDP route for the port and source
  kIpBlocked,       // security.ipBlockList / ipAllowList
  kTooLarge,        // over the route's udp.maxDatagramSize
  kRouteSessions,   // the route's session limit
  kIpSessions,      // udp.maxSessionsPerIP
  kIpRate,          // connectionRateLimitPerMinute
  kIpTableFull,     // the per-IP table of the route is full
  kNoBackend,       // no backend available, or none resolved / socket failed
  kBackendRefused,  // ICMP port unreachable from the backend (the session ends)
  kSendFailed,      // a socket buffer was full
  kPendingFull,     // more than UdpSession::kMaxPending while resolving the backend
  kDraining,        // a new client while the proxy drains
  kCount
};
inline constexpr std::size_t kUdpDropCount = static_cast<std::size_t>(UdpDrop::kCount);

// "no_route", "ip_blocked", ...: the names getStatistics uses.
std::string_view to_string(UdpDrop reason) noexcept;

class UdpCounters {
 public:
  explicit UdpCounters(std::size_t route_slots)
      : routes_(new RouteDatagrams[route_slots + 1]), slots_(route_slots + 1) {}

  // The counters of a metrics slot; the last one counts overflowed routes.
  RouteDatagrams& route(std::size_t slot) noexcept { return routes_[slot < slots_ ? slot : slots_ - 1]; }
  const RouteDatagrams& route(std::size_t slot) const noexcept {
    return routes_[slot < slots_ ? slot : slots_ - 1];
  }
  std::size_t slots() const noexcept { return slots_; }

  void drop(UdpDrop reason, std::uint64_t n = 1) noexcept { drops_[static_cast<std::size_t>(reason)].add(n); }
  std::uint64_t drops(UdpDrop reason) const noexcept {
    return drops_[static_cast<std::size_t>(reason)].load();
  }

  Counter datagrams_in, datagrams_out, bytes_in, bytes_out;
  Counter sessions_active, sessions_total, sessions_expired;

 private:
  std::unique_ptr<RouteDatagrams[]> routes_;
  std::size_t slots_;
  std::array<Counter, kUdpDropCount> drops_;
};

}  // namespace basalt::proxy
