#include "basalt/acme/renewal.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace basalt::acme {
namespace {

using namespace std::chrono_literals;
using std::chrono::days;

constexpr std::uint64_t kMaxRandom = std::numeric_limits<std::uint64_t>::max();

// A 90-day certificate, like Let's Encrypt's.
const Clock::time_point kNotBefore =
    Clock::time_point(std::chrono::sys_days(std::chrono::year(2026) / 3 / 1));
const Clock::time_point kNotAfter = kNotBefore + days(90);

TEST(RenewalTime, DefaultIsAThirdOfTheLifetimeBeforeExpiry) {
  const RenewalPolicy policy;
  // No jitter: exactly 30 days before expiry.
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, 0), kNotAfter - days(30));
  // Jitter at its bound: min(0.1 * 30 days, 24 h) = 24 h earlier.
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, kMaxRandom), kNotAfter - days(30) - 24h);
  // A 6-day certificate: 2 days before; jitter bound 0.1 * 2 days = 4.8 h.
  EXPECT_EQ(renewal_time(kNotBefore, kNotBefore + days(6), policy, 0), kNotBefore + days(4));
  EXPECT_EQ(renewal_time(kNotBefore, kNotBefore + days(6), policy, kMaxRandom),
            kNotBefore + days(4) - std::chrono::minutes(288));
}

TEST(RenewalTime, ExplicitRenewBefore) {
  RenewalPolicy policy;
  policy.renew_before = days(10);
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, 0), kNotAfter - days(10));
  // Jitter bound min(0.1 * 10 days, 24 h) = 24 h.
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, kMaxRandom), kNotAfter - days(11));
  policy.renew_before = 1h;
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, kMaxRandom), kNotAfter - 66min);
  policy.renew_before = 0s;
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, kMaxRandom), kNotAfter);
}

TEST(RenewalTime, JitterStaysWithinItsBounds) {
  RenewalPolicy policy;
  policy.renew_before = days(30);
  policy.jitter_fraction = 0.5;
  policy.max_jitter = days(100);  // the fraction is the bound: 15 days
  const auto latest = kNotAfter - days(30);
  const auto earliest = latest - days(15);
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, 0), latest);
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, kMaxRandom), earliest);
  // Halfway through the random range is halfway through the jitter.
  const auto mid = renewal_time(kNotBefore, kNotAfter, policy, kMaxRandom / 2);
  EXPECT_LE(mid - (latest - 180h), 1ms);
  EXPECT_GE(mid - (latest - 180h), -1ms);
  // Every value lands in [earliest, latest], and different values spread out.
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  Clock::time_point low = latest, high = earliest;
  for (int i = 0; i < 1000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const auto t = renewal_time(kNotBefore, kNotAfter, policy, x);
    ASSERT_GE(t, earliest);
    ASSERT_LE(t, latest);
    low = std::min(low, t);
    high = std::max(high, t);
  }
  EXPECT_GT(high - low, days(14));

  // No jitter at all.
  policy.jitter_fraction = 0;
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, kMaxRandom), latest);
  policy.jitter_fraction = 0.5;
  policy.max_jitter = 0s;
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, kMaxRandom), latest);
}

TEST(RenewalTime, RenewBeforeLongerThanTheLifetimeMeansNow) {
  RenewalPolicy policy;
  policy.renew_before = days(120);
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, 0), kNotBefore);
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, kMaxRandom), kNotBefore);
  policy.renew_before = days(90);
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, kMaxRandom), kNotBefore);
  policy.renew_before = std::chrono::seconds::max();
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, kMaxRandom), kNotBefore);
  // Jitter never moves it before not_before.
  policy.renew_before = days(89);
  policy.max_jitter = days(10);
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, kMaxRandom), kNotBefore);
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, 0), kNotBefore + days(1));
}

TEST(RenewalTime, NeverAfterExpiry) {
  RenewalPolicy policy;
  policy.renew_before = -days(5);  // nonsense: treated as "at expiry"
  EXPECT_EQ(renewal_time(kNotBefore, kNotAfter, policy, 0), kNotAfter);
  // A certificate that is never valid: at once.
  EXPECT_LE(renewal_time(kNotAfter, kNotBefore, RenewalPolicy{}, 0), kNotBefore);
}

TEST(RetryDelay, DoublesFromOneMinuteUpToSixHours) {
  EXPECT_EQ(retry_delay(0), 0s);
  const std::chrono::seconds expected[] = {1min, 2min, 4min, 8min, 16min, 32min, 64min, 128min, 256min, 6h};
  for (unsigned i = 0; i < std::size(expected); ++i) EXPECT_EQ(retry_delay(i + 1), expected[i]) << i + 1;
  for (unsigned failures : {11u, 30u, 64u, 1000u, std::numeric_limits<unsigned>::max()})
    EXPECT_EQ(retry_delay(failures), 6h) << failures;
}

}  // namespace
}  // namespace basalt::acme
