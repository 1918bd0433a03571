#include "balance/backend_state.hpp"

#include <algorithm>

namespace basalt::proxy {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

// base x 2^streak, at most `max` (and at least base when max < base).
std::chrono::milliseconds ejection_time(const PassiveHealth& policy, std::uint32_t streak) noexcept {
  const auto base = std::max(policy.base_ejection_time, std::chrono::milliseconds(1));
  const auto max = std::max(policy.max_ejection_time, base);
  auto time = base;
  for (std::uint32_t i = 0; i < streak && time < max; ++i) time *= 2;
  return std::min(time, max);
}

}  // namespace

bool BackendState::try_acquire(std::uint32_t limit) noexcept {
  std::uint32_t current = in_flight_.load(kRelaxed);
  do {
    if (current >= limit) return false;
  } while (!in_flight_.compare_exchange_weak(current, current + 1, std::memory_order_acq_rel, kRelaxed));
  requests_.fetch_add(1, kRelaxed);
  return true;
}

void BackendState::release() noexcept {
  in_flight_.fetch_sub(1, std::memory_order_acq_rel);
}

std::optional<BackendState::Ejection> BackendState::report_failure(const PassiveHealth& policy,
                                                                   Clock::time_point now,
                                                                   bool may_eject) noexcept {
  failures_.fetch_add(1, kRelaxed);
  if (policy.consecutive_failures == 0) return std::nullopt;
  Clock::rep until = ejected_until_.load(kRelaxed);
  const Clock::rep now_ticks = now.time_since_epoch().count();
  if (until > now_ticks) return std::nullopt;  // a request from before the ejection

  const std::uint32_t failures = consecutive_failures_.fetch_add(1, kRelaxed) + 1;
  const std::uint32_t streak = ejection_streak_.load(kRelaxed);
  const std::uint32_t threshold = streak > 0 ? 1 : policy.consecutive_failures;
  if (failures < threshold || !may_eject) return std::nullopt;

  const auto time = ejection_time(policy, streak);
  const Clock::rep new_until = (now + time).time_since_epoch().count();
  // Concurrent failures: only the one that moves ejected_until_ ejects.
  if (!ejected_until_.compare_exchange_strong(until, new_until, std::memory_order_acq_rel, kRelaxed)) {
    return std::nullopt;
  }
  const std::uint32_t in_a_row = ejection_streak_.fetch_add(1, kRelaxed) + 1;
  consecutive_failures_.store(0, kRelaxed);
  ejections_.fetch_add(1, kRelaxed);
  return Ejection{time, in_a_row};
}

void BackendState::report_success() noexcept {
  consecutive_failures_.store(0, kRelaxed);
  ejection_streak_.store(0, kRelaxed);
}

bool BackendState::ejected(Clock::time_point now) const noexcept {
  return ejected_until_.load(kRelaxed) > now.time_since_epoch().count();
}

BackendState::Change BackendState::record_check(bool success, std::uint32_t healthy_threshold,
                                                std::uint32_t unhealthy_threshold) noexcept {
  if (success) {
    check_failures_.store(0, kRelaxed);
    const std::uint32_t successes = check_successes_.fetch_add(1, kRelaxed) + 1;
    if (!up() && successes >= std::max(healthy_threshold, 1u)) {
      up_.store(true, kRelaxed);
      return Change::kCameUp;
    }
  } else {
    check_successes_.store(0, kRelaxed);
    const std::uint32_t failures = check_failures_.fetch_add(1, kRelaxed) + 1;
    if (up() && failures >= std::max(unhealthy_threshold, 1u)) {
      up_.store(false, kRelaxed);
      return Change::kWentDown;
    }
  }
  return Change::kNone;
}

void BackendState::reset_check() noexcept {
  check_successes_.store(0, kRelaxed);
  check_failures_.store(0, kRelaxed);
  up_.store(true, kRelaxed);
}

BackendState::Counters BackendState::counters() const noexcept {
  return {.requests = requests_.load(kRelaxed),
          .failures = failures_.load(kRelaxed),
          .ejections = ejections_.load(kRelaxed)};
}

}  // namespace basalt::proxy
