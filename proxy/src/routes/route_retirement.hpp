// What a removed route still carries — L4 connections, in-flight HTTP
// requests, WebSocket and CONNECT tunnels — keeps running for `drainGrace`
// after `updateRoutes` / SIGHUP takes the route out of the table, then is
// closed cleanly (docs/proxy.md, "Reloads, takeover and drain"). New HTTP
// requests on a kept connection are matched against the new table anyway.
//
// One RouteRetirement per route id, shared by every RouteSet that has the
// route and held by what the route carries; the registry (kept across
// updates, like the connection counters) retires the ids a new table lacks.
//
// Thread-safety: deadline() from any thread (atomic); the registry is used
// under the proxy's control lock.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace basalt::proxy {

class RouteRetirement {
 public:
  using Clock = std::chrono::steady_clock;
  // When what the route carries is closed; Clock::time_point::max() while
  // the route is in the table.
  Clock::time_point deadline() const noexcept {
    return Clock::time_point(Clock::duration(deadline_.load(std::memory_order_relaxed)));
  }
  bool retired() const noexcept { return deadline() != Clock::time_point::max(); }

 private:
  friend class RetirementRegistry;
  std::atomic<Clock::rep> deadline_{Clock::time_point::max().time_since_epoch().count()};
};

class RetirementRegistry {
 public:
  // The route's retirement state; a route back in the table within its
  // grace is live again (what it carries is not closed).
  std::shared_ptr<RouteRetirement> for_route(const std::string& id);
  // Retires every known id not in `live`: its deadline becomes now + grace.
  // Returns how many were retired by this call. Ids whose grace has passed
  // are forgotten.
  std::size_t retire_missing(const std::set<std::string, std::less<>>& live,
                             RouteRetirement::Clock::duration grace);

 private:
  std::map<std::string, std::shared_ptr<RouteRetirement>, std::less<>> routes_;
};

}  // namespace basalt::proxy
