// Micro-benchmarks of the query hot path: parsing a typical query from its
// buffer, writing a typical answer, and both together.
#include <benchmark/benchmark.h>

#include <array>

#include "basalt/core/encoding.hpp"
#include "basalt/dns/wire/message.hpp"
#include "basalt/dns/wire/message_view.hpp"
#include "basalt/dns/wire/message_writer.hpp"

namespace basalt::dns {
namespace {

// `dig example.com A +dnssec +cookie` as captured on loopback (52 octets).
const Bytes kQuery = *core::hex_decode(
    "b3e801200001000000000001076578616d706c6503636f6d000001000100002904d000008000000c000a0008177c2984baeaf59"
    "a");

struct Answer {
  Name owner = *Name::from_text("example.com.");
  Bytes a1 = *rdata_from_text(RRType::kA, "192.0.2.1", Name(), nullptr);
  Bytes a2 = *rdata_from_text(RRType::kA, "192.0.2.2", Name(), nullptr);
  Name ns = *Name::from_text("ns1.example.com.");
  Bytes ns_rdata = *rdata_from_text(RRType::kNS, "ns1.example.com.", Name(), nullptr);
};

void BM_ParseQuery(benchmark::State& state) {
  MessageView view;
  for (auto _ : state) {
    WireError e = view.parse(kQuery);
    benchmark::DoNotOptimize(e);
    auto q = view.question();
    benchmark::DoNotOptimize(q);
    bool do_bit = view.has_edns() && view.edns().dnssec_ok;
    benchmark::DoNotOptimize(do_bit);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseQuery);

void BM_ParseQueryOwned(benchmark::State& state) {
  for (auto _ : state) {
    Message m;
    WireError e = Message::parse(kQuery, m);
    benchmark::DoNotOptimize(e);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseQueryOwned);

// Question + 2 A records + 1 NS in authority + OPT: a typical small answer.
void BM_WriteAnswer(benchmark::State& state) {
  Answer a;
  Name qname = *Name::from_text("ExAmPlE.com.");
  std::array<std::uint8_t, 1232> buf;
  for (auto _ : state) {
    MessageWriter w(buf, 1232);
    w.header().id = 0xb3e8;
    w.header().qr = true;
    w.header().aa = true;
    w.set_edns(1232, 0, true);
    w.add_question(qname, RRType::kA, RRClass::kIN);
    w.add_record(Section::kAnswer, a.owner, RRType::kA, RRClass::kIN, 300, a.a1);
    w.add_record(Section::kAnswer, a.owner, RRType::kA, RRClass::kIN, 300, a.a2);
    w.add_record(Section::kAuthority, a.owner, RRType::kNS, RRClass::kIN, 300, a.ns_rdata);
    std::size_t n = w.finish();
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WriteAnswer);

// What a server does per query: parse, take the question, write the answer.
void BM_ParseAndAnswer(benchmark::State& state) {
  Answer a;
  std::array<std::uint8_t, 1232> buf;
  MessageView view;
  for (auto _ : state) {
    if (view.parse(kQuery) != WireError::kOk) state.SkipWithError("parse failed");
    auto q = view.question();
    Name qname = q.name.to_name();
    MessageWriter w(buf, view.has_edns() ? view.edns().udp_payload_size : 512);
    w.header().id = view.header().id;
    w.header().qr = true;
    w.header().aa = true;
    w.header().rd = view.header().rd;
    if (view.has_edns()) w.set_edns(1232, 0, view.edns().dnssec_ok);
    w.add_question(qname, q.type, q.rclass);
    w.add_record(Section::kAnswer, qname, RRType::kA, RRClass::kIN, 300, a.a1);
    w.add_record(Section::kAnswer, qname, RRType::kA, RRClass::kIN, 300, a.a2);
    w.add_record(Section::kAuthority, qname, RRType::kNS, RRClass::kIN, 300, a.ns_rdata);
    std::size_t n = w.finish();
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseAndAnswer);

// A larger response (MX answer, NS authority, glue): more compression work.
void BM_ParseResponse(benchmark::State& state) {
  Message m;
  m.header.qr = true;
  m.questions.push_back({*Name::from_text("example.com."), RRType::kMX, RRClass::kIN});
  Name origin = *Name::from_text("example.com.");
  for (int i = 0; i < 3; ++i)
    m.answers.push_back(
        {origin, RRType::kMX, RRClass::kIN, 300,
         *rdata_from_text(RRType::kMX, std::to_string(10 * i) + " mx" + std::to_string(i), origin, nullptr)});
  for (int i = 0; i < 2; ++i)
    m.authority.push_back({origin, RRType::kNS, RRClass::kIN, 300,
                           *rdata_from_text(RRType::kNS, "ns" + std::to_string(i), origin, nullptr)});
  for (int i = 0; i < 3; ++i)
    m.additional.push_back(
        {*Name::from_text("mx" + std::to_string(i), &origin), RRType::kA, RRClass::kIN, 300,
         *rdata_from_text(RRType::kA, "192.0.2." + std::to_string(i + 1), origin, nullptr)});
  m.edns.emplace();
  Bytes wire = m.to_wire();
  MessageView view;
  for (auto _ : state) {
    WireError e = view.parse(wire);
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes"] = static_cast<double>(wire.size());
}
BENCHMARK(BM_ParseResponse);

}  // namespace
}  // namespace basalt::dns
