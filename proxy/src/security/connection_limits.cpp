#include "security/connection_limits.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <random>
#include <unordered_map>
#include <utility>

#include "basalt/core/hash_mix.hpp"

namespace basalt::proxy {
namespace {

using Minutes = std::chrono::minutes;
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

}  // namespace

std::string_view to_string(LimitRefusal refusal) noexcept {
  switch (refusal) {
    case LimitRefusal::kRouteMaxConnections:
      return "route_max_connections";
    case LimitRefusal::kIpMaxConnections:
      return "ip_max_connections";
    case LimitRefusal::kIpRateLimit:
      return "ip_rate_limit";
    case LimitRefusal::kIpTableFull:
      return "ip_table_full";
  }
  return "unknown";
}

// One client IP. Guarded by its shard's mutex.
struct ConnectionLimits::Entry {
  std::uint32_t active = 0;
  std::int64_t window = 0;     // the minute `current` counts
  std::uint32_t current = 0;   // admissions in minute `window`
  std::uint32_t previous = 0;  // admissions in minute `window - 1`

  // Moves the windows forward to `minute`.
  void roll(std::int64_t minute) noexcept {
    if (minute <= window) return;  // steady clocks do not go back; be safe anyway
    previous = minute == window + 1 ? current : 0;
    current = 0;
    window = minute;
  }
  // Rolled to the current minute: no admission in this or the last minute.
  bool idle() const noexcept { return current == 0 && previous == 0; }
  // The first minute at which the entry is idle (if nothing happens).
  std::int64_t idle_from() const noexcept { return current > 0 ? window + 2 : window + 1; }
};

struct ConnectionLimits::Shard {
  std::mutex mutex;
  std::unordered_map<core::IpAddress, Entry, KeyHash> entries;
  // A full shard sweeps for idle entries only when one may exist: a
  // connection ended since the last sweep, or an entry's windows ran out.
  bool released_since_sweep = true;
  std::int64_t next_idle_minute = 0;
};

std::size_t ConnectionLimits::KeyHash::operator()(const core::IpAddress& ip) const noexcept {
  std::uint8_t bytes[16] = {};
  auto view = ip.bytes();
  std::memcpy(bytes, view.data(), view.size());
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::memcpy(&a, bytes, 8);
  std::memcpy(&b, bytes + 8, 8);
  std::uint64_t h = core::mix64(seed ^ a);
  h = core::mix64(h ^ b);
  h = core::mix64(h ^ (static_cast<std::uint64_t>(ip.scope_id()) << 1 | (ip.is_v6() ? 1u : 0u)));
  return static_cast<std::size_t>(h);
}

ConnectionLimits::ConnectionLimits(Options options)
    : per_shard_(std::max<std::size_t>(1, (options.max_ips + kShards - 1) / kShards)),
      shards_(std::make_unique<Shard[]>(kShards)) {
  std::random_device random;
  hash_.seed = (static_cast<std::uint64_t>(random()) << 32) ^ random();
  for (std::size_t i = 0; i < kShards; ++i) {
    shards_[i].entries = std::unordered_map<core::IpAddress, Entry, KeyHash>(0, hash_);
    shards_[i].entries.reserve(per_shard_);
  }
}

ConnectionLimits::~ConnectionLimits() = default;

core::IpAddress ConnectionLimits::key_of(const core::IpAddress& ip) noexcept {
  return ip.unmapped();
}

Admission ConnectionLimits::admit(const core::IpAddress& ip, const Limits& limits, RouteCounter* route,
                                  Clock::time_point now) {
  if (route) {
    std::uint32_t active = route->active.load(std::memory_order_relaxed);
    do {
      if (limits.max_connections && active >= *limits.max_connections) {
        return Admission(LimitRefusal::kRouteMaxConnections);
      }
    } while (!route->active.compare_exchange_weak(active, active + 1, std::memory_order_acq_rel,
                                                  std::memory_order_relaxed));
  }
  auto refuse = [route](LimitRefusal refusal) {
    if (route) route->active.fetch_sub(1, std::memory_order_acq_rel);
    return Admission(refusal);
  };

  ConnectionTicket ticket;
  if (!limits.max_connections_per_ip && !limits.rate_per_minute) {
    ticket.route_ = route;
    return Admission(std::move(ticket));
  }
  if (limits.max_connections_per_ip == 0u) return refuse(LimitRefusal::kIpMaxConnections);
  if (limits.rate_per_minute == 0u) return refuse(LimitRefusal::kIpRateLimit);

  const core::IpAddress key = key_of(ip);
  const std::size_t shard_index = (hash_(key) >> 32) % kShards;
  Shard& shard = shards_[shard_index];
  const auto since_epoch = now.time_since_epoch();
  const auto minute_start = std::chrono::floor<Minutes>(since_epoch);
  const std::int64_t minute = minute_start.count();
  // Of the current minute, the part still to come: the weight of the previous one.
  const double remaining = 1.0 - std::chrono::duration<double>(since_epoch - minute_start) /
                                     std::chrono::duration<double>(Minutes(1));

  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) {
    if (shard.entries.size() >= per_shard_) {
      if (!shard.released_since_sweep && minute < shard.next_idle_minute) {
        return refuse(LimitRefusal::kIpTableFull);
      }
      std::int64_t next_idle = kNever;
      for (auto e = shard.entries.begin(); e != shard.entries.end();) {
        e->second.roll(minute);
        if (e->second.active == 0 && e->second.idle()) {
          e = shard.entries.erase(e);
          continue;
        }
        if (e->second.active == 0) next_idle = std::min(next_idle, e->second.idle_from());
        ++e;
      }
      shard.released_since_sweep = false;
      shard.next_idle_minute = next_idle;
      if (shard.entries.size() >= per_shard_) {
        return refuse(LimitRefusal::kIpTableFull);
      }
    }
    it = shard.entries.emplace(key, Entry{.window = minute}).first;
  }

  Entry& entry = it->second;
  entry.roll(minute);
  if (limits.max_connections_per_ip && entry.active >= *limits.max_connections_per_ip) {
    return refuse(LimitRefusal::kIpMaxConnections);
  }
  if (limits.rate_per_minute &&
      static_cast<double>(entry.current) + 1.0 + static_cast<double>(entry.previous) * remaining >
          static_cast<double>(*limits.rate_per_minute)) {
    return refuse(LimitRefusal::kIpRateLimit);
  }
  ++entry.active;
  ++entry.current;
  ticket.route_ = route;
  ticket.limits_ = this;
  ticket.shard_ = shard_index;
  ticket.entry_ = &entry;
  return Admission(std::move(ticket));
}

void ConnectionLimits::release_ip(std::size_t shard_index, void* entry) noexcept {
  Shard& shard = shards_[shard_index];
  std::lock_guard lock(shard.mutex);
  auto* e = static_cast<Entry*>(entry);
  if (--e->active == 0) shard.released_since_sweep = true;
}

std::shared_ptr<RouteCounter> ConnectionLimits::counter_for(std::string_view route_id) {
  std::lock_guard lock(routes_mutex_);
  auto it = routes_.find(route_id);
  if (it == routes_.end())
    it = routes_.emplace(std::string(route_id), std::make_shared<RouteCounter>()).first;
  return it->second;
}

void ConnectionLimits::prune_route_counters() {
  std::lock_guard lock(routes_mutex_);
  std::erase_if(routes_, [](const auto& item) { return item.second.use_count() == 1; });
}

std::uint32_t ConnectionLimits::active_for(const core::IpAddress& ip) const {
  const core::IpAddress key = key_of(ip);
  Shard& shard = shards_[(hash_(key) >> 32) % kShards];
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(key);
  return it == shard.entries.end() ? 0 : it->second.active;
}

std::size_t ConnectionLimits::tracked_ips() const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    total += shards_[i].entries.size();
  }
  return total;
}

ConnectionTicket::ConnectionTicket(ConnectionTicket&& other) noexcept
    : limits_(std::exchange(other.limits_, nullptr)),
      shard_(other.shard_),
      entry_(std::exchange(other.entry_, nullptr)),
      route_(std::exchange(other.route_, nullptr)) {}

ConnectionTicket& ConnectionTicket::operator=(ConnectionTicket&& other) noexcept {
  if (this != &other) {
    release();
    limits_ = std::exchange(other.limits_, nullptr);
    shard_ = other.shard_;
    entry_ = std::exchange(other.entry_, nullptr);
    route_ = std::exchange(other.route_, nullptr);
  }
  return *this;
}

void ConnectionTicket::release() noexcept {
  if (limits_) limits_->release_ip(shard_, entry_);
  if (route_) route_->active.fetch_sub(1, std::memory_order_acq_rel);
  limits_ = nullptr;
  entry_ = nullptr;
  route_ = nullptr;
}

}  // namespace basalt::proxy
