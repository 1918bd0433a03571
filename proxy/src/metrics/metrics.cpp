#include "basalt/proxy/metrics.hpp"

#include <fmt/format.h>

#include <cmath>

#include "basalt/core/config.hpp"

namespace basalt::proxy {
namespace {

std::size_t decode_bounded(const boost::json::value& v, const std::string& path, std::size_t max) {
  if (v.is_uint64() && v.get_uint64() <= max) return static_cast<std::size_t>(v.get_uint64());
  if (v.is_int64() && v.get_int64() >= 0 && static_cast<std::uint64_t>(v.get_int64()) <= max) {
    return static_cast<std::size_t>(v.get_int64());
  }
  auto shown = boost::json::serialize(v);
  if (v.is_int64() || v.is_uint64()) {
    throw core::config::Error(path, fmt::format("{} is out of range (0-{})", shown, max));
  }
  throw core::config::Error(path, fmt::format("{} is not a whole number (0-{})", shown, max));
}

// Prometheus text format: backslash, double quote and line feed are escaped
// in label values.
std::string escape_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

boost::json::object in_out(double in, double out) {
  return {{"in", in}, {"out", out}};
}

}  // namespace

MetricsQuery MetricsQuery::decode(const boost::json::value& params, std::string_view path) {
  MetricsQuery q;
  if (params.is_null()) return q;
  if (!params.is_object()) {
    throw core::config::Error(std::string(path),
                              fmt::format("{} is not an object", boost::json::serialize(params)));
  }
  for (const auto& [key, value] : params.get_object()) {
    auto key_path = path.empty() ? std::string(key) : fmt::format("{}.{}", path, std::string_view(key));
    if (key == "topIPs") {
      q.top_ips = decode_bounded(value, key_path, kMaxTopIps);
    } else if (key == "historySeconds") {
      q.history_seconds = decode_bounded(value, key_path, kMaxHistorySeconds);
    } else {
      throw core::config::Error(key_path, "is not a known parameter (topIPs, historySeconds)");
    }
  }
  return q;
}

std::uint64_t Metrics::refused_total() const noexcept {
  std::uint64_t n = 0;
  for (const auto& [reason, count] : refused) n += count;
  return n;
}

namespace {

constexpr std::array<std::string_view, 5> kClasses{"1xx", "2xx", "3xx", "4xx", "5xx"};

boost::json::object requests_json(const RequestMetrics& r) {
  boost::json::object by_status, latency;
  for (std::size_t i = 0; i < kClasses.size(); ++i) by_status[kClasses[i]] = r.by_class[i];
  boost::json::array buckets;
  for (const auto& [le, count] : r.latency_ms) {
    boost::json::object b;
    if (std::isinf(le)) {
      b["le"] = "+Inf";
    } else {
      b["le"] = le;
    }
    b["count"] = count;
    buckets.push_back(std::move(b));
  }
  latency["buckets"] = std::move(buckets);
  latency["sum"] = r.latency_sum_ms;
  boost::json::object out;
  out["total"] = r.total;
  out["byStatus"] = std::move(by_status);
  out["latencyMs"] = std::move(latency);
  return out;
}

}  // namespace

boost::json::object Metrics::to_json() const {
  boost::json::object by_route, by_ip, route_rates, ip_rates;
  for (const auto& [id, r] : routes) {
    by_route[id] = {{"active", r.connections.active}, {"total", r.connections.total}};
    route_rates[id] = in_out(r.throughput.in, r.throughput.out);
  }
  for (const auto& [ip, m] : ips) {
    if (m.connections.active > 0)
      by_ip[ip] = {{"active", m.connections.active}, {"total", m.connections.total}};
    if (m.throughput.in > 0 || m.throughput.out > 0) ip_rates[ip] = in_out(m.throughput.in, m.throughput.out);
  }
  boost::json::array top;
  for (const auto& t : top_ips) top.push_back(boost::json::object{{"ip", t.ip}, {"count", t.count}});
  boost::json::array samples;
  samples.reserve(history.size());
  for (const auto& s : history) {
    samples.push_back(boost::json::object{{"timestamp", s.timestamp_ms}, {"in", s.in}, {"out", s.out}});
  }
  boost::json::object reasons;
  for (const auto& [reason, count] : refused) reasons[reason] = count;

  boost::json::object conns{{"active", connections.active}, {"total", connections.total}};
  conns["byRoute"] = std::move(by_route);
  conns["byIP"] = std::move(by_ip);
  conns["topIPs"] = std::move(top);
  boost::json::object tp;
  tp["instant"] = in_out(instant.in, instant.out);
  tp["recent"] = in_out(recent.in, recent.out);
  tp["average"] = in_out(average.in, average.out);
  tp["history"] = std::move(samples);
  tp["byRoute"] = std::move(route_rates);
  tp["byIP"] = std::move(ip_rates);
  boost::json::object refused_obj{{"total", refused_total()}};
  refused_obj["byReason"] = std::move(reasons);

  boost::json::object out;
  out["connections"] = std::move(conns);
  out["throughput"] = std::move(tp);
  out["refused"] = std::move(refused_obj);
  out["bytes"] = boost::json::object{{"in", bytes_in}, {"out", bytes_out}};

  auto req = requests_json(requests);
  req["perSecond"] = requests_per_second;
  req["perMinute"] = requests_per_minute;
  boost::json::object req_routes;
  for (const auto& [id, r] : requests_by_route) req_routes[id] = requests_json(r);
  req["byRoute"] = std::move(req_routes);
  out["requests"] = std::move(req);
  boost::json::object upstream;
  upstream["connectionsOpened"] = upstream_connections_opened;
  upstream["reused"] =
      requests.total > upstream_connections_opened ? requests.total - upstream_connections_opened : 0;
  out["upstream"] = std::move(upstream);
  boost::json::array list;
  for (const auto& b : backends) {
    boost::json::object o;
    o["route"] = b.route;
    o["backend"] = b.backend;
    o["healthy"] = b.healthy;
    o["ejected"] = b.ejected;
    o["active"] = b.active;
    o["requests"] = b.requests;
    o["failures"] = b.failures;
    o["ejections"] = b.ejections;
    list.push_back(std::move(o));
  }
  out["backends"] = std::move(list);
  return out;
}

std::string Metrics::prometheus() const {
  std::string out;
  auto header = [&](std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto single = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    header(name, type, help);
    out += fmt::format("{} {}\n", name, value);
  };

  single("basalt_proxy_connections_active", "gauge", "Open client connections.", connections.active);
  single("basalt_proxy_connections_total", "counter", "Client connections accepted and routed.",
         connections.total);

  header("basalt_proxy_route_connections_active", "gauge", "Open client connections, by route id.");
  for (const auto& [id, r] : routes) {
    out += fmt::format("basalt_proxy_route_connections_active{{route=\"{}\"}} {}\n", escape_label(id),
                       r.connections.active);
  }
  header("basalt_proxy_route_connections_total", "counter", "Client connections routed, by route id.");
  for (const auto& [id, r] : routes) {
    out += fmt::format("basalt_proxy_route_connections_total{{route=\"{}\"}} {}\n", escape_label(id),
                       r.connections.total);
  }
  header("basalt_proxy_route_bytes_total", "counter", "Bytes from (in) and to (out) clients, by route id.");
  for (const auto& [id, r] : routes) {
    auto label = escape_label(id);
    out += fmt::format("basalt_proxy_route_bytes_total{{route=\"{}\",direction=\"in\"}} {}\n", label,
                       r.bytes_in);
    out += fmt::format("basalt_proxy_route_bytes_total{{route=\"{}\",direction=\"out\"}} {}\n", label,
                       r.bytes_out);
  }

  header("basalt_proxy_bytes_total", "counter", "Bytes from (in) and to (out) clients.");
  out += fmt::format("basalt_proxy_bytes_total{{direction=\"in\"}} {}\n", bytes_in);
  out += fmt::format("basalt_proxy_bytes_total{{direction=\"out\"}} {}\n", bytes_out);

  header("basalt_proxy_throughput_bytes_per_second", "gauge",
         "Bytes per second over the last second (instant), 10 s (recent) and 60 s (average).");
  for (auto [window, t] :
       {std::pair{"instant", instant}, std::pair{"recent", recent}, std::pair{"average", average}}) {
    out += fmt::format("basalt_proxy_throughput_bytes_per_second{{direction=\"in\",window=\"{}\"}} {}\n",
                       window, t.in);
    out += fmt::format("basalt_proxy_throughput_bytes_per_second{{direction=\"out\",window=\"{}\"}} {}\n",
                       window, t.out);
  }

  header("basalt_proxy_refused_total", "counter",
         "Connections refused or dropped before relaying, by reason.");
  for (const auto& [reason, count] : refused) {
    out += fmt::format("basalt_proxy_refused_total{{reason=\"{}\"}} {}\n", escape_label(reason), count);
  }

  single("basalt_proxy_ip_table_evictions_total", "counter",
         "Idle client addresses dropped from the per-IP metrics table to make room.", ip_evictions);
  single("basalt_proxy_ip_table_overflow_total", "counter",
         "Connections counted under the IP \"other\" because the per-IP metrics table was full.",
         ip_overflows);
  single("basalt_proxy_route_ids_overflowed_total", "counter",
         "Route ids counted under the route \"(other)\" because the route metrics registry was full.",
         route_ids_overflowed);

  header("basalt_proxy_http_requests_total", "counter",
         "HTTP requests answered, by route id and status class.");
  auto classes = [&](std::string_view route, const RequestMetrics& r) {
    for (std::size_t i = 0; i < kClasses.size(); ++i) {
      out += fmt::format("basalt_proxy_http_requests_total{{route=\"{}\",class=\"{}\"}} {}\n", route,
                         kClasses[i], r.by_class[i]);
    }
  };
  for (const auto& [id, r] : requests_by_route) classes(escape_label(id), r);
  header("basalt_proxy_http_request_duration_seconds", "histogram",
         "Time from an HTTP request's head to its answer's head, by route id.");
  for (const auto& [id, r] : requests_by_route) {
    auto label = escape_label(id);
    for (const auto& [le, count] : r.latency_ms) {
      const std::string bound = std::isinf(le) ? std::string("+Inf") : fmt::format("{}", le / 1000.0);
      out += fmt::format("basalt_proxy_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                         label, bound, count);
    }
    out += fmt::format("basalt_proxy_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", label,
                       r.latency_sum_ms / 1000.0);
    out +=
        fmt::format("basalt_proxy_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", label, r.total);
  }
  single("basalt_proxy_http_requests_all_total", "counter",
         "HTTP requests answered, those without a route included.", requests.total);
  single("basalt_proxy_upstream_connections_opened_total", "counter",
         "Connections the pooled HTTP clients opened to backends.", upstream_connections_opened);
  header("basalt_proxy_backend_up", "gauge", "1 when a backend may take traffic (healthy and not ejected).");
  for (const auto& b : backends) {
    out += fmt::format("basalt_proxy_backend_up{{route=\"{}\",backend=\"{}\"}} {}\n", escape_label(b.route),
                       escape_label(b.backend), b.healthy && !b.ejected ? 1 : 0);
  }
  header("basalt_proxy_backend_failures_total", "counter", "Connect failures and 5xx answers, by backend.");
  for (const auto& b : backends) {
    out += fmt::format("basalt_proxy_backend_failures_total{{route=\"{}\",backend=\"{}\"}} {}\n",
                       escape_label(b.route), escape_label(b.backend), b.failures);
  }
  return out;
}

}  // namespace basalt::proxy
