#include "basalt/acme/renewal.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace basalt::acme {

Clock::time_point renewal_time(Clock::time_point not_before, Clock::time_point not_after,
                               const RenewalPolicy& policy, std::uint64_t random) {
  using Duration = Clock::duration;
  if (not_after <= not_before) return not_after;  // not valid at any time: renew now
  const Duration lifetime = not_after - not_before;
  Duration window = lifetime / 3;
  if (policy.renew_before) {
    // Compared in seconds first: a huge renew_before must not overflow the clock's ticks.
    if (*policy.renew_before >= std::chrono::ceil<std::chrono::seconds>(lifetime)) return not_before;
    window = std::max(std::chrono::duration_cast<Duration>(*policy.renew_before), Duration::zero());
  }

  // Jitter uniform in [0, min(fraction * window, max_jitter)]: long double
  // keeps all 64 bits of `random`, so UINT64_MAX gives exactly the bound.
  using Ticks = std::chrono::duration<long double, Duration::period>;
  const long double fraction = std::isfinite(policy.jitter_fraction)
                                   ? std::max(0.0L, static_cast<long double>(policy.jitter_fraction))
                                   : 0.0L;
  const long double max_jitter = std::max(0.0L, Ticks(policy.max_jitter).count());
  const long double bound = std::min(fraction * static_cast<long double>(window.count()), max_jitter);
  const long double unit =
      static_cast<long double>(random) / static_cast<long double>(std::numeric_limits<std::uint64_t>::max());
  // Never before not_before (limiting it here also keeps the conversion in range).
  const long double room = static_cast<long double>((lifetime - window).count());
  const auto jitter = Duration(static_cast<Duration::rep>(std::min(std::floor(bound * unit), room)));

  return not_after - window - jitter;
}

std::chrono::seconds retry_delay(unsigned failures) {
  constexpr std::chrono::seconds kFirst = std::chrono::minutes(1);
  constexpr std::chrono::seconds kMax = std::chrono::hours(6);
  if (failures == 0) return std::chrono::seconds::zero();
  // 1 min * 2^(failures - 1); 2^9 min already exceeds 6 h.
  if (failures > 9) return kMax;
  return std::min(std::chrono::seconds(kFirst.count() << (failures - 1)), kMax);
}

}  // namespace basalt::acme
