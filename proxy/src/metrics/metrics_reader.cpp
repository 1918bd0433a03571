#include "metrics/metrics_reader.hpp"

#include <algorithm>
#include <limits>

namespace basalt::proxy {
namespace {

std::int64_t epoch_second(MetricsReader::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::size_t clamp_window(std::size_t seconds, std::size_t max) {
  return std::clamp<std::size_t>(seconds, 1, max);
}

Throughput rate(const ByteCount& bytes, std::size_t seconds) {
  auto s = static_cast<double>(seconds);
  return {static_cast<double>(bytes.in) / s, static_cast<double>(bytes.out) / s};
}

void add_to(TrafficMetrics& m, std::uint64_t active, std::uint64_t total, std::uint64_t in, std::uint64_t out,
            const ByteCount& window) {
  m.connections.active += active;
  m.connections.total += total;
  m.bytes_in += in;
  m.bytes_out += out;
  // Window bytes are summed in the rate fields first and divided at the end.
  m.throughput.in += static_cast<double>(window.in);
  m.throughput.out += static_cast<double>(window.out);
}

void to_rates(std::map<std::string, TrafficMetrics>& m, std::size_t seconds) {
  for (auto& [k, v] : m) {
    v.throughput.in /= static_cast<double>(seconds);
    v.throughput.out /= static_cast<double>(seconds);
  }
}

}  // namespace

MetricsReader::MetricsReader(std::span<const WorkerMetrics* const> workers, const RouteRegistry& routes)
    : workers_(workers), routes_(routes) {}

std::uint64_t MetricsReader::active() const {
  std::uint64_t n = 0;
  for (const auto* w : workers_) n += w->active();
  return n;
}

std::uint64_t MetricsReader::total() const {
  std::uint64_t n = 0;
  for (const auto* w : workers_) n += w->total();
  return n;
}

Throughput MetricsReader::throughput(std::size_t seconds, TimePoint now) const {
  seconds = clamp_window(seconds, WorkerMetrics::kHistorySeconds);
  auto end = epoch_second(now) - 1;
  auto begin = end - static_cast<std::int64_t>(seconds) + 1;
  ByteCount bytes;
  for (const auto* w : workers_) bytes += w->history().sum(begin, end);
  return rate(bytes, seconds);
}

std::vector<ThroughputSample> MetricsReader::history(std::size_t seconds, TimePoint now) const {
  seconds = std::min(seconds, WorkerMetrics::kHistorySeconds);
  std::vector<ThroughputSample> out;
  out.reserve(seconds);
  auto end = epoch_second(now) - 1;
  for (auto s = end - static_cast<std::int64_t>(seconds) + 1; s <= end; ++s) {
    ThroughputSample sample{.timestamp_ms = s * 1000};
    for (const auto* w : workers_) {
      auto b = w->history().at(s);
      sample.in += b.in;
      sample.out += b.out;
    }
    out.push_back(sample);
  }
  return out;
}

std::map<std::string, TrafficMetrics> MetricsReader::by_route(std::size_t window_seconds,
                                                              TimePoint now) const {
  window_seconds = clamp_window(window_seconds, RouteStats::kWindowSeconds);
  auto end = epoch_second(now) - 1;
  auto begin = end - static_cast<std::int64_t>(window_seconds) + 1;
  std::map<std::string, TrafficMetrics> out;
  const auto& entries = routes_.entries();
  for (std::size_t slot = 0; slot < entries.size(); ++slot) {
    const auto& entry = entries[slot];
    TrafficMetrics sum;
    for (const auto* w : workers_) {
      if (const auto* r = w->route(static_cast<RouteSlot>(slot))) {
        add_to(sum, r->active.load(), r->total.load(), r->bytes_in.load(), r->bytes_out.load(),
               r->window.sum(begin, end));
      }
    }
    // A route that left the table is shown while its connections drain.
    if (entry.current || sum.connections.active > 0) out[entry.id] = sum;
  }
  TrafficMetrics overflow;
  for (const auto* w : workers_) {
    const auto& r = w->overflow_route();
    add_to(overflow, r.active.load(), r.total.load(), r.bytes_in.load(), r.bytes_out.load(),
           r.window.sum(begin, end));
  }
  if (overflow.connections.total > 0 || routes_.overflow_current()) {
    out[std::string(RouteRegistry::kOverflowId)] = overflow;
  }
  to_rates(out, window_seconds);
  return out;
}

std::map<std::string, TrafficMetrics> MetricsReader::by_ip(std::size_t window_seconds, TimePoint now) const {
  window_seconds = clamp_window(window_seconds, IpEntry::kWindowSeconds);
  auto end = epoch_second(now) - 1;
  auto begin = end - static_cast<std::int64_t>(window_seconds) + 1;
  std::map<core::IpAddress, TrafficMetrics> merged;
  TrafficMetrics other;
  for (const auto* w : workers_) {
    for (const auto& s : w->ips().sample(begin, end)) {
      add_to(merged[s.ip], s.active, s.total, s.bytes_in, s.bytes_out, s.window);
    }
    auto o = w->ips().other(begin, end);
    add_to(other, o.active, o.total, o.bytes_in, o.bytes_out, o.window);
  }
  std::map<std::string, TrafficMetrics> out;
  for (const auto& [ip, m] : merged) out.emplace(ip.to_string(), m);
  if (other.connections.total > 0) out.emplace(std::string(Metrics::kOtherIp), other);
  to_rates(out, window_seconds);
  return out;
}

std::vector<IpConnectionCount> MetricsReader::top_ips(const std::map<std::string, TrafficMetrics>& ips,
                                                      std::size_t limit) const {
  std::vector<std::pair<const std::string*, const TrafficMetrics*>> open;
  for (const auto& [ip, m] : ips) {
    if (ip != Metrics::kOtherIp && m.connections.active > 0) open.emplace_back(&ip, &m);
  }
  auto n = std::min(limit, open.size());
  // The map is in address-text order, so a stable sort keeps that order for ties.
  std::stable_sort(open.begin(), open.end(), [](const auto& a, const auto& b) {
    if (a.second->connections.active != b.second->connections.active) {
      return a.second->connections.active > b.second->connections.active;
    }
    return a.second->connections.total > b.second->connections.total;
  });
  std::vector<IpConnectionCount> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back({*open[i].first, open[i].second->connections.active});
  return out;
}

std::vector<IpConnectionCount> MetricsReader::top_ips(std::size_t limit) const {
  return top_ips(by_ip(IpEntry::kWindowSeconds, TimePoint{}), limit);
}

namespace {

void add_requests(RequestMetrics& into, const RequestStats& s) {
  into.total += s.requests.load();
  for (std::size_t i = 0; i < into.by_class.size(); ++i) into.by_class[i] += s.by_class[i].load();
  if (into.latency_ms.empty()) {
    for (double le : RequestStats::kLatencyBounds) into.latency_ms.emplace_back(le, 0);
    into.latency_ms.emplace_back(std::numeric_limits<double>::infinity(), 0);
  }
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < s.latency.size(); ++i) {
    cumulative += s.latency[i].load();
    into.latency_ms[i].second += cumulative;
  }
  into.latency_sum_ms += static_cast<double>(s.latency_us.load()) / 1000.0;
}

}  // namespace

void MetricsReader::collect_requests(Metrics& m, TimePoint now) const {
  const auto end = epoch_second(now) - 1;
  for (const auto* w : workers_) {
    add_requests(m.requests, w->requests());
    m.requests_per_second += static_cast<double>(w->request_window().sum(end, end).in);
    m.requests_per_minute += w->request_window().sum(end - RouteStats::kWindowSeconds + 1, end).in;
    m.upstream_connections_opened += w->upstream_connections();
  }
  const auto& entries = routes_.entries();
  for (std::size_t slot = 0; slot < entries.size(); ++slot) {
    RequestMetrics r;
    for (const auto* w : workers_) {
      if (const auto* stats = w->route(static_cast<RouteSlot>(slot))) add_requests(r, stats->requests);
    }
    if (r.total > 0) m.requests_by_route.emplace(entries[slot].id, std::move(r));
  }
}

Metrics MetricsReader::collect(const MetricsQuery& query, TimePoint now) const {
  Metrics m;
  for (const auto* w : workers_) {
    m.connections.active += w->active();
    m.connections.total += w->total();
    m.bytes_in += w->bytes_in();
    m.bytes_out += w->bytes_out();
    m.ip_evictions += w->ips().evictions();
    m.ip_overflows += w->ips().overflows();
  }
  for (std::size_t i = 0; i < kRefuseReasonCount; ++i) {
    auto reason = static_cast<RefuseReason>(i);
    std::uint64_t n = 0;
    for (const auto* w : workers_) n += w->refused(reason);
    m.refused[std::string(to_string(reason))] = n;
  }
  m.route_ids_overflowed = routes_.overflowed_ids();
  m.routes = by_route(kRecentSeconds, now);
  auto ips = by_ip(kRecentSeconds, now);
  m.top_ips = top_ips(ips, query.top_ips);
  for (auto& [ip, t] : ips) {
    if (t.connections.active > 0 || t.throughput.in > 0 || t.throughput.out > 0) m.ips.emplace(ip, t);
  }
  m.instant = throughput(kInstantSeconds, now);
  m.recent = throughput(kRecentSeconds, now);
  m.average = throughput(kAverageSeconds, now);
  m.history = history(query.history_seconds, now);
  collect_requests(m, now);
  return m;
}

}  // namespace basalt::proxy
