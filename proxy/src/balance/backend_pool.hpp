// The backends of one forward route and the choice among them: one
// BackendPool per route, built on the control thread when routes are
// compiled, immutable afterwards and shared by every worker thread.
//
//   auto pool = BackendPool::build(route_id, route.action, registry);   // control thread
//   auto i = pool->pick(client, tried);               // per connection or request
//   if (!i) return answer_503();
//   auto lease = pool->acquire(*i);                   // counts it in flight
//   if (!lease) { tried.push_back(*i); /* pick again */ }
//   ... connect; pool->report_failure(*i) or pool->report_success(*i) ...
//
// One backend per (target, host), with the target's port (0 for `port:
// preserve`: the caller uses the port the client connected to) and weight
// (below 1 counts as 1). A host named twice with the same port is one
// backend with the weights added. A backend is available when its active
// checks say UP (if it is checked), it is not passively ejected, and fewer
// than `max_pending_requests` leases are out on it (0: none is ever granted).
//
// pick() considers only available backends not in `exclude`:
// - round-robin: weighted, in the precomputed order of round_robin_order.hpp
//   driven by one atomic counter per pool (lock-free). An unavailable pick
//   takes the next counter value, so the others keep their relative shares;
//   after kRoundRobinTries misses it scans the backends from there.
// - least-connections: the fewest in flight per unit of weight; ties go
//   round-robin (the scan starts at a rotating backend). Lock-free, O(n).
// - ip-hash: consistent hashing of the client address (hash_ring.hpp); an
//   unavailable or excluded backend passes its client to the next backend on
//   the ring, and the client returns when it is available again.
// No backend available: nullopt (the caller answers 503 or refuses).
//
// There is no "panic mode" (Envoy's panic threshold, which spreads traffic
// over every backend, healthy or not, once too few are healthy). Here a down
// backend is one that failed its checks in a row, and sending it requests
// turns a fast, clear 503 into slow failures and timeouts for clients. What
// panic mode protects against is over-eager ejection; instead, passive
// ejection never ejects the last backend that is still usable (it counts
// the failure and the client gets the backend's own answer), so a
// one-backend route is never cut off by ejection, and active checks are the
// user's explicit statement of what "down" means.
//
// Passive health: report_failure() for a connect failure or a 5xx (the
// caller decides what counts), report_success() otherwise; the rules are in
// backend_state.hpp. Active checks run in HealthChecker; only backends with
// a fixed port on routes with `healthCheck` whose backends speak plain HTTP
// (no TLS passthrough or re-encryption) are checked.
//
// Thread-safety: every const member and acquire/report_* may be called from
// any thread (atomics only; no lock, no allocation). Lifetime: hold the pool
// (std::shared_ptr) as long as any Lease it granted.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "balance/backend_state.hpp"
#include "balance/hash_ring.hpp"
#include "basalt/core/ip.hpp"
#include "basalt/proxy/options.hpp"

namespace basalt::proxy {

class HealthRegistry;

class BackendPool {
 public:
  using Clock = BackendState::Clock;
  static constexpr std::size_t kRoundRobinTries = 16;

  struct Backend {
    std::string host;
    std::uint16_t port = 0;  // 0: `port: preserve`
    std::uint32_t weight = 1;
    std::string key;       // HealthRegistry::key()
    bool checked = false;  // active checks decide whether it is up
    const BackendState& state() const noexcept { return *state_; }

   private:
    friend class BackendPool;
    std::shared_ptr<BackendState> state_;
  };

  // One request or connection counted in flight on a backend until the
  // Lease is destroyed or release()d. Movable; may be released on any thread.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { release(); }

    void release() noexcept;
    bool empty() const noexcept { return state_ == nullptr; }
    std::size_t index() const noexcept { return index_; }

   private:
    friend class BackendPool;
    Lease(BackendState* state, std::size_t index) noexcept : state_(state), index_(index) {}
    BackendState* state_ = nullptr;
    std::size_t index_ = 0;
  };

  // Builds the pool of `action` (a forward action). States come from (and
  // are created in) `registry`; a backend that is not checked is reset to
  // UP. Throws std::length_error when the registry is full.
  static std::shared_ptr<BackendPool> build(std::string route_id, const RouteAction& action,
                                            HealthRegistry& registry);

  // An available backend not in `exclude`, by the route's algorithm; nullopt
  // when there is none.
  std::optional<std::size_t> pick(const core::IpAddress& client, std::span<const std::size_t> exclude = {},
                                  Clock::time_point now = Clock::now()) const noexcept;

  // Counts one in flight on backend i; nullopt when it is full.
  std::optional<Lease> acquire(std::size_t i) const noexcept;

  void report_success(std::size_t i) const noexcept;
  // May eject backend i (logged once per ejection, at warn).
  void report_failure(std::size_t i, Clock::time_point now = Clock::now()) const;

  bool available(std::size_t i, Clock::time_point now = Clock::now()) const noexcept;

  const std::string& route_id() const noexcept { return route_id_; }
  std::size_t size() const noexcept { return backends_.size(); }
  const Backend& backend(std::size_t i) const noexcept { return backends_[i]; }
  BalanceAlgorithm algorithm() const noexcept { return algorithm_; }
  // The route's `healthCheck`, if it has one (even when nothing is checked).
  const std::optional<HealthCheck>& health_check() const noexcept { return health_check_; }
  // Some backend is actively checked.
  bool has_active_checks() const noexcept { return active_checks_; }
  // The backends speak TLS (passthrough or re-encrypt), so they cannot be
  // checked over plain HTTP.
  bool backend_tls() const noexcept { return backend_tls_; }
  // For the health checker, which records check results.
  std::shared_ptr<BackendState> shared_state(std::size_t i) const noexcept { return backends_[i].state_; }

 private:
  BackendPool() = default;
  bool usable(std::size_t i, std::span<const std::size_t> exclude, Clock::time_point now) const noexcept;
  std::optional<std::size_t> pick_round_robin(std::span<const std::size_t> exclude,
                                              Clock::time_point now) const noexcept;
  std::optional<std::size_t> pick_least_connections(std::span<const std::size_t> exclude,
                                                    Clock::time_point now) const noexcept;
  std::optional<std::size_t> pick_ip_hash(const core::IpAddress& client, std::span<const std::size_t> exclude,
                                          Clock::time_point now) const noexcept;
  std::optional<std::size_t> scan(std::size_t start, std::span<const std::size_t> exclude,
                                  Clock::time_point now) const noexcept;

  std::string route_id_;
  BalanceAlgorithm algorithm_ = BalanceAlgorithm::kRoundRobin;
  PassiveHealth passive_;
  std::uint32_t max_pending_ = 1024;
  std::optional<HealthCheck> health_check_;
  bool active_checks_ = false;
  bool backend_tls_ = false;
  std::vector<Backend> backends_;
  std::vector<std::uint32_t> order_;  // round-robin
  HashRing ring_;                     // ip-hash
  mutable std::atomic<std::uint64_t> next_{0};
};

}  // namespace basalt::proxy
