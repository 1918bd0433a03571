#include "udp/udp_prometheus.hpp"

#include <fmt/format.h>

#include <string_view>

namespace basalt::proxy {

namespace {

std::string escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::uint64_t number(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v ? v->to_number<std::uint64_t>() : 0;
}

}  // namespace

std::string udp_prometheus(const boost::json::object& udp) {
  std::string out;
  auto header = [&out](std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  header("basalt_proxy_udp_datagrams_total", "counter",
         "UDP datagrams relayed, by direction (in: from clients).");
  out += fmt::format("basalt_proxy_udp_datagrams_total{{direction=\"in\"}} {}\n", number(udp, "datagramsIn"));
  out +=
      fmt::format("basalt_proxy_udp_datagrams_total{{direction=\"out\"}} {}\n", number(udp, "datagramsOut"));
  header("basalt_proxy_udp_route_datagrams_total", "counter", "UDP datagrams per route and direction.");
  header("basalt_proxy_udp_route_bytes_total", "counter", "UDP payload bytes per route and direction.");
  if (const auto* routes = udp.if_contains("byRoute"); routes && routes->is_object()) {
    for (const auto& kv : routes->get_object()) {
      const auto& r = kv.value().get_object();
      const std::string id = escape(kv.key());
      out += fmt::format("basalt_proxy_udp_route_datagrams_total{{route=\"{}\",direction=\"in\"}} {}\n", id,
                         number(r, "datagramsIn"));
      out += fmt::format("basalt_proxy_udp_route_datagrams_total{{route=\"{}\",direction=\"out\"}} {}\n", id,
                         number(r, "datagramsOut"));
      out += fmt::format("basalt_proxy_udp_route_bytes_total{{route=\"{}\",direction=\"in\"}} {}\n", id,
                         number(r, "bytesIn"));
      out += fmt::format("basalt_proxy_udp_route_bytes_total{{route=\"{}\",direction=\"out\"}} {}\n", id,
                         number(r, "bytesOut"));
    }
  }
  header("basalt_proxy_udp_sessions_active", "gauge", "Open UDP sessions.");
  out += fmt::format("basalt_proxy_udp_sessions_active {}\n", number(udp, "activeSessions"));
  header("basalt_proxy_udp_sessions_total", "counter", "UDP sessions opened.");
  out += fmt::format("basalt_proxy_udp_sessions_total {}\n", number(udp, "totalSessions"));
  header("basalt_proxy_udp_dropped_total", "counter", "UDP datagrams dropped, by reason.");
  if (const auto* dropped = udp.if_contains("dropped"); dropped && dropped->is_object()) {
    if (const auto* by = dropped->get_object().if_contains("byReason"); by && by->is_object()) {
      for (const auto& kv : by->get_object()) {
        out += fmt::format("basalt_proxy_udp_dropped_total{{reason=\"{}\"}} {}\n", escape(kv.key()),
                           kv.value().to_number<std::uint64_t>());
      }
    }
  }
  return out;
}

}  // namespace basalt::proxy
