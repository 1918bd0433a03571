// When to renew a certificate: `renew_before` its expiry, by default when a
// third of its lifetime remains (30 days of Let's Encrypt's 90), moved
// earlier by a random jitter so that many daemons started together do not
// renew together; and how long to wait after a failed attempt.
//
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace basalt::acme {

using Clock = std::chrono::system_clock;

struct RenewalPolicy {
  // Renew this long before not_after; nullopt: a third of the lifetime.
  std::optional<std::chrono::seconds> renew_before;
  // The jitter is uniform in [0, min(jitter_fraction * window, max_jitter)],
  // where window is the renew-before period.
  double jitter_fraction = 0.1;
  std::chrono::seconds max_jitter{std::chrono::hours(24)};
};

// The moment to renew a certificate valid from `not_before` to `not_after`.
// `random` is any uniformly distributed 64-bit value (the jitter source).
// Never later than not_after; a renew_before longer than the lifetime means
// "renew at once" (not_before).
Clock::time_point renewal_time(Clock::time_point not_before, Clock::time_point not_after,
                               const RenewalPolicy& policy, std::uint64_t random);

// The wait before attempt number `failures` + 1 after `failures` failed ones
// in a row: 1 min, doubling, at most 6 h (certbot retries twice a day; Caddy
// starts at one minute).
std::chrono::seconds retry_delay(unsigned failures);

}  // namespace basalt::acme
