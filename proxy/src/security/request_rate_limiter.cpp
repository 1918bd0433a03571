// RequestRateLimiter and RateLimiterRegistry (request_rate_limiter.hpp).
#include "security/request_rate_limiter.hpp"

#include <algorithm>
#include <functional>

namespace basalt::proxy {

RequestRateLimiter::Decision RequestRateLimiter::allow(std::string_view key, Clock::time_point now) {
  if (key.size() > 256) key = key.substr(0, 256);
  const auto width = std::chrono::duration_cast<std::chrono::milliseconds>(config_.window).count();
  const auto t = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::int64_t window = t / width;
  const double into = static_cast<double>(t % width) / static_cast<double>(width);

  auto& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(std::string(key));
  if (it == shard.entries.end()) {
    if (shard.entries.size() >= kMaxKeys / kShards) {
      // Make room from a key whose windows have both passed.
      auto stale = std::find_if(shard.entries.begin(), shard.entries.end(),
                                [window](const auto& e) { return e.second.window < window - 1; });
      if (stale == shard.entries.end()) return {false, config_.window};
      shard.entries.erase(stale);
    }
    it = shard.entries.emplace(std::string(key), Entry{window, 0, 0}).first;
  }
  Entry& e = it->second;
  if (e.window != window) {
    e.previous = e.window == window - 1 ? e.current : 0;
    e.current = 0;
    e.window = window;
  }
  const double weighted = static_cast<double>(e.previous) * (1.0 - into) + static_cast<double>(e.current);
  if (weighted + 1.0 > static_cast<double>(config_.max_requests)) {
    // Roughly when the previous window's share will have faded enough.
    const auto rest = std::chrono::milliseconds(width - t % width);
    return {false, std::max(std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(rest))};
  }
  ++e.current;
  return {};
}

std::shared_ptr<RequestRateLimiter> RateLimiterRegistry::limiter_for(const std::string& route_id,
                                                                     const RateLimit& config) {
  std::lock_guard lock(mutex_);
  auto& slot = limiters_[route_id];
  const auto same = [&config](const RateLimit& c) {
    return c.max_requests == config.max_requests && c.window == config.window && c.key_by == config.key_by &&
           c.header_name == config.header_name && c.error_message == config.error_message;
  };
  if (!slot || !same(slot->config())) slot = std::make_shared<RequestRateLimiter>(config);
  return slot;
}

}  // namespace basalt::proxy
