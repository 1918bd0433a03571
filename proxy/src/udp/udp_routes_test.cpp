#include "udp/udp_routes.hpp"

#include <gtest/gtest.h>

#include "basalt/core/config.hpp"
#include "route_set.hpp"

namespace basalt::proxy {
namespace {

core::IpAddress ip(std::string_view text) {
  return *core::IpAddress::parse(text);
}

std::shared_ptr<const RouteTable> table(std::string_view yaml) {
  auto options = decode_options(core::config::parse_yaml(yaml));
  return RouteTable::build(options.routes, options.defaults);
}

std::string id_of(const Route* r) {
  return r ? r->id : "(none)";
}

constexpr std::string_view kRoutes = R"(
routes:
  - {name: tcp, match: {ports: 53}, action: {type: forward, targets: [{host: a, port: 1}]}}
  - {name: dns, match: {ports: 53, transport: udp}, action: {type: forward, targets: [{host: a, port: 1}]}}
  - {name: office, match: {ports: 53, transport: udp, clientIp: ["192.0.2.0/24"]},
     action: {type: forward, targets: [{host: a, port: 1}]}}
  - {name: both, match: {ports: [{from: 7000, to: 7002}], transport: all},
     action: {type: socket-handler, socketHandler: {type: echo}}}
  - {name: urgent, priority: 3, match: {ports: 7001, transport: udp},
     action: {type: socket-handler, socketHandler: {type: block}}}
  - {name: off, enabled: false, match: {ports: 9000, transport: udp},
     action: {type: socket-handler, socketHandler: {type: echo}}}
)";

TEST(UdpRoutes, PortsAndMatching) {
  auto t = table(kRoutes);
  ConnectionSettings settings;
  UdpLimitsRegistry registry;
  auto udp = UdpRoutes::build(*t, settings, registry);
  EXPECT_EQ(udp->ports(), (std::vector<std::uint16_t>{53, 7000, 7001, 7002}));
  // The TCP side keeps tcp and all routes only.
  EXPECT_EQ(t->ports(), (std::vector<std::uint16_t>{53, 7000, 7001, 7002}));
  EXPECT_EQ(id_of(t->at_accept(53, ip("192.0.2.1")).route), "tcp");
  EXPECT_EQ(id_of(t->at_accept(7001, ip("192.0.2.1")).route), "both");

  // clientIp before routes without it; priority first.
  EXPECT_EQ(id_of(udp->match(53, ip("192.0.2.1"))), "office");
  EXPECT_EQ(id_of(udp->match(53, ip("198.51.100.1"))), "dns");
  EXPECT_EQ(id_of(udp->match(7000, ip("198.51.100.1"))), "both");
  EXPECT_EQ(id_of(udp->match(7001, ip("198.51.100.1"))), "urgent");
  EXPECT_EQ(id_of(udp->match(9000, ip("198.51.100.1"))), "(none)") << "disabled";
  EXPECT_EQ(id_of(udp->match(54, ip("198.51.100.1"))), "(none)");
  EXPECT_EQ(udp->limits(*t->find("tcp")), nullptr);
  EXPECT_NE(udp->limits(*t->find("dns")), nullptr);
}

TEST(UdpRoutes, LimitsComeFromTheRouteAndSurviveUpdates) {
  auto t = table(R"(
connectionRateLimitPerMinute: 600
routes:
  - name: dns
    match: {ports: 53, transport: udp}
    action: {type: forward, targets: [{host: a, port: 1}], udp: {maxSessionsPerIP: 7}}
    security: {maxConnections: 99}
  - {name: plain, match: {ports: 54, transport: udp}, action: {type: forward, targets: [{host: a, port: 1}]}}
)");
  ConnectionSettings settings{.connection_rate_limit_per_minute = 600};
  UdpLimitsRegistry registry;
  auto udp = UdpRoutes::build(*t, settings, registry);
  const auto& dns = udp->admission(*t->find("dns"));
  EXPECT_EQ(dns.max_connections, 99u);
  EXPECT_EQ(dns.max_connections_per_ip, 7u);
  EXPECT_EQ(dns.rate_per_minute, 600u);
  const auto& plain = udp->admission(*t->find("plain"));
  EXPECT_EQ(plain.max_connections, UdpRoutes::kDefaultMaxSessions);
  EXPECT_EQ(plain.max_connections_per_ip, 1000u);

  // The same id keeps its counts across a rebuild; a removed id is forgotten.
  auto again = UdpRoutes::build(*t, settings, registry);
  EXPECT_EQ(udp->limits(*t->find("dns")), again->limits(*t->find("dns")));
  auto fewer = table(R"(
routes:
  - {name: plain, match: {ports: 54, transport: udp}, action: {type: forward, targets: [{host: a, port: 1}]}}
)");
  auto third = UdpRoutes::build(*fewer, settings, registry);
  registry.retain(third->route_ids());
  EXPECT_EQ(third->route_ids(), std::vector<std::string>{"plain"});
  auto fourth = UdpRoutes::build(*t, settings, registry);
  EXPECT_NE(fourth->limits(*t->find("dns")), udp->limits(*t->find("dns")));
}

TEST(UdpRoutes, PerIpSessionLimitCountsAcrossAdmissions) {
  auto t = table(R"(
routes:
  - {name: dns, match: {ports: 53, transport: udp}, action: {type: forward, targets: [{host: a, port: 1}], udp: {maxSessionsPerIP: 2}}}
)");
  UdpLimitsRegistry registry;
  auto udp = UdpRoutes::build(*t, {}, registry);
  const Route& r = *t->find("dns");
  auto* limits = udp->limits(r);
  const auto now = std::chrono::steady_clock::now();
  auto a = limits->limits.admit(ip("192.0.2.1"), udp->admission(r), limits->sessions.get(), now);
  auto b = limits->limits.admit(ip("192.0.2.1"), udp->admission(r), limits->sessions.get(), now);
  auto c = limits->limits.admit(ip("192.0.2.1"), udp->admission(r), limits->sessions.get(), now);
  auto d = limits->limits.admit(ip("192.0.2.2"), udp->admission(r), limits->sessions.get(), now);
  EXPECT_TRUE(a && b && d);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.refusal(), LimitRefusal::kIpMaxConnections);
  EXPECT_EQ(limits->sessions->active.load(), 3u);
}

}  // namespace
}  // namespace basalt::proxy
