#include "routes/route_retirement.hpp"

namespace basalt::proxy {

namespace {
constexpr auto kLive = RouteRetirement::Clock::time_point::max().time_since_epoch().count();
}

std::shared_ptr<RouteRetirement> RetirementRegistry::for_route(const std::string& id) {
  auto& slot = routes_[id];
  if (!slot) slot = std::make_shared<RouteRetirement>();
  slot->deadline_.store(kLive, std::memory_order_relaxed);
  return slot;
}

std::size_t RetirementRegistry::retire_missing(const std::set<std::string, std::less<>>& live,
                                               RouteRetirement::Clock::duration grace) {
  const auto now = RouteRetirement::Clock::now();
  std::size_t retired = 0;
  for (auto it = routes_.begin(); it != routes_.end();) {
    auto& r = *it->second;
    if (live.contains(it->first)) {
      ++it;
      continue;
    }
    if (!r.retired()) {
      r.deadline_.store((now + grace).time_since_epoch().count(), std::memory_order_relaxed);
      ++retired;
    } else if (r.deadline() <= now) {
      it = routes_.erase(it);  // its grace is over: nothing of it is left running
      continue;
    }
    ++it;
  }
  return retired;
}

}  // namespace basalt::proxy
