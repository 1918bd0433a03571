#include "metrics/worker_metrics.hpp"

#include <new>

namespace basalt::proxy {
namespace {

std::int64_t epoch_second(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::size_t block_count(std::size_t max_routes) {
  return (max_routes + WorkerMetrics::kRouteBlock - 1) / WorkerMetrics::kRouteBlock;
}

}  // namespace

WorkerMetrics::WorkerMetrics(WorkerMetricsOptions options, std::chrono::system_clock::time_point now)
    : max_routes_(options.max_routes),
      second_(epoch_second(now)),
      blocks_(std::make_unique<std::atomic<RouteBlock*>[]>(block_count(options.max_routes))),
      ips_(options.max_ips) {
  for (std::size_t i = 0; i < block_count(max_routes_); ++i) blocks_[i].store(nullptr);
}

WorkerMetrics::~WorkerMetrics() {
  for (std::size_t i = 0; i < block_count(max_routes_); ++i) delete blocks_[i].load();
}

void WorkerMetrics::tick(std::chrono::system_clock::time_point now) noexcept {
  auto s = epoch_second(now);
  if (s > second_) second_ = s;
}

RouteStats& WorkerMetrics::route_stats(RouteSlot slot) noexcept {
  if (slot >= max_routes_) return overflow_route_;
  auto& block = blocks_[slot / kRouteBlock];
  auto* b = block.load(std::memory_order_relaxed);
  if (!b) {
    b = new (std::nothrow) RouteBlock;
    if (!b) return overflow_route_;
    block.store(b, std::memory_order_release);
  }
  return b->stats[slot % kRouteBlock];
}

const RouteStats* WorkerMetrics::route(RouteSlot slot) const noexcept {
  if (slot >= max_routes_) return nullptr;
  auto* b = blocks_[slot / kRouteBlock].load(std::memory_order_acquire);
  return b ? &b->stats[slot % kRouteBlock] : nullptr;
}

ConnectionHandle WorkerMetrics::connection_opened(RouteSlot slot, const core::IpAddress& client) noexcept {
  active_.add(1);
  total_.add(1);
  auto& route = route_stats(slot);
  route.active.add(1);
  route.total.add(1);
  return {&route, &ips_.open(client)};
}

void WorkerMetrics::connection_closed(ConnectionHandle& conn) noexcept {
  if (!conn.route && !conn.ip) return;
  active_.sub(1);
  if (conn.route) conn.route->active.sub(1);
  if (conn.ip) ips_.close(*conn.ip);
  conn = {};
}

}  // namespace basalt::proxy
