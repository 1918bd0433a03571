// What a connection is matched against and served with: the compiled route
// table plus, per route, the TLS contexts it ends or starts TLS with. Built on
// the control thread from decoded routes (a failure throws and changes
// nothing), then published as one core::Snapshot; a connection keeps the
// snapshot it matched for its whole life, so `updateRoutes` never changes an
// open connection's route, certificate or backend TLS settings.
//
// Thread-safety: immutable after build(); share freely.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <vector>

#include "balance/backend_pool.hpp"
#include "basalt/core/tls.hpp"
#include "basalt/proxy/options.hpp"
#include "routes/ip_pattern.hpp"
#include "routes/route_retirement.hpp"
#include "routes/route_table.hpp"
#include "security/basic_auth_check.hpp"
#include "security/request_rate_limiter.hpp"

namespace basalt::proxy {

class TicketKeys;
class ConnectionLimits;
class AutoCertificate;
class AutoCertificates;
class ChallengeBoard;
struct RouteCounter;
class UdpRoutes;

struct RouteTlsContexts {
  std::optional<core::TlsServerContext> server;   // terminate modes: the route's certificate
  std::optional<core::TlsClientContext> backend;  // terminate-and-reencrypt
  // certificate: auto: whether `server` holds the route's certificate yet.
  std::shared_ptr<const AutoCertificate> auto_certificate;
};

// The options a connection reads, published with the routes so that a
// reload changes them for new connections in the same step.
struct ConnectionSettings {
  std::chrono::milliseconds connect_timeout{30'000};
  std::chrono::milliseconds initial_data_timeout{60'000};
  std::chrono::milliseconds inactivity_timeout{14'400'000};
  std::chrono::milliseconds max_connection_lifetime{86'400'000};
  // Options-level per-IP limits; a route's own security settings win.
  std::optional<std::uint32_t> max_connections_per_ip;
  std::optional<std::uint32_t> connection_rate_limit_per_minute;
  // acceptProxyProtocol: connections from RouteSet::proxy_ips start with a
  // PROXY header.
  bool accept_proxy_protocol = false;
};

// A route's compiled request-level parts.
struct RouteHttp {
  std::shared_ptr<BackendPool> pool;  // forward routes: the backends, with their health and load
  std::shared_ptr<RequestRateLimiter> rate_limiter;
  std::optional<BasicAuthCheck> basic_auth;
  std::shared_ptr<const std::regex> rewrite;  // action.advanced.urlRewrite.pattern
};

// The registries whose state outlives one RouteSet (kept by route id).
struct RouteStateRegistries {
  ConnectionLimits& limits;
  HealthRegistry& health;
  RateLimiterRegistry& rate_limits;
  RetirementRegistry& retirements;
  // certificate: auto routes bind here (null: no `acme` section, and such a
  // route is an error); `generation` identifies the set being built.
  AutoCertificates* certificates = nullptr;
  std::uint64_t generation = 0;
};

struct RouteSet {
  std::shared_ptr<const RouteTable> table;
  ConnectionSettings settings;
  std::vector<RouteTlsContexts> tls;  // by Route::position
  // Open-connection counters by Route::position, kept across updates by route id.
  std::vector<std::shared_ptr<RouteCounter>> counters;
  // Metrics slots by Route::position (metrics/route_registry.hpp).
  std::vector<std::uint32_t> slots;
  std::vector<RouteHttp> route_http;  // by Route::position
  // Whether each route is still in the table (drainGrace), by Route::position.
  std::vector<std::shared_ptr<RouteRetirement>> retirements;
  HttpOptions http;
  IpPatternList proxy_ips;  // peers whose X-Forwarded-* are trusted
  // With certificate: auto routes: the HTTP-01 port (listened on even
  // without a route) and the challenges being answered. 0 / null: none.
  std::uint16_t acme_port = 0;
  const ChallengeBoard* challenges = nullptr;
  // Routes with match.transport udp or all: ports, matching, session limits
  // (udp/udp_routes.hpp). Set by the proxy after build().
  std::shared_ptr<const UdpRoutes> udp;

  // Compiles `routes`; throws core::config::Error naming routes[i] when a
  // TLS context cannot be made. `tickets` (may be null) encrypts session
  // tickets for every terminating context.
  static std::shared_ptr<RouteSet> build(std::vector<RouteConfig> routes, const DefaultsConfig& defaults,
                                         std::shared_ptr<TicketKeys> tickets,
                                         RouteStateRegistries registries);
};

}  // namespace basalt::proxy
