// Reads and sums the recorders of all workers: the control thread's view of
// the proxy's metrics (smartproxy's IMetrics), as numbers or as a Metrics
// snapshot for getMetrics and Prometheus.
//
//   MetricsReader reader(workers, registry);
//   auto answer = reader.collect(MetricsQuery::decode(params), std::chrono::system_clock::now()).to_json();
//
// Time: `now` is passed in by the caller (tests pass a fixed time); windows
// cover the whole seconds that ended before now: a window of w seconds is
// [now - w, now - 1] in epoch seconds. Window lengths are clamped to what
// is kept: 1-3600 s for the whole proxy, 1-60 s per route, 1-10 s per IP.
//
// Thread-safety: use it on the thread that owns the RouteRegistry (the
// control thread) while the workers keep recording; the recorders must
// outlive the reader. Figures are read with relaxed atomics, so a sum may
// mix values a few events apart. Allocates freely; never blocks a worker.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "basalt/proxy/metrics.hpp"
#include "metrics/route_registry.hpp"
#include "metrics/worker_metrics.hpp"

namespace basalt::proxy {

class MetricsReader {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  static constexpr std::size_t kInstantSeconds = 1;
  static constexpr std::size_t kRecentSeconds = 10;
  static constexpr std::size_t kAverageSeconds = 60;

  MetricsReader(std::span<const WorkerMetrics* const> workers, const RouteRegistry& routes);

  std::uint64_t active() const;
  std::uint64_t total() const;
  // Bytes per second over the last `seconds` (throughput.custom).
  Throughput throughput(std::size_t seconds, TimePoint now) const;
  // One sample per second for the last `seconds`, oldest first.
  std::vector<ThroughputSample> history(std::size_t seconds, TimePoint now) const;
  // Per route id: counters and throughput over the last `window_seconds`.
  std::map<std::string, TrafficMetrics> by_route(std::size_t window_seconds, TimePoint now) const;
  // Per client address (and Metrics::kOtherIp): counters and throughput over
  // the last `window_seconds`; every tracked address, idle ones included.
  std::map<std::string, TrafficMetrics> by_ip(std::size_t window_seconds, TimePoint now) const;
  // The `limit` addresses with the most open connections (ties: more
  // connections ever, then address order); addresses without open
  // connections are left out.
  std::vector<IpConnectionCount> top_ips(std::size_t limit) const;

  // Everything, as getMetrics reports it.
  Metrics collect(const MetricsQuery& query, TimePoint now) const;

 private:
  std::vector<IpConnectionCount> top_ips(const std::map<std::string, TrafficMetrics>& ips,
                                         std::size_t limit) const;
  // HTTP requests: totals, per second / minute, per route id (routes that answered any).
  void collect_requests(Metrics& m, TimePoint now) const;

  std::span<const WorkerMetrics* const> workers_;
  const RouteRegistry& routes_;
};

}  // namespace basalt::proxy
