#include "basalt/core/duration.hpp"

#include <gtest/gtest.h>

namespace basalt::core {
namespace {

using std::chrono::milliseconds;

TEST(Duration, ParsesEveryUnitAndSums) {
  EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_duration("90s"), milliseconds(90'000));
  EXPECT_EQ(parse_duration("15m"), milliseconds(900'000));
  EXPECT_EQ(parse_duration("12h"), milliseconds(43'200'000));
  EXPECT_EQ(parse_duration("14d"), milliseconds(14LL * 86'400'000));
  EXPECT_EQ(parse_duration("2w"), milliseconds(14LL * 86'400'000));
  EXPECT_EQ(parse_duration("1h30m"), milliseconds(5'400'000));
}

TEST(Duration, RejectsMissingUnitsNegativesGarbageAndOverflow) {
  for (auto bad :
       {"", "90", "-5s", "5 s", "5x", "s", "1h30", "99999999999999999999d", "9223372036854775807d"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
}

TEST(Duration, FormatsInTheLargestExactUnit) {
  EXPECT_EQ(format_duration(milliseconds(14LL * 86'400'000)), "2w");
  EXPECT_EQ(format_duration(milliseconds(90'000)), "90s");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
}

}  // namespace
}  // namespace basalt::core
