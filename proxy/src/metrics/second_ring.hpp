// Bytes in and out per one-second bucket, for the last N seconds: the
// throughput windows (whole worker: one hour; per route: one minute; per
// client IP: ten seconds).
//
// Seconds are counted since the epoch and given by the writer; the ring
// moves forward lazily when the writer adds to a later second, zeroing the
// buckets it skips, so an idle ring costs nothing and needs no timer. A
// second earlier than the newest one written (the clock stepped back) is
// added to the newest bucket.
//
// Thread-safety: one writer thread (add, reset); any thread may call sum()
// and at(). A read racing the writer's move into a new second may see a
// bucket being reset: a window can be short by one second's bytes, never
// wrong by more.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "metrics/counter.hpp"

namespace basalt::proxy {

struct ByteCount {
  std::uint64_t in = 0;
  std::uint64_t out = 0;
  ByteCount& operator+=(const ByteCount& o) noexcept {
    in += o.in;
    out += o.out;
    return *this;
  }
};

template <std::size_t N>
class SecondRing {
 public:
  static constexpr std::size_t kSeconds = N;

  // Writer thread only.
  void add(std::int64_t second, std::uint64_t in, std::uint64_t out) noexcept {
    auto last = last_.load(std::memory_order_relaxed);
    if (second > last) {
      advance(last, second);
      last = second;
    }
    auto& b = buckets_[index(last)];
    if (in) b.in.add(in);
    if (out) b.out.add(out);
  }
  // Writer thread only: forget everything (an entry reused for another key).
  void reset() noexcept {
    for (auto& b : buckets_) {
      b.in.reset();
      b.out.reset();
    }
    last_.store(0, std::memory_order_release);
  }

  // Any thread: the bytes of the seconds [from, to], both included. Seconds
  // older than N seconds before the newest written one read as zero.
  ByteCount sum(std::int64_t from, std::int64_t to) const noexcept {
    auto last = last_.load(std::memory_order_acquire);
    from = std::max(from, last - static_cast<std::int64_t>(N) + 1);
    to = std::min(to, last);
    ByteCount total;
    for (auto s = from; s <= to; ++s) {
      const auto& b = buckets_[index(s)];
      total.in += b.in.load();
      total.out += b.out.load();
    }
    return total;
  }
  ByteCount at(std::int64_t second) const noexcept { return sum(second, second); }

 private:
  struct Bucket {
    Counter in;
    Counter out;
  };

  static std::size_t index(std::int64_t second) noexcept {
    auto m = second % static_cast<std::int64_t>(N);
    return static_cast<std::size_t>(m < 0 ? m + static_cast<std::int64_t>(N) : m);
  }
  void advance(std::int64_t last, std::int64_t second) noexcept {
    auto first = std::max(last + 1, second - static_cast<std::int64_t>(N) + 1);
    for (auto s = first; s <= second; ++s) {
      buckets_[index(s)].in.reset();
      buckets_[index(s)].out.reset();
    }
    last_.store(second, std::memory_order_release);
  }

  std::array<Bucket, N> buckets_{};
  std::atomic<std::int64_t> last_{0};  // the newest second written
};

}  // namespace basalt::proxy
