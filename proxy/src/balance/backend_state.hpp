// The health and load of one backend of one route, shared by every worker
// thread and by the health checker: requests or connections in flight,
// passive ejection (connect failures and 5xx seen by the data path) and the
// active-check verdict (up/down), plus counters for metrics.
//
// Passive ejection (Envoy's outlier detection): `consecutive_failures`
// failures in a row eject the backend for base_ejection_time, doubled for
// each ejection in a row and at most max_ejection_time. A success ends the
// streak. After an ejection runs out the backend is on probation: until it
// answers one success, a single failure ejects it again (for the doubled
// time), so a dead backend costs one failed attempt per ejection instead of
// `consecutive_failures`. Failures reported while ejected (requests that
// started before) are counted but neither extend nor double the ejection.
//
// Active checks: a backend starts UP; `unhealthy_threshold` failed checks in
// a row mark it down, `healthy_threshold` successful ones in a row mark it up.
//
// Thread-safety: atomics only, no lock. try_acquire/release/report_* may be
// called from any thread at once; record_check() is written by one thread
// (the health checker, one check in flight per backend). Readers may see
// values a moment old. Time is a parameter (steady_clock), so tests can pass
// their own. Lifetime: held by std::shared_ptr from the HealthRegistry and
// the BackendPools that use it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "basalt/proxy/options.hpp"

namespace basalt::proxy {

class BackendState {
 public:
  using Clock = std::chrono::steady_clock;

  struct Counters {
    std::uint64_t requests = 0;   // leases granted
    std::uint64_t failures = 0;   // report_failure() calls
    std::uint64_t ejections = 0;  // passive ejections
  };

  // A passive ejection: for how long, and how many in a row (1 = first).
  struct Ejection {
    std::chrono::milliseconds time{0};
    std::uint32_t in_a_row = 1;
  };

  // What record_check() changed.
  enum class Change : std::uint8_t { kNone, kWentDown, kCameUp };

  // ---- load ----------------------------------------------------------------
  // One more in flight, unless `limit` are already: then false.
  bool try_acquire(std::uint32_t limit) noexcept;
  void release() noexcept;
  std::uint32_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }

  // ---- passive -------------------------------------------------------------
  // Counts a failure; returns the ejection when it ejects the backend.
  // `may_eject` false (the pool's last usable backend) counts the failure
  // without ejecting; a later failure may eject once that changes.
  std::optional<Ejection> report_failure(const PassiveHealth& policy, Clock::time_point now,
                                         bool may_eject = true) noexcept;
  // Ends the failure and ejection streaks (a running ejection continues).
  void report_success() noexcept;
  bool ejected(Clock::time_point now) const noexcept;
  std::uint32_t consecutive_failures() const noexcept {
    return consecutive_failures_.load(std::memory_order_relaxed);
  }

  // ---- active checks ---------------------------------------------------------
  // One check's result against the thresholds (0 counts as 1).
  Change record_check(bool success, std::uint32_t healthy_threshold,
                      std::uint32_t unhealthy_threshold) noexcept;
  bool up() const noexcept { return up_.load(std::memory_order_relaxed); }
  // UP with no check history: for a backend no longer checked.
  void reset_check() noexcept;

  Counters counters() const noexcept;

 private:
  std::atomic<std::uint32_t> in_flight_{0};
  std::atomic<std::uint32_t> consecutive_failures_{0};
  std::atomic<std::uint32_t> ejection_streak_{0};  // ejections since the last success
  std::atomic<Clock::rep> ejected_until_{0};       // steady_clock ticks; in the past: not ejected
  std::atomic<bool> up_{true};
  std::atomic<std::uint32_t> check_successes_{0};  // in a row
  std::atomic<std::uint32_t> check_failures_{0};   // in a row
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> ejections_{0};
};

}  // namespace basalt::proxy
