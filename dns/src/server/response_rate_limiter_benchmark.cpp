// Micro-benchmarks of response rate limiting, which runs for every UDP
// answer when `rrl` is on: one answer counted in a bucket that has tokens,
// one refused under a flood (the same bucket every time, as a
// random-subdomain flood's NXDOMAIN from one network), and the whole step
// for an NXDOMAIN answer including the zone lookup and the truncated rewrite.
#include <benchmark/benchmark.h>

#include <array>

#include "basalt/dns/wire/message_writer.hpp"
#include "server/response_rate_limiter.hpp"

namespace basalt::dns {
namespace {

using Clock = ResponseRateLimiter::Clock;

RateLimits limits(std::uint32_t rate) {
  RateLimits l;
  l.rate = {rate, rate, rate, rate};
  l.log = false;
  return l;
}

void BM_RrlAnswerSent(benchmark::State& state) {
  ResponseRateLimiter rrl(limits(1'000'000'000));
  auto client = *core::IpAddress::parse("192.0.2.1");
  auto name = *Name::from_text("www.example.test.");
  auto now = Clock::now();
  for (auto _ : state) {
    auto v = rrl.check(client, ResponseKind::kAnswer, &name, RRType::kA, now);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RrlAnswerSent);

void BM_RrlFloodLimited(benchmark::State& state) {
  ResponseRateLimiter rrl(limits(20));
  auto client = *core::IpAddress::parse("192.0.2.1");
  auto zone = *Name::from_text("example.test.");
  auto now = Clock::now();
  for (auto _ : state) {
    auto v = rrl.check(client, ResponseKind::kNxdomain, &zone, RRType::kA, now);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RrlFloodLimited);

// rate_limit_answer() for NXDOMAIN answers to random names under a flood
// (slip 2: every other one rewritten truncated), against a set of 1 zone.
void BM_RrlNxdomainStep(benchmark::State& state) {
  ResponseRateLimiter rrl(limits(20));
  ZoneSet zones;
  zones.put(std::make_shared<const Zone>(Zone::build(*Name::from_text("example.test."), {}, {})));
  QueryState q;
  q.reset(Transport::kUdp, core::Endpoint{*core::IpAddress::parse("192.0.2.1"), 5300});
  q.has_question = true;
  q.edns = true;
  q.query.question = {*Name::from_text("k3j4h5g6f7d8s9a0.example.test."), RRType::kA, RRClass::kIN};
  q.rcode = Rcode::kNXDomain;
  std::array<std::uint8_t, 1232> out{};
  auto now = Clock::now();
  for (auto _ : state) {
    MessageWriter w(out, 1232);
    w.header().qr = true;
    w.add_question(q.query.question.name, RRType::kA, RRClass::kIN);
    w.set_edns(1232, 0, false);
    w.set_rcode(3);
    std::size_t size = w.finish();
    auto o = rate_limit_answer(rrl, q, zones, 1232, out, size, now);
    benchmark::DoNotOptimize(o);
    benchmark::DoNotOptimize(size);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RrlNxdomainStep);

}  // namespace
}  // namespace basalt::dns
