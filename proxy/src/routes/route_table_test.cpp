#include "routes/route_table.hpp"

#include <gtest/gtest.h>

#include "basalt/core/config.hpp"
#include "l4/client_hello.hpp"

namespace basalt::proxy {
namespace {

core::IpAddress ip(std::string_view text) {
  return *core::IpAddress::parse(text);
}

std::shared_ptr<const RouteTable> table(std::string_view yaml) {
  auto options = decode_options(core::config::parse_yaml(yaml));
  return RouteTable::build(options.routes, options.defaults);
}

ClientHello hello(std::string sni, bool tls12 = true, bool tls13 = true) {
  return {.server_name = std::move(sni), .alpn = {}, .offers_tls12 = tls12, .offers_tls13 = tls13};
}

std::string id_of(const Route* r) {
  return r ? r->id : "(none)";
}

const core::IpAddress kClient = ip("192.0.2.7");

TEST(RouteTable, PriorityThenSpecificityThenPosition) {
  auto t = table(R"(
routes:
  - {name: first, match: {ports: 80}, action: {type: forward, targets: [{host: a, port: 1}]}}
  - {name: second, match: {ports: 80}, action: {type: forward, targets: [{host: a, port: 1}]}}
  - {name: office, match: {ports: 80, clientIp: ["192.0.2.0/24"]}, action: {type: forward, targets: [{host: a, port: 1}]}}
  - {name: urgent, priority: 5, match: {ports: 81}, action: {type: forward, targets: [{host: a, port: 1}]}}
  - {name: specific, match: {ports: 81, clientIp: ["192.0.2.0/24"]}, action: {type: forward, targets: [{host: a, port: 1}]}}
)");
  // The more specific route wins over earlier ones of the same priority.
  EXPECT_EQ(id_of(t->at_accept(80, kClient).route), "office");
  // Without it, position decides.
  EXPECT_EQ(id_of(t->at_accept(80, ip("198.51.100.1")).route), "first");
  // Priority beats specificity.
  EXPECT_EQ(id_of(t->at_accept(81, kClient).route), "urgent");
  EXPECT_EQ(id_of(t->at_accept(82, kClient).route), "(none)");
  EXPECT_FALSE(t->at_accept(82, kClient).read_hello);
}

TEST(RouteTable, AcceptAsksForTheHelloOnlyWhenABetterRouteNeedsIt) {
  auto t = table(R"(
routes:
  - name: sni
    priority: 1
    match: {ports: 443, domains: ["a.test"]}
    action: {type: forward, targets: [{host: a, port: 1}], tls: {mode: passthrough}}
  - {name: plain, match: {ports: 443}, action: {type: forward, targets: [{host: b, port: 1}]}}
  - {name: tcp, match: {ports: 22}, action: {type: forward, targets: [{host: c, port: 22}]}}
  - name: lan-first
    priority: 1
    match: {ports: 22, clientIp: ["10.0.0.0/8"], domains: ["x.test"]}
    action: {type: forward, targets: [{host: d, port: 1}], tls: {mode: passthrough}}
)");
  auto d = t->at_accept(443, kClient);
  EXPECT_EQ(d.route, nullptr);
  EXPECT_TRUE(d.read_hello);
  // A hello for a.test picks the SNI route; another name, or plain bytes,
  // fall through to the route that needs no hello.
  auto h = hello("a.test");
  EXPECT_EQ(id_of(t->after_hello(443, kClient, &h)), "sni");
  auto other = hello("b.test");
  EXPECT_EQ(id_of(t->after_hello(443, kClient, &other)), "plain");
  EXPECT_EQ(id_of(t->after_hello(443, kClient, nullptr)), "plain");
  auto none = hello("");
  EXPECT_EQ(id_of(t->after_hello(443, kClient, &none)), "plain");

  // The SNI route on 22 only admits 10/8: others are decided at accept.
  d = t->at_accept(22, kClient);
  EXPECT_EQ(id_of(d.route), "tcp");
  EXPECT_FALSE(d.read_hello);
  EXPECT_TRUE(t->at_accept(22, ip("10.1.1.1")).read_hello);
  EXPECT_TRUE(t->at_accept(22, ip("::ffff:10.1.1.1")).read_hello);
}

TEST(RouteTable, HelloMatching) {
  auto t = table(R"(
routes:
  - name: wild
    match: {ports: 443, domains: ["*.example.test"]}
    action: {type: forward, targets: [{host: a, port: 1}], tls: {mode: passthrough}}
  - name: exact
    match: {ports: 443, domains: ["api.example.test"]}
    action: {type: forward, targets: [{host: a, port: 1}], tls: {mode: passthrough}}
  - name: modern
    match: {ports: 443, tlsVersion: [TLSv1.3]}
    action: {type: forward, targets: [{host: a, port: 1}], tls: {mode: passthrough}}
  - name: any-tls
    match: {ports: 443}
    action: {type: forward, targets: [{host: a, port: 1}], tls: {mode: passthrough}}
)");
  EXPECT_TRUE(t->at_accept(443, kClient).read_hello);
  // The exact name wins over the earlier wildcard of the same rank.
  auto api = hello("api.example.test");
  EXPECT_EQ(id_of(t->after_hello(443, kClient, &api)), "exact");
  auto www = hello("www.example.test");
  EXPECT_EQ(id_of(t->after_hello(443, kClient, &www)), "wild");
  auto upper = hello("WWW.Example.Test");
  EXPECT_EQ(id_of(t->after_hello(443, kClient, &upper)), "wild");
  // The apex is not covered by "*.": the next routes decide by version.
  auto apex13 = hello("example.test", true, true);
  EXPECT_EQ(id_of(t->after_hello(443, kClient, &apex13)), "modern");
  auto apex12 = hello("example.test", true, false);
  EXPECT_EQ(id_of(t->after_hello(443, kClient, &apex12)), "any-tls");
  // No SNI: routes with domains never match; a TLS route without matches.
  auto anonymous = hello("", true, false);
  EXPECT_EQ(id_of(t->after_hello(443, kClient, &anonymous)), "any-tls");
  // Not TLS: every route here needs a hello.
  EXPECT_EQ(t->after_hello(443, kClient, nullptr), nullptr);
}

TEST(RouteTable, ExactDomainsSortBeforeWildcardOnly) {
  auto t = table(R"(
routes:
  - name: wild
    priority: 3
    match: {ports: 443, domains: ["*.test"]}
    action: {type: forward, targets: [{host: a, port: 1}], tls: {mode: passthrough}}
  - name: mixed
    priority: 3
    match: {ports: 443, domains: ["a.test", "*.a.test"]}
    action: {type: forward, targets: [{host: a, port: 1}], tls: {mode: passthrough}}
)");
  // "x.a.test" matches both by wildcard: the route with an exact domain is
  // ranked first.
  auto h = hello("x.a.test");
  EXPECT_EQ(id_of(t->after_hello(443, kClient, &h)), "mixed");
  auto b = hello("b.test");
  EXPECT_EQ(id_of(t->after_hello(443, kClient, &b)), "wild");
}

TEST(RouteTable, DisabledRoutesAndPorts) {
  auto t = table(R"(
routes:
  - {name: a, match: {ports: [443, {from: 8000, to: 8003}]}, action: {type: forward, targets: [{host: a, port: 1}]}}
  - {name: b, match: {ports: [{from: 8002, to: 8005}, 22]}, action: {type: forward, targets: [{host: a, port: 1}]}}
  - {name: off, enabled: false, match: {ports: 9999}, action: {type: forward, targets: [{host: a, port: 1}]}}
  - {match: {ports: 7}, action: {type: socket-handler, socketHandler: {type: echo}}}
)");
  EXPECT_EQ(t->ports(), (std::vector<std::uint16_t>{7, 22, 443, 8000, 8001, 8002, 8003, 8004, 8005}));
  EXPECT_EQ(id_of(t->at_accept(8001, kClient).route), "a");
  EXPECT_EQ(id_of(t->at_accept(8003, kClient).route), "a");
  EXPECT_EQ(id_of(t->at_accept(8004, kClient).route), "b");
  EXPECT_EQ(id_of(t->at_accept(9999, kClient).route), "(none)");
  ASSERT_NE(t->find("off"), nullptr);
  EXPECT_EQ(t->find("off")->position, 2u);
  EXPECT_EQ(id_of(t->find("#3")), "#3");
  EXPECT_EQ(t->find("missing"), nullptr);
  EXPECT_EQ(t->routes().size(), 4u);
}

TEST(RouteTable, WholePortRangeStaysSmall) {
  auto t = table(R"(
routes:
  - {name: all, match: {ports: {from: 1, to: 65535}}, action: {type: forward, targets: [{host: a, port: 1}]}}
  - {name: one, priority: 1, match: {ports: 65535}, action: {type: forward, targets: [{host: a, port: 1}]}}
)");
  EXPECT_EQ(t->ports().size(), 65535u);
  EXPECT_EQ(id_of(t->at_accept(1, kClient).route), "all");
  EXPECT_EQ(id_of(t->at_accept(65534, kClient).route), "all");
  EXPECT_EQ(id_of(t->at_accept(65535, kClient).route), "one");
  EXPECT_EQ(id_of(t->at_accept(0, kClient).route), "(none)");
}

TEST(RouteTable, SecurityMergesDefaultsAndBlockWins) {
  auto t = table(R"(
routes:
  - name: own
    match: {ports: 80}
    action: {type: forward, targets: [{host: a, port: 1}]}
    security: {ipAllowList: ["10.0.0.0/8"], ipBlockList: ["10.6.6.*"], maxConnections: 5}
  - name: inherits
    match: {ports: 81}
    action: {type: forward, targets: [{host: a, port: 1}]}
    security: {maxConnections: 7}
  - name: open
    match: {ports: 82}
    action: {type: forward, targets: [{host: a, port: 1}]}
defaults:
  security: {ipBlockList: ["192.0.2.0/24"], maxConnections: 100, maxConnectionsPerIP: 3}
)");
  const Route* own = t->find("own");
  EXPECT_TRUE(own->allows_ip(ip("10.1.2.3")));
  EXPECT_TRUE(own->allows_ip(ip("::ffff:10.1.2.3")));
  EXPECT_FALSE(own->allows_ip(ip("10.6.6.1")));    // blocked, though allowed
  EXPECT_FALSE(own->allows_ip(ip("172.16.0.1")));  // not on the allow list
  EXPECT_EQ(own->security.max_connections, 5u);
  EXPECT_EQ(own->security.max_connections_per_ip, 3u);  // from the defaults
  EXPECT_EQ(own->security.ip_block_list, (std::vector<std::string>{"10.6.6.*"}));

  const Route* inherits = t->find("inherits");
  EXPECT_EQ(inherits->security.max_connections, 7u);
  EXPECT_FALSE(inherits->allows_ip(ip("192.0.2.9")));  // the default block list
  EXPECT_TRUE(inherits->allows_ip(ip("198.51.100.1")));

  const Route* open = t->find("open");
  EXPECT_EQ(open->security.max_connections, 100u);
  EXPECT_FALSE(open->allows_ip(ip("192.0.2.9")));
  EXPECT_TRUE(open->allows_ip(ip("2001:db8::1")));
}

TEST(RouteTable, BuildChecksWhatDecodeWouldHave) {
  RouteConfig a;
  a.name = "x";
  a.match.ports.ranges = {{80, 80}};
  RouteConfig b = a;
  try {
    RouteTable::build({a, b});
    FAIL() << "duplicate names built";
  } catch (const core::config::Error& e) {
    EXPECT_STREQ(e.what(), "routes[1].name: \"x\" is used by routes[0]");
  }
  b.name = "y";
  b.match.client_ip = {"not an address"};
  EXPECT_THROW(RouteTable::build({a, b}), core::config::Error);
}

}  // namespace
}  // namespace basalt::proxy
