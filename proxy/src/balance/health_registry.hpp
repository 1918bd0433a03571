// Every backend's BackendState, by route and address, for the life of the
// proxy: how health and load survive `updateRoutes`. The Proxy owns one; a
// BackendPool built for a route asks it for the state of each backend, so a
// route update that keeps a backend (same route id, host and port) keeps
// its ejection, up/down verdict, in-flight count and counters. After a new
// route table is published the control thread calls retain() with the keys
// the new pools use; states of backends no route has any more are dropped
// (pools still serving old connections keep theirs alive until they end).
//
// Keys are "routeId|host:port" (IPv6 hosts in brackets, port 0 for `port:
// preserve`).
//
// Bounded: at most `max_backends` states (default 65,536). Old and new
// pools' states both count while an update is being built, until retain().
//
// Thread-safety: every member function may be called from any thread (one
// mutex); state() and retain() belong to route compilation on the control
// thread, never to the data path. Lifetime: states are shared_ptrs and may
// outlive the registry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "balance/backend_state.hpp"

namespace basalt::proxy {

// One backend as metrics report it.
struct BackendSnapshot {
  std::string route_id;
  std::string host;
  std::uint16_t port = 0;  // 0: `port: preserve`
  bool healthy = true;     // the active checks' verdict (true when not checked)
  bool ejected = false;    // passively ejected right now
  std::uint32_t active = 0;
  BackendState::Counters counters;
};

class HealthRegistry {
 public:
  static constexpr std::size_t kDefaultMaxBackends = 65'536;

  explicit HealthRegistry(std::size_t max_backends = kDefaultMaxBackends);
  HealthRegistry(const HealthRegistry&) = delete;
  HealthRegistry& operator=(const HealthRegistry&) = delete;

  static std::string key(std::string_view route_id, std::string_view host, std::uint16_t port);

  // The state of one backend, created UP and idle if new. Throws
  // std::length_error when that would exceed max_backends.
  std::shared_ptr<BackendState> state(std::string_view route_id, std::string_view host, std::uint16_t port);

  // Drops every state whose key is not in `keys`.
  void retain(const std::set<std::string, std::less<>>& keys);

  // Every backend, sorted by key.
  std::vector<BackendSnapshot> snapshot(
      BackendState::Clock::time_point now = BackendState::Clock::now()) const;

  std::size_t size() const;
  std::size_t max_backends() const noexcept { return max_backends_; }

 private:
  struct Entry {
    std::string route_id;
    std::string host;
    std::uint16_t port = 0;
    std::shared_ptr<BackendState> state;
  };
  const std::size_t max_backends_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace basalt::proxy
