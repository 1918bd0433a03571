#include "server/response_rate_limiter.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include "basalt/dns/wire/message.hpp"
#include "basalt/dns/wire/message_writer.hpp"

namespace basalt::dns {
namespace {

using namespace std::chrono_literals;
using Clock = ResponseRateLimiter::Clock;

core::IpAddress ip(const char* text) {
  return *core::IpAddress::parse(text);
}

Name name(const char* text) {
  return *Name::from_text(text);
}

RateLimits limits(std::uint32_t rate, unsigned slip = 2) {
  RateLimits l;
  l.rate = {rate, rate, rate, rate};
  l.burst = 1s;
  l.slip = slip;
  l.log = false;
  return l;
}

// How many of `n` answers at `now` are sent, dropped and slipped.
struct Tally {
  int sent = 0, dropped = 0, slipped = 0;
};
Tally send(ResponseRateLimiter& rrl, int n, Clock::time_point now, const char* client = "192.0.2.1",
           ResponseKind kind = ResponseKind::kAnswer, const char* qname = "www.example.test.") {
  Tally t;
  auto q = name(qname);
  for (int i = 0; i < n; ++i) {
    switch (rrl.check(ip(client), kind, &q, RRType::kA, now)) {
      case RrlVerdict::kSend:
        ++t.sent;
        break;
      case RrlVerdict::kDrop:
        ++t.dropped;
        break;
      case RrlVerdict::kSlip:
        ++t.slipped;
        break;
    }
  }
  return t;
}

const Clock::time_point t0 = Clock::time_point(1000s);

TEST(ResponseRateLimiter, ABucketHoldsItsBurstAndRefillsAtTheRate) {
  ResponseRateLimiter rrl(limits(10));
  EXPECT_EQ(send(rrl, 15, t0).sent, 10);        // a second's worth at once
  EXPECT_EQ(send(rrl, 5, t0 + 100ms).sent, 1);  // then one per 100 ms
  EXPECT_EQ(send(rrl, 5, t0 + 350ms).sent, 2);  // (2.5 tokens)
  EXPECT_EQ(send(rrl, 5, t0 + 450ms).sent, 1);  // (the half token was kept)
  EXPECT_EQ(send(rrl, 50, t0 + 60s).sent, 10);  // never more than the burst
  EXPECT_EQ(send(rrl, 1, t0 + 60s + 50ms).sent, 0);
}

TEST(ResponseRateLimiter, ALongerBurstHoldsMore) {
  auto l = limits(10);
  l.burst = 4s;  // Knot's capacity
  ResponseRateLimiter rrl(l);
  EXPECT_EQ(send(rrl, 100, t0).sent, 40);
}

TEST(ResponseRateLimiter, EverySlipthLimitedAnswerGoesOutTruncated) {
  ResponseRateLimiter two(limits(1, 2));
  auto t = send(two, 101, t0);
  EXPECT_EQ(t.sent, 1);
  EXPECT_EQ(t.slipped, 50);
  EXPECT_EQ(t.dropped, 50);

  ResponseRateLimiter one(limits(1, 1));
  t = send(one, 101, t0);
  EXPECT_EQ(t.slipped, 100);
  EXPECT_EQ(t.dropped, 0);

  ResponseRateLimiter none(limits(1, 0));
  t = send(none, 101, t0);
  EXPECT_EQ(t.slipped, 0);
  EXPECT_EQ(t.dropped, 100);

  ResponseRateLimiter three(limits(1, 3));
  t = send(three, 91, t0);
  EXPECT_EQ(t.slipped, 30);
  EXPECT_EQ(t.dropped, 60);
}

TEST(ResponseRateLimiter, ANetworkSharesOneBucketAndOtherNetworksHaveTheirOwn) {
  ResponseRateLimiter rrl(limits(5));
  EXPECT_EQ(send(rrl, 3, t0, "192.0.2.1").sent, 3);
  EXPECT_EQ(send(rrl, 3, t0, "192.0.2.200").sent, 2);  // the same /24
  EXPECT_EQ(send(rrl, 5, t0, "192.0.3.1").sent, 5);    // another /24
  EXPECT_EQ(send(rrl, 3, t0, "2001:db8:0:1::1").sent, 3);
  EXPECT_EQ(send(rrl, 3, t0, "2001:db8:0:ff::2").sent, 2);   // the same /56
  EXPECT_EQ(send(rrl, 5, t0, "2001:db8:0:42::1").sent, 0);   // also the same /56
  EXPECT_EQ(send(rrl, 5, t0, "2001:db8:0:100::1").sent, 5);  // another /56
  // An IPv4-mapped address is its IPv4 network.
  EXPECT_EQ(send(rrl, 5, t0, "::ffff:192.0.3.9").sent, 0);
}

TEST(ResponseRateLimiter, ThePrefixLengthsAreConfigurable) {
  auto l = limits(5);
  l.prefix_v4 = 32;
  ResponseRateLimiter rrl(l);
  EXPECT_EQ(send(rrl, 5, t0, "192.0.2.1").sent, 5);
  EXPECT_EQ(send(rrl, 5, t0, "192.0.2.2").sent, 5);
}

TEST(ResponseRateLimiter, KindsAndNamesHaveTheirOwnBuckets) {
  ResponseRateLimiter rrl(limits(5));
  EXPECT_EQ(send(rrl, 10, t0, "192.0.2.1", ResponseKind::kNxdomain, "example.test.").sent, 5);
  // NXDOMAIN for one zone does not limit answers, nor NXDOMAIN for another zone.
  EXPECT_EQ(send(rrl, 5, t0, "192.0.2.1", ResponseKind::kAnswer, "www.example.test.").sent, 5);
  EXPECT_EQ(send(rrl, 5, t0, "192.0.2.1", ResponseKind::kNxdomain, "other.test.").sent, 5);
  // Answers are by question: another name has its own bucket.
  EXPECT_EQ(send(rrl, 5, t0, "192.0.2.1", ResponseKind::kAnswer, "mail.example.test.").sent, 5);
  // Names compare case-insensitively (DNS 0x20).
  EXPECT_EQ(send(rrl, 5, t0, "192.0.2.1", ResponseKind::kAnswer, "WWW.Example.TEST.").sent, 0);
}

TEST(ResponseRateLimiter, ARateOfZeroIsNotLimited) {
  auto l = limits(1);
  l.rate[static_cast<std::size_t>(ResponseKind::kError)] = 0;
  ResponseRateLimiter rrl(l);
  EXPECT_EQ(send(rrl, 1000, t0, "192.0.2.1", ResponseKind::kError).sent, 1000);
  EXPECT_EQ(send(rrl, 10, t0, "192.0.2.1", ResponseKind::kNxdomain).sent, 1);
}

TEST(ResponseRateLimiter, ExemptNetworksAreListed) {
  auto l = limits(1);
  l.exempt = {*core::Cidr::parse("198.51.100.0/24"), *core::Cidr::parse("2001:db8:1::/48")};
  ResponseRateLimiter rrl(l);
  EXPECT_TRUE(rrl.exempt(ip("198.51.100.7")));
  EXPECT_TRUE(rrl.exempt(ip("::ffff:198.51.100.7")));
  EXPECT_TRUE(rrl.exempt(ip("2001:db8:1:2::3")));
  EXPECT_FALSE(rrl.exempt(ip("198.51.101.7")));
}

TEST(ResponseRateLimiter, TheTableIsBoundedAndManyNewSourcesDoNotReleaseALimitedOne) {
  auto l = limits(2, 0);
  l.table_size = 64;
  ResponseRateLimiter rrl(l);
  EXPECT_EQ(rrl.slots(), 64u);
  EXPECT_EQ(send(rrl, 10, t0, "192.0.2.1").sent, 2);  // limited
  // 100,000 networks, one answer each: the table stays at its size.
  for (std::uint32_t i = 0; i < 100'000; ++i) {
    auto client = core::IpAddress::v4(0x0a000000u + (i << 8));
    auto q = name("www.example.test.");
    rrl.check(client, ResponseKind::kAnswer, &q, RRType::kA, t0 + 1ms);
  }
  EXPECT_LE(rrl.slots_in_use(), 64u);
  // The limited network kept its empty bucket: a fresh one would answer again.
  EXPECT_EQ(send(rrl, 1, t0 + 2ms, "192.0.2.1").sent, 0);
}

TEST(ResponseRateLimiter, WorkersShareTheBucketsWithoutLosingCounts) {
  ResponseRateLimiter rrl(limits(100, 0));
  std::atomic<int> sent{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] { sent += send(rrl, 10'000, t0).sent; });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(sent.load(), 100);  // one bucket's burst, whoever counted it
}

// A UDP answer with records, as the responder writes it, and its state.
struct Answer {
  QueryState state;
  std::array<std::uint8_t, 1232> buffer{};
  std::size_t size = 0;

  Answer(const char* client, Rcode rcode = Rcode::kNoError, bool edns = true) {
    state.reset(Transport::kUdp, core::Endpoint{ip(client), 5300});
    state.id = 0x1234;
    state.rd = true;
    state.has_question = true;
    state.edns = edns;
    state.query.dnssec_ok = edns;
    state.query.question = {name("WwW.example.test."), RRType::kA, RRClass::kIN};
    state.rcode = rcode;
    MessageWriter w(buffer, 1232);
    w.header().id = state.id;
    w.header().qr = true;
    w.header().aa = true;
    w.header().rd = true;
    w.add_question(state.query.question.name, RRType::kA, RRClass::kIN);
    if (edns) w.set_edns(1232, 0, true);
    if (rcode == Rcode::kNoError) {
      std::array<std::uint8_t, 4> a{192, 0, 2, 1};
      w.add_record(Section::kAnswer, state.query.question.name, RRType::kA, RRClass::kIN, 300, a);
      state.answer_ttl = 300;
    }
    w.set_rcode(static_cast<std::uint16_t>(rcode));
    size = w.finish();
  }
  RrlOutcome limit(ResponseRateLimiter& rrl, const ZoneSet& zones = {}) {
    return rate_limit_answer(rrl, state, zones, 1232, buffer, size, t0);
  }
};

TEST(RateLimitAnswer, ASlippedAnswerIsTheHeaderAndQuestionWithTc) {
  ResponseRateLimiter rrl(limits(1, 1));
  Answer first("192.0.2.1");
  auto original = first.size;
  EXPECT_EQ(first.limit(rrl).verdict, RrlVerdict::kSend);
  EXPECT_EQ(first.size, original);
  Answer second("192.0.2.1");
  auto outcome = second.limit(rrl);
  EXPECT_EQ(outcome.verdict, RrlVerdict::kSlip);
  EXPECT_EQ(outcome.kind, ResponseKind::kAnswer);
  Message m;
  ASSERT_EQ(Message::parse({second.buffer.data(), second.size}, m), WireError::kOk);
  EXPECT_EQ(m.header.id, 0x1234);
  EXPECT_TRUE(m.header.qr);
  EXPECT_TRUE(m.header.tc);
  EXPECT_TRUE(m.header.aa);
  EXPECT_TRUE(m.header.rd);
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_TRUE(m.questions[0].name.identical(name("WwW.example.test.")));  // the case echoed
  EXPECT_TRUE(m.answers.empty());
  EXPECT_TRUE(m.authority.empty());
  ASSERT_TRUE(m.edns);
  EXPECT_TRUE(m.edns->dnssec_ok);
}

TEST(RateLimitAnswer, NxdomainIsLimitedByZone) {
  ResponseRateLimiter rrl(limits(1, 1));
  ZoneSet zones;
  zones.put(std::make_shared<const Zone>(Zone::build(name("example.test."), {}, {})));
  Answer a("192.0.2.1", Rcode::kNXDomain, false);
  a.state.query.question.name = name("random1.example.test.");
  auto outcome = a.limit(rrl, zones);
  EXPECT_EQ(outcome.kind, ResponseKind::kNxdomain);
  EXPECT_EQ(outcome.verdict, RrlVerdict::kSend);
  Answer b("192.0.2.1", Rcode::kNXDomain, false);
  b.state.query.question.name = name("random2.example.test.");
  EXPECT_EQ(b.limit(rrl, zones).verdict, RrlVerdict::kSlip);  // the same zone's bucket
  Message m;
  ASSERT_EQ(Message::parse({b.buffer.data(), b.size}, m), WireError::kOk);
  EXPECT_EQ(m.rcode(), static_cast<std::uint16_t>(Rcode::kNXDomain));
  EXPECT_TRUE(m.header.tc);
  EXPECT_FALSE(m.edns);
}

TEST(RateLimitAnswer, OnlyUdpIsLimitedAndNeverAValidCookieOrAnExemptClient) {
  auto l = limits(1, 1);
  l.exempt = {*core::Cidr::parse("198.51.100.0/24")};
  ResponseRateLimiter rrl(l);
  for (int i = 0; i < 5; ++i) {
    Answer tcp("192.0.2.1");
    tcp.state.query.transport = Transport::kTcp;
    EXPECT_EQ(tcp.limit(rrl).verdict, RrlVerdict::kSend);
    Answer cookie("192.0.2.1");
    cookie.state.valid_server_cookie = true;
    EXPECT_EQ(cookie.limit(rrl).verdict, RrlVerdict::kSend);
    Answer exempt("198.51.100.9");
    EXPECT_EQ(exempt.limit(rrl).verdict, RrlVerdict::kSend);
  }
  Answer udp("192.0.2.1");
  EXPECT_EQ(udp.limit(rrl).verdict, RrlVerdict::kSend);  // the bucket was untouched
  EXPECT_EQ(udp.limit(rrl).verdict, RrlVerdict::kSlip);
}

}  // namespace
}  // namespace basalt::dns
