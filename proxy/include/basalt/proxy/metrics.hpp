// A snapshot of basalt-proxy's metrics, summed over all workers: what the
// `getMetrics` management command answers (to_json(), in the names of
// smartproxy's IMetrics) and what the Prometheus listener serves
// (prometheus(), names basalt_proxy_*).
//
// Values are plain numbers, copied out of the workers' recorders by the
// control thread; a Metrics value is a regular value type (thread-compatible)
// and never changes after it is built. Throughput figures are bytes per
// second over whole seconds that have ended: `instant` the last one,
// `recent` the last 10, `average` the last 60; `history` has one sample per
// second, oldest first, timestamps in milliseconds since the epoch.
// Per-route and per-IP throughput use the `recent` window (10 s).
#pragma once

#include <array>
#include <utility>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::proxy {

// Bytes per second.
struct Throughput {
  double in = 0;
  double out = 0;
};

// The bytes of one second.
struct ThroughputSample {
  std::int64_t timestamp_ms = 0;  // the second's start
  std::uint64_t in = 0;
  std::uint64_t out = 0;
};

struct ConnectionCount {
  std::uint64_t active = 0;
  std::uint64_t total = 0;
};

// One route (by route id) or one client address.
struct TrafficMetrics {
  ConnectionCount connections;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  Throughput throughput;  // over the recent window
};

struct IpConnectionCount {
  std::string ip;
  std::uint64_t count = 0;  // open connections
};

// HTTP requests answered (routed ones and the proxy's own answers).
struct RequestMetrics {
  std::uint64_t total = 0;
  std::array<std::uint64_t, 5> by_class{};  // 1xx .. 5xx
  // Time to the answer's head: cumulative counts per upper bound in
  // milliseconds (the last bound is +Inf), as a Prometheus histogram.
  std::vector<std::pair<double, std::uint64_t>> latency_ms;
  double latency_sum_ms = 0;
};

// One backend of a forward route, as its health and load stand.
struct BackendMetrics {
  std::string route;
  std::string backend;       // host:port (port 0: the client's port)
  bool healthy = true;       // active checks (true when not checked)
  bool ejected = false;      // passive ejection in force
  std::uint64_t active = 0;  // requests / connections in flight
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;
  std::uint64_t ejections = 0;
};

// The optional parameters of `getMetrics`: `{topIPs: N, historySeconds: S}`.
struct MetricsQuery {
  static constexpr std::size_t kMaxTopIps = 1000;
  static constexpr std::size_t kMaxHistorySeconds = 3600;

  std::size_t top_ips = 10;          // topIPs: 0-1000
  std::size_t history_seconds = 60;  // historySeconds: 0-3600

  // From the command's params (null or absent: the defaults). Throws
  // core::config::Error naming `path.key` for an unknown key, a value that
  // is not a non-negative integer, or one out of range, e.g.
  // `params.topIPs: 5000 is out of range (0-1000)`.
  static MetricsQuery decode(const boost::json::value& params, std::string_view path = "params");
};

struct Metrics {
  // The IP key that counts connections that found the per-IP table full.
  static constexpr std::string_view kOtherIp = "other";

  ConnectionCount connections;
  // Routes of the current table (zeros included), earlier routes that still
  // have open connections, and "(other)" for routes beyond the registry's
  // bound. Keyed by route id.
  std::map<std::string, TrafficMetrics> routes;
  // Client addresses with open connections or bytes in the recent window
  // (and kOtherIp when it has either).
  std::map<std::string, TrafficMetrics> ips;
  std::vector<IpConnectionCount> top_ips;  // by open connections, most first
  Throughput instant;
  Throughput recent;
  Throughput average;
  std::vector<ThroughputSample> history;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::map<std::string, std::uint64_t> refused;  // every reason, zeros included
  // HTTP: every request, per route id (routes that answered requests), the
  // last whole second and the last minute.
  RequestMetrics requests;
  std::map<std::string, RequestMetrics> requests_by_route;
  double requests_per_second = 0;
  std::uint64_t requests_per_minute = 0;
  // Connections the pooled HTTP clients opened to backends: requests minus
  // this is how many reused one.
  std::uint64_t upstream_connections_opened = 0;
  std::vector<BackendMetrics> backends;

  // What the bounds cost.
  std::uint64_t ip_evictions = 0;          // idle addresses dropped for a new one
  std::uint64_t ip_overflows = 0;          // connections counted under kOtherIp
  std::uint64_t route_ids_overflowed = 0;  // route ids counted under "(other)"

  std::uint64_t refused_total() const noexcept;

  // The getMetrics answer:
  //   {connections: {active, total, byRoute: {id: {active, total}},
  //                  byIP: {ip: {active, total}}, topIPs: [{ip, count}]},
  //    throughput: {instant: {in, out}, recent, average,
  //                 history: [{timestamp, in, out}], byRoute: {id: {in, out}}, byIP},
  //    refused: {total, byReason: {reason: n}}, bytes: {in, out},
  //    requests: {perSecond, perMinute, total, byStatus: {"2xx": n}, latencyMs: {buckets: [{le, count}],
  //    sum},
  //               byRoute: {id: {total, byStatus, latencyMs}}},
  //    upstream: {connectionsOpened, reused},
  //    backends: [{route, backend, healthy, ejected, active, requests, failures, ejections}]}
  // connections.byIP lists addresses with open connections; throughput.byIP
  // those with bytes in the window.
  boost::json::object to_json() const;
  // Prometheus text exposition format (0.0.4), HELP and TYPE on every
  // family. Label values are escaped; per-IP figures are left out (their
  // cardinality is the number of clients).
  std::string prometheus() const;
};

}  // namespace basalt::proxy
