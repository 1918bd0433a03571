// A counter that one thread writes and any thread reads: the building block
// of the per-worker metrics.
//
// The owning worker thread adds with a relaxed load + store (no locked
// read-modify-write, no cross-core traffic while nobody reads); readers load
// with relaxed order and may see a value a few events old. Two threads
// writing the same Counter lose counts: give each writer its own.
#pragma once

#include <atomic>
#include <cstdint>

namespace basalt::proxy {

class Counter {
 public:
  // Writer thread only.
  void add(std::uint64_t n) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void sub(std::uint64_t n) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  void reset() noexcept { value_.store(0, std::memory_order_relaxed); }
  // Any thread.
  std::uint64_t load() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

}  // namespace basalt::proxy
