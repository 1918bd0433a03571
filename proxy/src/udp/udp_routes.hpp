// The UDP side of a route table: which routes take datagrams (match.transport
// udp or all), on which ports, and the session limits of each. Built with
// every RouteSet (so `updateRoutes` changes it atomically) and read by the
// workers without locks.
//
// Matching (docs/proxy.md, "UDP routes"): a datagram that opens a session
// (or reaches a socket-handler route, which keeps none) is matched on its
// destination port and its source address: the enabled UDP routes whose
// match.ports contain the port and whose match.clientIp (if any) admits the
// source, by priority (higher first), then routes with clientIp before
// routes without, then position. O(UDP routes) per new session; datagrams
// of a session are not matched again.
//
// Limits: each UDP route has its own ConnectionLimits (kept by route id
// across updates, like TCP's connection counters), counting sessions over
// every worker: security.maxConnections (default kDefaultMaxSessions) per
// route, udp.maxSessionsPerIP per client address, and the per-IP
// connectionRateLimitPerMinute for new sessions.
//
// Thread-safety: immutable after build(); the registry is used under the
// proxy's control lock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "basalt/core/ip.hpp"
#include "routes/route_table.hpp"
#include "security/connection_limits.hpp"

namespace basalt::proxy {

struct ConnectionSettings;

// The session limits of one UDP route, shared by every RouteSet that has
// the route id. Sessions hold it (shared_ptr) as long as their tickets.
struct UdpRouteLimits {
  ConnectionLimits limits;
  std::shared_ptr<RouteCounter> sessions;  // open sessions of the route
};

class UdpLimitsRegistry {
 public:
  std::shared_ptr<UdpRouteLimits> for_route(const std::string& id);
  // Forgets ids that are not in `live` (their sessions keep what they hold).
  void retain(const std::vector<std::string>& live);

 private:
  std::map<std::string, std::shared_ptr<UdpRouteLimits>, std::less<>> routes_;
};

class UdpRoutes {
 public:
  static constexpr std::uint32_t kDefaultMaxSessions = 16'384;

  // `settings` gives the options-level connectionRateLimitPerMinute.
  static std::shared_ptr<const UdpRoutes> build(const RouteTable& table, const ConnectionSettings& settings,
                                                UdpLimitsRegistry& registry);

  // Every port an enabled UDP route listens on, sorted, unique.
  const std::vector<std::uint16_t>& ports() const noexcept { return ports_; }
  // The route for a datagram from `client` to `port`; null: none. Never
  // allocates or throws.
  const Route* match(std::uint16_t port, const core::IpAddress& client) const noexcept;

  // The ids of every UDP route (enabled or not), for UdpLimitsRegistry::retain().
  std::vector<std::string> route_ids() const;
  // By Route::position; null for TCP-only routes.
  UdpRouteLimits* limits(const Route& route) const noexcept { return limits_[route.position].get(); }
  std::shared_ptr<UdpRouteLimits> shared_limits(const Route& route) const { return limits_[route.position]; }
  // The limits a new session of `route` is admitted under.
  const Limits& admission(const Route& route) const noexcept { return admission_[route.position]; }

 private:
  const RouteTable* table_ = nullptr;
  std::vector<std::uint32_t> order_;  // UDP routes, best first
  std::vector<std::uint16_t> ports_;
  std::vector<std::shared_ptr<UdpRouteLimits>> limits_;
  std::vector<Limits> admission_;
};

}  // namespace basalt::proxy
