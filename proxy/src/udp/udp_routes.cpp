#include "udp/udp_routes.hpp"

#include <algorithm>
#include <set>

#include "route_set.hpp"

namespace basalt::proxy {

std::shared_ptr<UdpRouteLimits> UdpLimitsRegistry::for_route(const std::string& id) {
  auto it = routes_.find(id);
  if (it != routes_.end()) return it->second;
  auto limits = std::make_shared<UdpRouteLimits>();
  limits->sessions = limits->limits.counter_for(id);
  routes_.emplace(id, limits);
  return limits;
}

void UdpLimitsRegistry::retain(const std::vector<std::string>& live) {
  for (auto it = routes_.begin(); it != routes_.end();) {
    if (std::find(live.begin(), live.end(), it->first) == live.end()) {
      it = routes_.erase(it);
    } else {
      ++it;
    }
  }
}

std::shared_ptr<const UdpRoutes> UdpRoutes::build(const RouteTable& table, const ConnectionSettings& settings,
                                                  UdpLimitsRegistry& registry) {
  auto out = std::make_shared<UdpRoutes>();
  out->table_ = &table;
  const auto& routes = table.routes();
  out->limits_.resize(routes.size());
  out->admission_.resize(routes.size());
  std::set<std::uint16_t> ports;
  for (const auto& r : routes) {
    if (r.config.match.transport == Transport::kTcp) continue;
    out->limits_[r.position] = registry.for_route(r.id);
    const auto& s = r.security;
    out->admission_[r.position] = Limits{.max_connections = s.max_connections.value_or(kDefaultMaxSessions),
                                         .max_connections_per_ip = r.config.action.udp.max_sessions_per_ip,
                                         .rate_per_minute = s.connection_rate_limit_per_minute
                                                                ? s.connection_rate_limit_per_minute
                                                                : settings.connection_rate_limit_per_minute};
    if (!r.config.enabled) continue;
    out->order_.push_back(static_cast<std::uint32_t>(r.position));
    for (auto p : r.config.match.ports.expand()) ports.insert(p);
  }
  std::stable_sort(out->order_.begin(), out->order_.end(), [&routes](std::uint32_t a, std::uint32_t b) {
    const auto& x = routes[a].config;
    const auto& y = routes[b].config;
    if (x.priority != y.priority) return x.priority > y.priority;
    const bool xc = !x.match.client_ip.empty(), yc = !y.match.client_ip.empty();
    if (xc != yc) return xc;
    return a < b;
  });
  out->ports_.assign(ports.begin(), ports.end());
  return out;
}

const Route* UdpRoutes::match(std::uint16_t port, const core::IpAddress& client) const noexcept {
  const auto& routes = table_->routes();
  for (auto i : order_) {
    const Route& r = routes[i];
    if (r.config.match.ports.contains(port) && r.admits_client(client)) return &r;
  }
  return nullptr;
}

}  // namespace basalt::proxy

namespace basalt::proxy {

std::vector<std::string> UdpRoutes::route_ids() const {
  std::vector<std::string> ids;
  for (const auto& r : table_->routes()) {
    if (limits_[r.position]) ids.push_back(r.id);
  }
  return ids;
}

}  // namespace basalt::proxy
