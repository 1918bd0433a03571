// Connection admission at accept: the per-route `maxConnections` and the
// per-client-IP `maxConnectionsPerIP` and `connectionRateLimitPerMinute`
// limits, counted across every worker thread. The proxy asks admit() before
// it opens anything towards a backend; an admitted connection holds its
// ConnectionTicket until it ends, and the ticket's destruction gives the
// counts back.
//
//   ConnectionLimits limits;                                  // one per proxy
//   auto counter = limits.counter_for(route_id);              // at route-table build
//   auto admission = limits.admit(client_ip, route_limits, counter.get(), Clock::now());
//   if (!admission) { count(to_string(admission.refusal())); close(); }
//   else connection.ticket = std::move(admission.ticket());
//
// Per-IP state lives in a table of 64 shards (each a mutex and a hash map)
// with a hard bound on entries: `max_ips` in total, default 65,536. A shard
// that is full evicts entries that have no open connection and whose rate
// windows are idle (no admission in the current or previous minute); if it
// has none, the new IP is refused with kIpTableFull, so a flood from random
// sources cannot grow memory. Entries are keyed by the full address
// (IPv4-mapped IPv6 counts as IPv4). An IPv6 client owning a /64 can still
// fill the table; aggregating IPv6 clients by /64 is a possible later option.
// The shard is picked by a hash keyed with a per-instance random seed, so
// clients cannot aim at one shard.
//
// Rate limit: a sliding one-minute window approximated from two fixed
// one-minute windows, as nginx and Cloudflare do: estimate = current count +
// previous count x (fraction of the current minute still to come). A
// connection is admitted only if the estimate including it stays within the
// limit. Only admitted connections count: a refused attempt (for any reason)
// consumes no rate budget, so a client retrying too fast still gets its
// `rate_per_minute` connections per minute, as with nginx limit_req, where a
// rejected request does not advance the limiter. Time is a parameter, so
// callers pass steady_clock::now() and tests a fake clock.
//
// Check order: route maxConnections, then IP table space, IP
// maxConnectionsPerIP, IP rate. When no per-IP limit is set the IP table is
// not touched at all.
//
// Thread-safety: every member function may be called from any thread. A
// ticket may be moved to and destroyed on another thread. The
// ConnectionLimits and the RouteCounter passed to admit() must outlive every
// ticket they issued. Never throws except std::bad_alloc (new IP entries,
// new route counters).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "basalt/core/ip.hpp"

namespace basalt::proxy {

// The limits that apply to one connection: the route's own security
// settings, else the options-level defaults. Unset: no limit.
struct Limits {
  std::optional<std::uint32_t> max_connections;         // per route, all clients
  std::optional<std::uint32_t> max_connections_per_ip;  // per client IP, all routes
  std::optional<std::uint32_t> rate_per_minute;         // per client IP, all routes
};

enum class LimitRefusal : std::uint8_t {
  kRouteMaxConnections,
  kIpMaxConnections,
  kIpRateLimit,
  kIpTableFull,
};

// "route_max_connections", "ip_max_connections", "ip_rate_limit",
// "ip_table_full": the names used in metrics and logs.
std::string_view to_string(LimitRefusal refusal) noexcept;

// Open connections of one route. The route table holds it (by shared_ptr
// from counter_for()), so it survives table swaps for the same route id.
struct RouteCounter {
  std::atomic<std::uint32_t> active{0};
};

class ConnectionLimits;

// An admitted connection. Destroying it (or release()) gives back its
// per-IP and per-route counts. Movable, not copyable; an empty ticket
// (default-constructed or moved-from) does nothing.
class ConnectionTicket {
 public:
  ConnectionTicket() = default;
  ConnectionTicket(ConnectionTicket&& other) noexcept;
  ConnectionTicket& operator=(ConnectionTicket&& other) noexcept;
  ConnectionTicket(const ConnectionTicket&) = delete;
  ConnectionTicket& operator=(const ConnectionTicket&) = delete;
  ~ConnectionTicket() { release(); }

  void release() noexcept;
  bool empty() const noexcept { return limits_ == nullptr && route_ == nullptr; }

 private:
  friend class ConnectionLimits;
  ConnectionLimits* limits_ = nullptr;  // set when an IP entry is held
  std::size_t shard_ = 0;
  void* entry_ = nullptr;  // the shard's entry; stays put while it has connections
  RouteCounter* route_ = nullptr;
};

// admit()'s answer: a ticket, or why not.
class Admission {
 public:
  explicit Admission(ConnectionTicket ticket) : ticket_(std::move(ticket)) {}
  explicit Admission(LimitRefusal refusal) : refusal_(refusal) {}

  bool admitted() const noexcept { return !refusal_.has_value(); }
  explicit operator bool() const noexcept { return admitted(); }
  // Only when refused.
  LimitRefusal refusal() const noexcept { return *refusal_; }
  // Only when admitted; move it out to keep the connection counted.
  ConnectionTicket& ticket() noexcept { return ticket_; }

 private:
  ConnectionTicket ticket_;
  std::optional<LimitRefusal> refusal_;
};

class ConnectionLimits {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kDefaultMaxIps = 65'536;
  static constexpr std::size_t kShards = 64;

  struct Options {
    // Bound on client IPs tracked at once, split evenly over the shards
    // (rounded up to a multiple of kShards).
    std::size_t max_ips = kDefaultMaxIps;
  };

  ConnectionLimits() : ConnectionLimits(Options{}) {}
  explicit ConnectionLimits(Options options);
  ~ConnectionLimits();
  ConnectionLimits(const ConnectionLimits&) = delete;
  ConnectionLimits& operator=(const ConnectionLimits&) = delete;

  // Admits a connection from `ip` under `limits`, counted on `route` (may
  // be null: no per-route count), at time `now`. One mutex (the IP's shard)
  // at most; no allocation unless the IP is new.
  Admission admit(const core::IpAddress& ip, const Limits& limits, RouteCounter* route,
                  Clock::time_point now);

  // The counter for a route id: the same object for the same id while any
  // holder keeps it. Call when building a route table, not per connection.
  std::shared_ptr<RouteCounter> counter_for(std::string_view route_id);
  // Forgets route counters no table holds any more (after a table swap).
  void prune_route_counters();

  // Observability (metrics, tests): open connections of one IP, and the
  // number of IPs tracked.
  std::uint32_t active_for(const core::IpAddress& ip) const;
  std::size_t tracked_ips() const;
  std::size_t capacity() const noexcept { return per_shard_ * kShards; }

 private:
  friend class ConnectionTicket;
  struct Entry;
  struct Shard;
  struct KeyHash {
    std::uint64_t seed = 0;
    std::size_t operator()(const core::IpAddress& ip) const noexcept;
  };

  static core::IpAddress key_of(const core::IpAddress& ip) noexcept;
  void release_ip(std::size_t shard, void* entry) noexcept;

  std::size_t per_shard_;
  KeyHash hash_;
  std::unique_ptr<Shard[]> shards_;
  std::mutex routes_mutex_;
  std::map<std::string, std::shared_ptr<RouteCounter>, std::less<>> routes_;
};

}  // namespace basalt::proxy
