// The HTTP request counters of one route (or of a whole worker): requests
// by status class and a latency histogram, written by the owning worker
// thread (Counter), read by anyone. Latency is from the request head to the
// end of the answer's head (time to first byte of the response).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

#include "metrics/counter.hpp"

namespace basalt::proxy {

struct RequestStats {
  // Upper bounds of the latency buckets, in milliseconds; the last bucket
  // (index kLatencyBounds.size()) holds everything slower.
  static constexpr std::array<double, 13> kLatencyBounds{1,   2.5, 5,    10,   25,   50,   100,
                                                         250, 500, 1000, 2500, 5000, 10000};

  Counter requests;
  std::array<Counter, 5> by_class;  // 1xx .. 5xx
  std::array<Counter, kLatencyBounds.size() + 1> latency;
  Counter latency_us;  // sum

  void record(int status, std::chrono::microseconds took) noexcept {
    requests.add(1);
    if (status >= 100 && status < 600) by_class[static_cast<std::size_t>(status / 100 - 1)].add(1);
    const double ms = static_cast<double>(took.count()) / 1000.0;
    std::size_t i = 0;
    while (i < kLatencyBounds.size() && ms > kLatencyBounds[i]) ++i;
    latency[i].add(1);
    latency_us.add(static_cast<std::uint64_t>(took.count()));
  }
};

}  // namespace basalt::proxy
