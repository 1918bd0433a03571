// A route's `security.rateLimit`: at most maxRequests per window for each
// key (the client address, the request path, or a header's value), counted
// with a sliding window (the current fixed window plus the previous one
// weighted by how much of it still overlaps, as nginx's limit_req and
// Cloudflare do), shared by every worker.
//
// Bound: at most kMaxKeys keys, in 16 shards. A new key in a full shard
// takes the place of one whose windows have passed; when there is none the
// request is refused as limited (an attacker minting keys cannot grow the
// table, and cannot push out keys that are being limited). Keys longer than
// 256 bytes are cut there.
//
// Thread-safety: allow() from any thread (a mutex per shard).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "basalt/proxy/options.hpp"

namespace basalt::proxy {

class RequestRateLimiter {
 public:
  static constexpr std::size_t kMaxKeys = 65536;
  using Clock = std::chrono::steady_clock;

  explicit RequestRateLimiter(const RateLimit& config) : config_(config) {}

  struct Decision {
    bool allowed = true;
    std::chrono::seconds retry_after{0};  // when refused: until the count falls below the limit
  };
  Decision allow(std::string_view key, Clock::time_point now = Clock::now());

  const RateLimit& config() const noexcept { return config_; }

 private:
  struct Entry {
    std::int64_t window = 0;  // index of the current fixed window
    std::uint32_t current = 0;
    std::uint32_t previous = 0;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;
  };
  static constexpr std::size_t kShards = 16;

  RateLimit config_;
  std::array<Shard, kShards> shards_;
};

// The limiters by route id, kept across route updates while the route and
// its rateLimit stay the same. Thread-safety: limiter_for() from the
// control thread (under a mutex); the limiters themselves from anywhere.
class RateLimiterRegistry {
 public:
  std::shared_ptr<RequestRateLimiter> limiter_for(const std::string& route_id, const RateLimit& config);

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<RequestRateLimiter>> limiters_;
};

}  // namespace basalt::proxy
