#include "basalt/acme/retry_after.hpp"

#include <gtest/gtest.h>

namespace basalt::acme {
namespace {

using namespace std::chrono_literals;
using std::chrono::seconds;

constexpr seconds kTenYears = 24h * 365 * 10;

// 2015-10-21T07:28:00Z, the RFC 9110 §10.2.3 example date.
std::chrono::system_clock::time_point at_example_date() {
  return std::chrono::system_clock::from_time_t(1445412480);
}

TEST(RetryAfter, DelaySeconds) {
  const auto now = at_example_date();
  EXPECT_EQ(parse_retry_after("120", now), 120s);
  EXPECT_EQ(parse_retry_after("0", now), 0s);
  EXPECT_EQ(parse_retry_after("007", now), 7s);
  EXPECT_EQ(parse_retry_after(" \t3600\t ", now), 3600s);  // optional whitespace around the field value
}

TEST(RetryAfter, ImfFixdate) {
  const auto now = at_example_date() - 60s;
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), 60s);
  EXPECT_EQ(parse_retry_after("Thu, 22 Oct 2015 07:28:00 GMT", now), 60s + 24h);
  EXPECT_EQ(
      parse_retry_after("Sat, 01 Jan 2000 00:00:00 GMT", std::chrono::system_clock::from_time_t(946684799)),
      1s);
}

TEST(RetryAfter, DateWaitIsRoundedUp) {
  // Half a second before the date: waiting 0 s would ask too early.
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at_example_date() - 500ms), 1s);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at_example_date() - 59s - 1ms), 60s);
}

TEST(RetryAfter, DateInThePastIsZero) {
  const auto now = at_example_date();
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), 0s);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now + 1ms), 0s);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), 0s);
  EXPECT_EQ(parse_retry_after("Sat, 01 Jan 1601 00:00:00 GMT", now), 0s);
}

TEST(RetryAfter, HugeDelaysAreCappedAtTenYears) {
  const auto now = at_example_date();
  EXPECT_EQ(parse_retry_after("315360000", now), kTenYears);
  EXPECT_EQ(parse_retry_after("315360001", now), kTenYears);
  EXPECT_EQ(parse_retry_after("9223372036854775808", now), kTenYears);   // 2^63
  EXPECT_EQ(parse_retry_after("18446744073709551615", now), kTenYears);  // 2^64 - 1
  EXPECT_EQ(parse_retry_after("18446744073709551616", now), kTenYears);  // 2^64
  EXPECT_EQ(parse_retry_after("999999999999999999999999999999999999", now), kTenYears);
}

TEST(RetryAfter, FarFutureDateIsCappedNotOverflowed) {
  // Year 9999 is beyond the range of system_clock's nanoseconds.
  const auto now = at_example_date();
  EXPECT_EQ(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now), kTenYears);
  EXPECT_EQ(parse_retry_after("Sat, 21 Oct 2115 07:28:00 GMT", now), kTenYears);
}

TEST(RetryAfter, GarbageIsNullopt) {
  const auto now = at_example_date();
  for (std::string_view value :
       {"", " ", "\t", "soon", "12abc", "12 s", "-5", "+5", "1.5", "1e3", "0x10", "120, 60",
        "Wed, 21 Oct 2015 07:28:00", "Wed, 21 Oct 2015 07:28:00 UTC", "Wed, 21 Oct 2015 07:28:00 GMT later",
        "Wed, 21 Foo 2015 07:28:00 GMT", "Wed, 21 Oct 2015 25:28:00 GMT", "2015-10-21T07:28:00Z"}) {
    EXPECT_FALSE(parse_retry_after(value, now)) << '"' << value << '"';
  }
  EXPECT_FALSE(parse_retry_after(std::string_view("12\0", 3), now));
  EXPECT_FALSE(parse_retry_after(std::string_view("Wed, 21 Oct 2015 07:28:00 GMT\0x", 31), now));
}

TEST(RetryAfter, ObsoleteDateFormatsAreNotAccepted) {
  // RFC 850 and asctime dates (RFC 9110 §5.6.7): ACME servers send IMF-fixdate.
  const auto now = at_example_date() - 60s;
  EXPECT_FALSE(parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now));
  EXPECT_FALSE(parse_retry_after("Wed Oct 21 07:28:00 2015", now));
}

}  // namespace
}  // namespace basalt::acme
