// The metrics recorder of one proxy worker: connections, bytes and refusals
// per worker, per route and per client IP, plus bytes per second for the
// last hour. The control thread reads every worker's recorder and sums them
// (MetricsReader).
//
//   WorkerMetrics metrics({.max_routes = registry.capacity()});
//   auto conn = metrics.connection_opened(slots[route.position], client_ip);
//   metrics.bytes(conn, n_read, 0);            // as bytes move, per chunk
//   metrics.connection_closed(conn);
//   metrics.refused(RefuseReason::kNoRoute);   // instead of opening
//
// Time: the data path never reads the clock. The worker calls tick(now) from
// its one-second timer (and may call it whenever it has the time anyway);
// bytes count into the second of the last tick, so a second's bucket is
// exact to within the timer's lateness.
//
// Cost: connection_opened() hashes the client address once (no allocation,
// except the first connection to one of 64 new route slots, which allocates
// that block of route counters; on allocation failure the route counts
// under the registry's overflow slot). bytes() is a handful of relaxed
// load/store pairs through the handle, no lookup.
//
// Thread-safety: everything that records (tick, connection_*, bytes,
// refused) is for the owning worker thread only. Every const member may be
// called from any thread at any time; values are read with relaxed atomics
// and may lag the writer by a few events.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "basalt/core/ip.hpp"
#include "metrics/counter.hpp"
#include "metrics/ip_table.hpp"
#include "metrics/refuse_reason.hpp"
#include "metrics/request_stats.hpp"
#include "metrics/route_registry.hpp"
#include "metrics/second_ring.hpp"

namespace basalt::proxy {

struct WorkerMetricsOptions {
  // Route slots this recorder keeps counters for: the registry's capacity.
  // A higher slot counts under the overflow route.
  std::size_t max_routes = RouteRegistry::kDefaultCapacity;
  // Client addresses tracked (IpTable).
  std::size_t max_ips = IpTable::kDefaultCapacity;
};

struct RouteStats {
  static constexpr std::size_t kWindowSeconds = 60;
  Counter active;
  Counter total;
  Counter bytes_in;
  Counter bytes_out;
  SecondRing<kWindowSeconds> window;
  RequestStats requests;  // HTTP routes
};

// What a connection keeps to report its bytes and its end. Valid from
// connection_opened() to connection_closed() on the same recorder. A
// default-constructed handle counts bytes in the worker's totals only.
struct ConnectionHandle {
  RouteStats* route = nullptr;
  IpEntry* ip = nullptr;
};

class WorkerMetrics {
 public:
  static constexpr std::size_t kHistorySeconds = 3600;
  static constexpr std::size_t kRouteBlock = 64;

  explicit WorkerMetrics(WorkerMetricsOptions options = {},
                         std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
  ~WorkerMetrics();
  WorkerMetrics(const WorkerMetrics&) = delete;
  WorkerMetrics& operator=(const WorkerMetrics&) = delete;

  // ---- the owning worker thread --------------------------------------------

  // Moves the current second forward (never back).
  void tick(std::chrono::system_clock::time_point now) noexcept;
  ConnectionHandle connection_opened(RouteSlot route, const core::IpAddress& client) noexcept;
  // Ends a connection; resets `conn`. Calling it twice is harmless.
  void connection_closed(ConnectionHandle& conn) noexcept;
  // Bytes received from the client (`in`) and sent to it (`out`); backend
  // traffic is not counted again. TLS overhead is included when the relay
  // counts socket bytes.
  void bytes(const ConnectionHandle& conn, std::uint64_t in, std::uint64_t out) noexcept {
    if (in) bytes_in_.add(in);
    if (out) bytes_out_.add(out);
    history_.add(second_, in, out);
    if (conn.route) {
      if (in) conn.route->bytes_in.add(in);
      if (out) conn.route->bytes_out.add(out);
      conn.route->window.add(second_, in, out);
    }
    if (conn.ip) conn.ip->add_bytes(second_, in, out);
  }
  void refused(RefuseReason reason) noexcept {
    auto i = static_cast<std::size_t>(reason);
    if (i < refused_.size()) refused_[i].add(1);
  }
  // One HTTP request answered with `status` after `took`; `slot`: its route
  // (nullopt: no route matched).
  void request(std::optional<RouteSlot> slot, int status, std::chrono::microseconds took) noexcept {
    requests_.record(status, took);
    request_window_.add(second_, 1, 0);
    if (slot) route_stats(*slot).requests.record(status, took);
  }
  // Upstream connections the worker's HTTP clients opened (reuse = requests
  // that did not need one).
  void set_upstream_connections(std::uint64_t opened) noexcept {
    upstream_connections_.reset();
    upstream_connections_.add(opened);
  }

  // ---- any thread ----------------------------------------------------------

  std::uint64_t active() const noexcept { return active_.load(); }
  std::uint64_t total() const noexcept { return total_.load(); }
  std::uint64_t bytes_in() const noexcept { return bytes_in_.load(); }
  std::uint64_t bytes_out() const noexcept { return bytes_out_.load(); }
  std::uint64_t refused(RefuseReason reason) const noexcept {
    auto i = static_cast<std::size_t>(reason);
    return i < refused_.size() ? refused_[i].load() : 0;
  }
  // The worker's bytes per second, for the last kHistorySeconds seconds.
  const SecondRing<kHistorySeconds>& history() const noexcept { return history_; }
  // The counters of a route slot; null when no connection ever used it here.
  const RouteStats* route(RouteSlot slot) const noexcept;
  const RouteStats& overflow_route() const noexcept { return overflow_route_; }
  const IpTable& ips() const noexcept { return ips_; }
  const RequestStats& requests() const noexcept { return requests_; }
  // Requests per second (in `in`) for the last minute.
  const SecondRing<RouteStats::kWindowSeconds>& request_window() const noexcept { return request_window_; }
  std::uint64_t upstream_connections() const noexcept { return upstream_connections_.load(); }

 private:
  struct RouteBlock {
    std::array<RouteStats, kRouteBlock> stats;
  };
  RouteStats& route_stats(RouteSlot slot) noexcept;

  std::size_t max_routes_;
  std::int64_t second_ = 0;  // writer-private: the second bytes count into
  Counter active_;
  Counter total_;
  Counter bytes_in_;
  Counter bytes_out_;
  std::array<Counter, kRefuseReasonCount> refused_;
  SecondRing<kHistorySeconds> history_;
  std::unique_ptr<std::atomic<RouteBlock*>[]> blocks_;
  RouteStats overflow_route_;
  IpTable ips_;
  RequestStats requests_;
  SecondRing<RouteStats::kWindowSeconds> request_window_;
  Counter upstream_connections_;
};

}  // namespace basalt::proxy
