#include "nftables/rule_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "basalt/core/config.hpp"
#include "basalt/core/ip.hpp"

namespace basalt::proxy {

namespace {

constexpr const char* kChainHeads[5] = {
    "type filter hook prerouting priority -110; policy accept;",
    "type filter hook output priority -110; policy accept;",
    "type nat hook prerouting priority -100; policy accept;",
    "type nat hook output priority -100; policy accept;",
    "type nat hook postrouting priority 100; policy accept;",
};
constexpr const char* kChainNames[5] = {"filter_prerouting", "filter_output", "nat_prerouting", "nat_output",
                                        "nat_postrouting"};
enum Chain { kFilterPrerouting, kFilterOutput, kNatPrerouting, kNatOutput, kNatPostrouting };

// Ports in the order given, without repeats.
std::vector<std::uint16_t> expand_in_order(const std::vector<PortRange>& ranges) {
  std::vector<std::uint16_t> out;
  std::set<std::uint16_t> seen;
  for (const auto& r : ranges) {
    for (std::uint32_t p = r.from; p <= r.to; ++p) {
      if (seen.insert(static_cast<std::uint16_t>(p)).second) out.push_back(static_cast<std::uint16_t>(p));
    }
  }
  return out;
}

// "{ 80, 8000-8010 }"
std::string port_set(const std::vector<PortRange>& ranges) {
  std::string out = "{ ";
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (i) out += ", ";
    out += ranges[i].from == ranges[i].to ? fmt::format("{}", ranges[i].from)
                                          : fmt::format("{}-{}", ranges[i].from, ranges[i].to);
  }
  return out + " }";
}

std::vector<PortRange> as_ranges(const std::vector<std::uint16_t>& ports) {
  std::vector<std::uint16_t> sorted = ports;
  std::sort(sorted.begin(), sorted.end());
  std::vector<PortRange> out;
  for (auto p : sorted) {
    if (!out.empty() && out.back().to + 1 == p) {
      out.back().to = p;
    } else {
      out.push_back({p, p});
    }
  }
  return out;
}

bool carries(Transport route, Transport other) {
  return route == Transport::kAll || other == Transport::kAll || route == other;
}

std::string transport_name(Transport t) {
  return t == Transport::kTcp ? "tcp" : t == Transport::kUdp ? "udp" : "tcp and udp";
}

// The addresses of `list` of one family, for a set's elements.
std::vector<std::string> elements_of(const std::vector<std::string>& list, bool v6) {
  std::vector<std::string> out;
  for (const auto& item : list) {
    auto cidr = core::Cidr::parse(item);
    if (!cidr || (cidr->family() == core::IpAddress::Family::kV6) != v6) continue;
    const int full = v6 ? 128 : 32;
    out.push_back(cidr->prefix_length() == full ? cidr->address().to_string() : cidr->to_string());
  }
  return out;
}

std::string set_declaration(const std::string& name, bool v6, const std::vector<std::string>& elements) {
  std::string out =
      fmt::format("  set {} {{\n    type {}\n    flags interval\n", name, v6 ? "ipv6_addr" : "ipv4_addr");
  if (!elements.empty())
    out += fmt::format("    auto-merge\n    elements = {{ {} }}\n", fmt::join(elements, ", "));
  return out + "  }\n";
}

}  // namespace

RulePlan RulePlan::build(const std::vector<Route>& routes) {
  RulePlan plan;
  std::map<std::string, Table> tables;
  // Overlaps: every enabled route's ports and transport, user space or kernel.
  for (const auto& route : routes) {
    const auto& k = route.config.action.nftables;
    if (!k || !route.config.enabled) continue;
    const std::string path = fmt::format("routes[{}]", route.position);
    for (const auto& other : routes) {
      if (&other == &route || !other.config.enabled) continue;
      const auto& ok = other.config.action.nftables;
      if (ok && other.position > route.position) continue;  // reported once, on the later route
      const Transport other_transport = ok ? ok->protocol : other.config.match.transport;
      if (!carries(k->protocol, other_transport)) continue;
      for (const auto& r : route.config.match.ports.ranges) {
        for (std::uint32_t p = r.from; p <= r.to; ++p) {
          if (!other.config.match.ports.contains(static_cast<std::uint16_t>(p))) continue;
          throw core::config::Error(
              path + ".match.ports",
              ok ? fmt::format("{} port {} is also forwarded by the kernel for route \"{}\"",
                               transport_name(k->protocol), p, other.id)
                 : fmt::format("{} port {} is also route \"{}\"'s, which would never see a connection: "
                               "the kernel forwards the port for this route first",
                               transport_name(k->protocol), p, other.id));
        }
      }
    }

    const auto host = core::IpAddress::parse(k->to_host);
    if (!host) throw core::config::Error(path + ".action.nftables.toHost", "is not an IP address");
    const bool v6 = host->is_v6();
    if (k->ipv6_support && !v6) {
      throw core::config::Error(
          path + ".action.nftables.ipv6Support",
          fmt::format("is true but the destination {} is IPv4: IPv6 clients cannot be forwarded to it by "
                      "DNAT (give an IPv6 toHost for IPv6 clients, on a route of its own)",
                      k->to_host));
    }
    const auto from = expand_in_order(route.config.match.ports.ranges);
    const auto to = expand_in_order(k->to_port);
    if (to.size() > 1 && to.size() != from.size()) {
      throw core::config::Error(path + ".action.nftables.toPort",
                                fmt::format("has {} ports for the {} of match.ports: give one port, or as "
                                            "many as match.ports (mapped in order)",
                                            to.size(), from.size()));
    }

    PlannedRoute planned{.id = route.id, .tag = fmt::format("r{}", route.position), .table = k->table_name};
    Table& table = tables[k->table_name];
    table.name = k->table_name;
    const std::string nfproto = v6 ? "ipv6" : "ipv4";
    const std::string addr = v6 ? "ip6" : "ip";
    const std::string l4 = k->protocol == Transport::kTcp   ? "tcp"
                           : k->protocol == Transport::kUdp ? "udp"
                                                            : "{ tcp, udp }";
    const std::string match = fmt::format("meta nfproto {} meta l4proto {} th dport {} fib daddr type local",
                                          nfproto, l4, port_set(route.config.match.ports.ranges));
    const std::string comment = fmt::format(" comment \"{}\"", planned.tag);
    auto add = [&](Chain chain, const std::string& rule) {
      table.chains[chain].push_back(rule + comment);
      ++planned.rules;
    };

    // Address lists: action.nftables's, else the route's effective security.
    // Either list in action.nftables replaces both of the security's.
    const bool own_lists = k->ip_allow_list || k->ip_block_list;
    const std::vector<std::string> none;
    const auto& block =
        own_lists ? (k->ip_block_list ? *k->ip_block_list : none) : route.security.ip_block_list;
    const auto& allow =
        own_lists ? (k->ip_allow_list ? *k->ip_allow_list : none) : route.security.ip_allow_list;
    for (const auto* list : {&block, &allow}) {
      for (const auto& item : *list) {
        if (core::Cidr::parse(item)) continue;
        const bool own = k->ip_block_list || k->ip_allow_list || route.config.security;
        throw core::config::Error(
            own ? path + ".security" : std::string("defaults.security"),
            fmt::format("\"{}\" is not an IP address or a CIDR, and route \"{}\" is forwarded by the kernel, "
                        "which takes no globs",
                        item, route.id));
      }
    }
    if (!block.empty()) {
      const std::string set = planned.tag + "_block";
      table.sets.push_back(set_declaration(set, v6, elements_of(block, v6)));
      for (Chain c : {kFilterPrerouting, kFilterOutput})
        add(c, fmt::format("{} {} saddr @{} drop", match, addr, set));
    }
    if (!allow.empty()) {
      const std::string set = planned.tag + "_allow";
      table.sets.push_back(set_declaration(set, v6, elements_of(allow, v6)));
      for (Chain c : {kFilterPrerouting, kFilterOutput})
        add(c, fmt::format("{} {} saddr != @{} drop", match, addr, set));
    }

    const std::string host_text = host->to_string();
    std::string target;
    std::vector<std::uint16_t> backend_ports;
    if (to.empty()) {
      target = host_text;
      backend_ports = from;
    } else if (to.size() == 1) {
      target = v6 ? fmt::format("[{}]:{}", host_text, to[0]) : fmt::format("{}:{}", host_text, to[0]);
      backend_ports = to;
    } else {
      std::string map;
      for (std::size_t i = 0; i < from.size(); ++i)
        map += fmt::format("{}{} : {} . {}", i ? ", " : "", from[i], host_text, to[i]);
      target = fmt::format("th dport map {{ {} }}", map);
      backend_ports = to;
    }
    const std::string log =
        k->enable_logging ? fmt::format("log prefix \"basalt-proxy {}: \" level info ", planned.tag) : "";
    for (Chain c : {kNatPrerouting, kNatOutput})
      add(c, fmt::format("{} {}dnat {} to {}", match, log, addr, target));
    if (!k->preserve_source_ip) {
      add(kNatPostrouting,
          fmt::format("meta nfproto {} meta l4proto {} {} daddr {} th dport {} ct status dnat masquerade",
                      nfproto, l4, addr, host_text, port_set(as_ranges(backend_ports))));
    }
    if (!host->is_loopback()) plan.destinations_.push_back({route.id, host_text});
    plan.routes_.push_back(std::move(planned));
  }
  for (auto& [name, table] : tables) plan.tables_.push_back(std::move(table));
  return plan;
}

std::vector<std::string> RulePlan::table_names() const {
  std::vector<std::string> names;
  for (const auto& t : tables_) names.push_back(t.name);
  return names;
}

std::string RulePlan::script(std::string_view owner, const std::vector<std::string>& remove) const {
  std::string out;
  // "table X" creates it when missing, so that "delete table X" never fails.
  for (const auto& name : remove) out += fmt::format("table {0} {1}\ndelete table {0} {1}\n", kFamily, name);
  for (const auto& t : tables_) {
    out += fmt::format("table {0} {1}\ndelete table {0} {1}\ntable {0} {1} {{\n  comment \"{2}\"\n", kFamily,
                       t.name, owner);
    for (const auto& set : t.sets) out += set;
    for (int c = 0; c < 5; ++c) {
      out += fmt::format("  chain {} {{\n    {}\n", kChainNames[c], kChainHeads[c]);
      for (const auto& rule : t.chains[c]) out += "    " + rule + "\n";
      out += "  }\n";
    }
    out += "}\n";
  }
  return out;
}

}  // namespace basalt::proxy
