#include "nftables/rule_plan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "basalt/core/config.hpp"

namespace basalt::proxy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

RulePlan plan_of(std::string_view yaml) {
  auto options = decode_options(core::config::parse_yaml(yaml));
  return RulePlan::build(RouteTable::build(options.routes, options.defaults)->routes());
}

std::string error_of(std::string_view yaml) {
  try {
    plan_of(yaml);
  } catch (const core::config::Error& e) {
    return e.what();
  }
  return "";
}

std::string script_of(std::string_view yaml) {
  return plan_of(yaml).script("basalt-proxy pid=1", {});
}

constexpr std::string_view kMatch =
    "meta nfproto ipv4 meta l4proto tcp th dport { 8080 } fib daddr type local";

TEST(RulePlan, OneRouteIsDnatAndMasquerade) {
  const auto plan = plan_of(R"(
routes:
  - {name: web, match: {ports: 8080}, action: {type: forward, forwardingEngine: nftables, targets: [{host: 198.51.100.2, port: 80}]}}
  - {name: user, match: {ports: 9000}, action: {type: socket-handler, socketHandler: {type: echo}}}
)");
  ASSERT_EQ(plan.routes().size(), 1u);
  EXPECT_EQ(plan.routes()[0].id, "web");
  EXPECT_EQ(plan.routes()[0].tag, "r0");
  EXPECT_EQ(plan.routes()[0].table, "basalt_proxy");
  EXPECT_EQ(plan.routes()[0].rules, 3u);  // DNAT in prerouting and output, masquerade
  ASSERT_EQ(plan.destinations().size(), 1u);
  EXPECT_EQ(plan.destinations()[0].address, "198.51.100.2");

  const std::string script = plan.script("basalt-proxy pid=1", {});
  EXPECT_TRUE(
      script.starts_with("table inet basalt_proxy\ndelete table inet basalt_proxy\n"
                         "table inet basalt_proxy {\n  comment \"basalt-proxy pid=1\"\n"))
      << script;
  EXPECT_THAT(script,
              HasSubstr("  chain nat_prerouting {\n    type nat hook prerouting priority -100; policy "
                        "accept;\n    " +
                        std::string(kMatch) + " dnat ip to 198.51.100.2:80 comment \"r0\"\n  }\n"));
  EXPECT_THAT(script,
              HasSubstr("  chain nat_output {\n    type nat hook output priority -100; policy accept;\n    " +
                        std::string(kMatch) + " dnat ip to 198.51.100.2:80 comment \"r0\"\n"));
  EXPECT_THAT(script,
              HasSubstr("    meta nfproto ipv4 meta l4proto tcp ip daddr 198.51.100.2 th dport { 80 } ct "
                        "status dnat masquerade comment \"r0\"\n"));
  // The user-space route is not in the kernel's rules.
  EXPECT_THAT(script, Not(HasSubstr("9000")));
}

// The example of docs/proxy.md, "Kernel forwarding (nftables)".
TEST(RulePlan, TheDocumentedExample) {
  const auto plan = plan_of(R"(
routes:
  - name: game
    match: {ports: [7000, {from: 7100, to: 7199}]}
    action:
      type: forward
      forwardingEngine: nftables
      targets: [{host: 198.51.100.2, port: 7000}]
      nftables: {protocol: all, ipAllowList: [192.0.2.0/24]}
  - name: mapped
    match: {ports: {from: 8000, to: 8002}}
    action: {type: forward, forwardingEngine: nftables,
             nftables: {toHost: 198.51.100.3, toPort: {from: 9000, to: 9002}, preserveSourceIP: true}}
)");
  ASSERT_EQ(plan.routes().size(), 2u);
  EXPECT_EQ(plan.routes()[0].rules, 5u);
  EXPECT_EQ(plan.routes()[1].rules, 2u);
  const auto script = plan.script("o", {});
  EXPECT_THAT(script,
              HasSubstr("th dport { 7000, 7100-7199 } fib daddr type local dnat ip to 198.51.100.2:7000"));
  EXPECT_THAT(script,
              HasSubstr("dnat ip to th dport map { 8000 : 198.51.100.3 . 9000, 8001 : 198.51.100.3 . 9001, "
                        "8002 : 198.51.100.3 . 9002 }"));
}

TEST(RulePlan, NoKernelRoutesNoTables) {
  const auto plan = plan_of(R"(
routes:
  - {match: {ports: 9000}, action: {type: socket-handler, socketHandler: {type: echo}}}
  - {enabled: false, match: {ports: 8080}, action: {type: forward, forwardingEngine: nftables, targets: [{host: 198.51.100.2, port: 80}]}}
)");
  EXPECT_TRUE(plan.empty());
  EXPECT_EQ(plan.script("x", {}), "");
  EXPECT_EQ(plan.script("x", {"old"}), "table inet old\ndelete table inet old\n");
}

TEST(RulePlan, PortsMappedInOrderProtocolsAndPreservedSource) {
  const auto script = script_of(R"(
routes:
  - name: mapped
    match: {ports: [{from: 7000, to: 7001}, 7005]}
    action: {type: forward, forwardingEngine: nftables, nftables: {toHost: 198.51.100.2, toPort: [81, 80, 90], protocol: all, preserveSourceIP: true}}
  - name: same
    match: {ports: {from: 6000, to: 6010}}
    action: {type: forward, forwardingEngine: nftables, targets: [{host: "2001:db8::2", port: preserve}], nftables: {protocol: udp, enableLogging: true}}
)");
  EXPECT_THAT(script,
              HasSubstr("meta nfproto ipv4 meta l4proto { tcp, udp } th dport { 7000-7001, 7005 } fib daddr "
                        "type local dnat ip to th dport map { 7000 : 198.51.100.2 . 81, 7001 : "
                        "198.51.100.2 . 80, 7005 : 198.51.100.2 . 90 } comment \"r0\""));
  EXPECT_THAT(script, Not(HasSubstr("198.51.100.2 th dport")));  // preserveSourceIP: no masquerade
  EXPECT_THAT(
      script,
      HasSubstr("meta nfproto ipv6 meta l4proto udp th dport { 6000-6010 } fib daddr type local "
                "log prefix \"basalt-proxy r1: \" level info dnat ip6 to 2001:db8::2 comment \"r1\""));
  EXPECT_THAT(script,
              HasSubstr("meta nfproto ipv6 meta l4proto udp ip6 daddr 2001:db8::2 th dport { 6000-6010 } ct "
                        "status dnat masquerade comment \"r1\""));
  EXPECT_THAT(script, HasSubstr("dnat ip6 to 2001:db8::2 comment"));
}

TEST(RulePlan, AddressListsAreNamedSetsOfTheDestinationsFamily) {
  const auto plan = plan_of(R"(
defaults: {security: {ipBlockList: [203.0.113.9]}}
routes:
  - name: listed
    match: {ports: 8080}
    action: {type: forward, forwardingEngine: nftables, targets: [{host: 198.51.100.2, port: 80}], nftables: {ipAllowList: [192.0.2.0/24, "2001:db8::/32", 198.51.100.7/32]}}
  - name: defaulted
    match: {ports: 8081}
    action: {type: forward, forwardingEngine: nftables, targets: [{host: 198.51.100.2, port: 81}]}
)");
  const auto script = plan.script("o", {});
  EXPECT_THAT(script,
              HasSubstr("  set r0_allow {\n    type ipv4_addr\n    flags interval\n    auto-merge\n    "
                        "elements = { 192.0.2.0/24, 198.51.100.7 }\n  }\n"));
  // The route's own lists replace the defaults' (as in user space).
  EXPECT_THAT(script, Not(HasSubstr("r0_block")));
  EXPECT_THAT(script, HasSubstr("elements = { 203.0.113.9 }"));
  EXPECT_THAT(script, HasSubstr(std::string(kMatch) + " ip saddr != @r0_allow drop comment \"r0\""));
  EXPECT_THAT(script,
              HasSubstr("th dport { 8081 } fib daddr type local ip saddr @r1_block drop comment \"r1\""));
  EXPECT_EQ(plan.routes()[0].rules, 5u);  // allow in two filter chains, two DNAT, masquerade

  // An allow list without an address of the destination's family admits nobody.
  const auto v6_only = script_of(R"(
routes:
  - {match: {ports: 8080}, action: {type: forward, forwardingEngine: nftables, targets: [{host: 198.51.100.2, port: 80}], nftables: {ipAllowList: ["2001:db8::/32"]}}}
)");
  EXPECT_THAT(v6_only, HasSubstr("  set r0_allow {\n    type ipv4_addr\n    flags interval\n  }\n"));

  EXPECT_EQ(error_of(R"(
defaults: {security: {ipAllowList: ["10.*"]}}
routes:
  - {name: k, match: {ports: 8080}, action: {type: forward, forwardingEngine: nftables, targets: [{host: 198.51.100.2, port: 80}]}}
)"),
            "defaults.security: \"10.*\" is not an IP address or a CIDR, and route \"k\" is forwarded by the "
            "kernel, which takes no globs");
}

TEST(RulePlan, TablesByName) {
  const auto plan = plan_of(R"(
routes:
  - {name: a, match: {ports: 1000}, action: {type: forward, forwardingEngine: nftables, targets: [{host: 198.51.100.2, port: 80}], nftables: {tableName: zeta}}}
  - {name: b, match: {ports: 1001}, action: {type: forward, forwardingEngine: nftables, targets: [{host: 127.0.0.1, port: 80}], nftables: {tableName: alpha}}}
  - {name: c, match: {ports: 1002}, action: {type: forward, forwardingEngine: nftables, targets: [{host: 198.51.100.2, port: 80}], nftables: {tableName: zeta}}}
)");
  EXPECT_EQ(plan.table_names(), (std::vector<std::string>{"alpha", "zeta"}));
  EXPECT_EQ(plan.destinations().size(), 2u);  // loopback needs no forwarding
  const auto script = plan.script("o", {"gone"});
  EXPECT_TRUE(script.starts_with("table inet gone\ndelete table inet gone\ntable inet alpha\n")) << script;
  EXPECT_THAT(script, HasSubstr("table inet zeta {"));
}

TEST(RulePlan, WholeTableErrors) {
  const std::string kernel =
      "{type: forward, forwardingEngine: nftables, targets: [{host: 198.51.100.2, port: 80}]";
  EXPECT_EQ(
      error_of(
          "routes:\n  - {name: user, match: {ports: [80, 8080]}, action: {type: socket-handler, "
          "socketHandler: {type: echo}}}\n  - {name: k, match: {ports: {from: 8000, to: 8100}}, action: " +
          kernel + "}}\n"),
      "routes[1].match.ports: tcp port 8080 is also route \"user\"'s, which would never see a connection: "
      "the kernel forwards the port for this route first");
  EXPECT_EQ(error_of("routes:\n  - {name: k1, match: {ports: 8080}, action: " + kernel +
                     "}}\n  - {name: k2, match: {ports: 8080}, action: " + kernel +
                     ", nftables: {protocol: all}}}\n"),
            "routes[1].match.ports: tcp and udp port 8080 is also forwarded by the kernel for route \"k1\"");
  // tcp and udp on the same port do not overlap.
  EXPECT_EQ(error_of("routes:\n  - {name: k1, match: {ports: 8080}, action: " + kernel +
                     "}}\n  - {name: k2, match: {ports: 8080}, action: " + kernel +
                     ", nftables: {protocol: udp}}}\n"),
            "");
  // A disabled route takes no port.
  EXPECT_EQ(error_of("routes:\n  - {name: k1, enabled: false, match: {ports: 8080}, action: " + kernel +
                     "}}\n  - {name: k2, match: {ports: 8080}, action: " + kernel + "}}\n"),
            "");
  EXPECT_EQ(
      error_of("routes:\n  - {match: {ports: [80, 81, 82]}, action: {type: forward, forwardingEngine: "
               "nftables, nftables: {toHost: 198.51.100.2, toPort: [1, 2]}}}\n"),
      "routes[0].action.nftables.toPort: has 2 ports for the 3 of match.ports: give one port, or as many "
      "as match.ports (mapped in order)");
  EXPECT_THAT(
      error_of("routes:\n  - {match: {ports: 80}, action: " + kernel + ", nftables: {ipv6Support: true}}}\n"),
      HasSubstr("routes[0].action.nftables.ipv6Support: is true but the destination 198.51.100.2 is IPv4"));
}

}  // namespace
}  // namespace basalt::proxy
