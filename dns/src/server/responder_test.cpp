#include "basalt/dns/server/responder.hpp"

#include <gtest/gtest.h>

#include "basalt/dns/server/doh.hpp"
#include "basalt/dns/wire/message.hpp"
#include "basalt/dns/zone/zone_parser.hpp"

namespace basalt::dns {
namespace {

constexpr std::string_view kZone = R"(
$ORIGIN example.test.
$TTL 3600
@       IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
@       IN NS  ns1
@       IN NS  ns2.other.test.
@       IN MX  10 mail
ns1     IN A   192.0.2.53
mail    IN A   192.0.2.25
mail    IN AAAA 2001:db8::25
www     IN A   192.0.2.80
alias   IN CNAME www
outside IN CNAME www.elsewhere.test.
chain   IN CNAME alias
dangling IN CNAME nothing
*.wild  IN A   192.0.2.99
*.wild  IN TXT "wildcard"
a.b.ent IN A   192.0.2.1
sub     IN NS  ns.sub
ns.sub  IN A   192.0.2.200
big     IN TXT "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT "1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT "2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT "3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT "4123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
big     IN TXT "5123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
)";

Name N(std::string_view s) {
  return *Name::from_text(s);
}

class ResponderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ZoneParseOptions opts;
    opts.origin = N("example.test.");
    auto records = parse_zone(kZone, opts);
    auto d = std::make_shared<ServerData>();
    d->zones.put(std::make_shared<Zone>(Zone::build(N("example.test."), std::move(records))));
    d->zones.put(std::make_shared<Zone>(Zone::build(N("dyn.test."), {})));
    data_ = d;
  }

  void add_handler(std::string pattern, std::vector<RRType> types, HandlerFn fn) {
    auto d = std::make_shared<ServerData>();
    for (auto& z : data_->zones.zones()) d->zones.put(z);
    d->handlers = data_->handlers;
    d->handlers.add(std::make_shared<HandlerEntry>(
        HandlerEntry{.id = next_id_++,
                     .glob = *core::Glob::compile(pattern, {.case_insensitive = true}),
                     .types = std::move(types),
                     .sync = std::move(fn)}));
    data_ = d;
  }

  Bytes query_bytes(std::string_view name, RRType type, bool edns = false, std::uint16_t payload = 1232) {
    Message q;
    q.header.id = 0x1234;
    q.header.rd = true;
    q.questions.push_back(Question{N(name), type, RRClass::kIN});
    if (edns) {
      Edns e;
      e.udp_payload_size = payload;
      q.edns = e;
    }
    return q.to_wire();
  }

  Message ask(std::string_view name, RRType type, Transport t = Transport::kUdp, bool edns = false,
              std::uint16_t payload = 1232) {
    return answer(query_bytes(name, type, edns, payload), t);
  }

  Message answer(const Bytes& query, Transport t = Transport::kUdp) {
    Bytes out(65535);
    std::size_t size = 0;
    state_.reset(t, std::nullopt);
    auto status = responder_.respond(query, data_, state_, out, size);
    if (status == Responder::Status::kNeedsHandlers) {
      EXPECT_TRUE(Responder::all_sync(state_));
      size = responder_.run_sync_handlers(state_, out);
    }
    EXPECT_NE(status, Responder::Status::kDropped);
    Message m;
    EXPECT_EQ(Message::parse(ByteSpan(out.data(), size), m), WireError::kOk);
    last_size_ = size;
    last_answer_.assign(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(size));
    return m;
  }

  std::shared_ptr<const ServerData> data_;
  Responder responder_;
  QueryState state_;  // reused across queries, as a listener does
  HandlerId next_id_ = 1;
  std::size_t last_size_ = 0;
  Bytes last_answer_;
};

std::vector<std::string> texts(const std::vector<Record>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.to_text());
  return out;
}

TEST_F(ResponderTest, AuthoritativeAnswerEchoesTheQuestionCase) {
  auto m = ask("WwW.ExAmPlE.tEsT.", RRType::kA);
  EXPECT_TRUE(m.header.qr);
  EXPECT_TRUE(m.header.aa);
  EXPECT_FALSE(m.header.ra);
  EXPECT_TRUE(m.header.rd);
  EXPECT_EQ(m.header.id, 0x1234);
  EXPECT_EQ(m.rcode(), 0);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_TRUE(m.questions[0].name.identical(N("WwW.ExAmPlE.tEsT.")));
  EXPECT_TRUE(m.answers[0].owner.identical(N("WwW.ExAmPlE.tEsT.")));
  EXPECT_EQ(m.answers[0].to_text(), "WwW.ExAmPlE.tEsT. 3600 IN A 192.0.2.80");
}

TEST_F(ResponderTest, NxdomainAndNodataCarryTheSoaInAuthorityWithNegativeTtl) {
  auto nx = ask("nope.example.test.", RRType::kA);
  EXPECT_EQ(nx.rcode(), 3);
  EXPECT_TRUE(nx.header.aa);
  EXPECT_TRUE(nx.answers.empty());
  ASSERT_EQ(nx.authority.size(), 1u);
  EXPECT_EQ(nx.authority[0].type, RRType::kSOA);
  EXPECT_EQ(nx.authority[0].ttl, 300u);  // min(SOA TTL 3600, MINIMUM 300)

  auto nodata = ask("www.example.test.", RRType::kAAAA);
  EXPECT_EQ(nodata.rcode(), 0);
  EXPECT_TRUE(nodata.answers.empty());
  ASSERT_EQ(nodata.authority.size(), 1u);
  EXPECT_EQ(nodata.authority[0].type, RRType::kSOA);

  auto ent = ask("b.ent.example.test.", RRType::kA);  // empty non-terminal exists
  EXPECT_EQ(ent.rcode(), 0);
  EXPECT_EQ(ent.authority.size(), 1u);
}

TEST_F(ResponderTest, CnameIsFollowedInsideOurDataOnly) {
  auto m = ask("chain.example.test.", RRType::kA);
  EXPECT_EQ(texts(m.answers),
            (std::vector<std::string>{"chain.example.test. 3600 IN CNAME alias.example.test.",
                                      "alias.example.test. 3600 IN CNAME www.example.test.",
                                      "www.example.test. 3600 IN A 192.0.2.80"}));
  auto out = ask("outside.example.test.", RRType::kA);
  EXPECT_EQ(out.rcode(), 0);
  EXPECT_EQ(out.answers.size(), 1u);
  auto dangling = ask("dangling.example.test.", RRType::kA);
  EXPECT_EQ(dangling.rcode(), 3);  // RFC 6604: the rcode of the last name
  EXPECT_EQ(dangling.answers.size(), 1u);
  auto cname_itself = ask("alias.example.test.", RRType::kCNAME);
  EXPECT_EQ(texts(cname_itself.answers),
            (std::vector<std::string>{"alias.example.test. 3600 IN CNAME www.example.test."}));
}

TEST_F(ResponderTest, WildcardsSynthesizeTheQueriedOwner) {
  auto m = ask("Anything.Wild.example.test.", RRType::kA);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_TRUE(m.answers[0].owner.identical(N("Anything.Wild.example.test.")));
  EXPECT_EQ(m.answers[0].to_text(), "Anything.Wild.example.test. 3600 IN A 192.0.2.99");
  auto deeper = ask("x.y.wild.example.test.", RRType::kTXT);  // closest encloser wild.example.test
  EXPECT_EQ(deeper.answers.size(), 1u);
  auto nodata = ask("x.wild.example.test.", RRType::kMX);
  EXPECT_EQ(nodata.rcode(), 0);
  EXPECT_TRUE(nodata.answers.empty());
  // An existing name blocks the wildcard (RFC 4592 §2.2.1).
  EXPECT_EQ(ask("b.ent.example.test.", RRType::kTXT).answers.size(), 0u);
}

TEST_F(ResponderTest, DelegationGivesAReferralWithGlue) {
  auto m = ask("host.sub.example.test.", RRType::kA);
  EXPECT_FALSE(m.header.aa);
  EXPECT_EQ(m.rcode(), 0);
  EXPECT_TRUE(m.answers.empty());
  EXPECT_EQ(texts(m.authority),
            (std::vector<std::string>{"sub.example.test. 3600 IN NS ns.sub.example.test."}));
  EXPECT_EQ(texts(m.additional), (std::vector<std::string>{"ns.sub.example.test. 3600 IN A 192.0.2.200"}));
  // DS belongs to the parent side of the cut.
  auto ds = ask("sub.example.test.", RRType::kDS);
  EXPECT_TRUE(ds.header.aa);
  EXPECT_EQ(ds.authority.size(), 1u);
  EXPECT_EQ(ds.authority[0].type, RRType::kSOA);
}

TEST_F(ResponderTest, MxAnswersCarryAddressesOfTheExchange) {
  auto m = ask("example.test.", RRType::kMX);
  EXPECT_EQ(texts(m.answers), (std::vector<std::string>{"example.test. 3600 IN MX 10 mail.example.test."}));
  EXPECT_EQ(m.additional.size(), 2u);
}

TEST_F(ResponderTest, RefusedOutsideOurZonesAndForOtherClasses) {
  auto m = ask("www.example.com.", RRType::kA);
  EXPECT_EQ(m.rcode(), 5);
  EXPECT_FALSE(m.header.aa);
  Message q;
  q.header.id = 1;
  q.questions.push_back(Question{N("version.bind."), RRType::kTXT, RRClass::kCH});
  EXPECT_EQ(answer(q.to_wire()).rcode(), 5);
}

TEST_F(ResponderTest, MalformedAndUnsupportedMessages) {
  Bytes garbage = {0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 'w', 'w'};
  auto formerr = answer(garbage);
  EXPECT_EQ(formerr.rcode(), 1);
  EXPECT_EQ(formerr.header.id, 0xabcd);

  Message two;
  two.questions = {Question{N("a.example.test."), RRType::kA, RRClass::kIN},
                   Question{N("b.example.test."), RRType::kA, RRClass::kIN}};
  EXPECT_EQ(answer(two.to_wire()).rcode(), 1);

  Message update;
  update.header.opcode = Opcode::kUpdate;
  update.header.rd = update.header.cd = true;
  update.questions = {Question{N("example.test."), RRType::kSOA, RRClass::kIN}};
  auto notimp = answer(update.to_wire());
  EXPECT_EQ(notimp.rcode(), 4);
  EXPECT_TRUE(notimp.header.rd);
  EXPECT_FALSE(notimp.header.cd);  // only QUERY defines CD

  Message v1;
  v1.questions = {Question{N("www.example.test."), RRType::kA, RRClass::kIN}};
  v1.edns = Edns{};
  v1.edns->version = 1;
  auto badvers = answer(v1.to_wire());
  EXPECT_EQ(badvers.rcode(), 16);
  ASSERT_TRUE(badvers.edns);
  EXPECT_EQ(badvers.edns->version, 0);

  Message response;
  response.header.qr = true;
  response.questions = {Question{N("www.example.test."), RRType::kA, RRClass::kIN}};
  Bytes out(512);
  std::size_t size = 0;
  QueryState state;
  state.reset(Transport::kUdp, std::nullopt);
  EXPECT_EQ(responder_.respond(response.to_wire(), data_, state, out, size), Responder::Status::kDropped);
}

TEST_F(ResponderTest, UdpTruncatesAtTheClientsBufferAndTcpCarriesAll) {
  auto plain = ask("big.example.test.", RRType::kTXT);
  EXPECT_TRUE(plain.header.tc);
  EXPECT_LE(last_size_, 512u);
  auto edns = ask("big.example.test.", RRType::kTXT, Transport::kUdp, true, 4096);
  EXPECT_FALSE(edns.header.tc);  // 1232 (our limit) is enough
  EXPECT_EQ(edns.answers.size(), 6u);
  ASSERT_TRUE(edns.edns);
  EXPECT_EQ(edns.edns->udp_payload_size, 1232);
  auto tcp = ask("big.example.test.", RRType::kTXT, Transport::kTcp);
  EXPECT_FALSE(tcp.header.tc);
  EXPECT_EQ(tcp.answers.size(), 6u);
}

TEST_F(ResponderTest, AnyIsMinimalOverUdpAndFullOverTcp) {
  auto udp = ask("mail.example.test.", RRType::kANY);
  ASSERT_EQ(udp.answers.size(), 1u);
  EXPECT_EQ(udp.answers[0].type, RRType::kHINFO);
  auto tcp = ask("mail.example.test.", RRType::kANY, Transport::kTcp);
  EXPECT_EQ(tcp.answers.size(), 2u);
}

// RFC 8482 for names only handlers know, as for zone data: over UDP the
// HINFO without asking them; over TCP they are asked with ANY.
TEST_F(ResponderTest, AnyAtAHandlerNameIsMinimalOverUdpAndAskedOverTcp) {
  int calls = 0;
  add_handler("*.dyn.test", {RRType::kA}, [&](const Query& q) {
    ++calls;
    return std::vector<Record>{Record{q.question.name, RRType::kA, RRClass::kIN, 60, {192, 0, 2, 1}}};
  });
  auto udp = ask("www.dyn.test.", RRType::kANY);
  EXPECT_EQ(texts(udp.answers), (std::vector<std::string>{"www.dyn.test. 3600 IN HINFO \"RFC8482\" \"\""}));
  EXPECT_TRUE(udp.header.aa);
  EXPECT_EQ(calls, 0);
  auto tcp = ask("www.dyn.test.", RRType::kANY, Transport::kTcp);
  EXPECT_EQ(texts(tcp.answers), (std::vector<std::string>{"www.dyn.test. 60 IN A 192.0.2.1"}));
  EXPECT_EQ(calls, 1);
  // A name no pattern covers gets no HINFO: NXDOMAIN.
  auto nx = ask("nothing.example.test.", RRType::kANY);
  EXPECT_EQ(nx.rcode(), 3);
  EXPECT_TRUE(nx.answers.empty());
}

TEST_F(ResponderTest, LocalhostNames) {
  auto a = ask("LocalHost.", RRType::kA);
  EXPECT_EQ(texts(a.answers), (std::vector<std::string>{"LocalHost. 0 IN A 127.0.0.1"}));
  auto aaaa = ask("x.localhost.", RRType::kAAAA);
  EXPECT_EQ(texts(aaaa.answers), (std::vector<std::string>{"x.localhost. 0 IN AAAA ::1"}));
}

Record a_record(const Name& owner, std::string_view addr) {
  std::string err;
  return Record{owner, RRType::kA, RRClass::kIN, 60, *rdata_from_text(RRType::kA, addr, Name(), &err)};
}

TEST_F(ResponderTest, HandlersAnswerAfterZoneDataInRegistrationOrder) {
  add_handler("*.dyn.test", {RRType::kA},
              [](const Query& q) { return std::vector<Record>{a_record(q.question.name, "10.0.0.1")}; });
  add_handler("host-*.dyn.test", {RRType::kA, RRType::kAAAA},
              [](const Query& q) { return std::vector<Record>{a_record(q.question.name, "10.0.0.2")}; });
  auto both = ask("HOST-1.Dyn.Test.", RRType::kA);
  EXPECT_EQ(texts(both.answers), (std::vector<std::string>{"HOST-1.Dyn.Test. 60 IN A 10.0.0.1",
                                                           "HOST-1.Dyn.Test. 60 IN A 10.0.0.2"}));
  EXPECT_TRUE(both.header.aa);
  // Pattern matches, no handler for the type (or none returns records): NODATA.
  auto nodata = ask("other.dyn.test.", RRType::kAAAA);
  EXPECT_EQ(nodata.rcode(), 0);
  EXPECT_TRUE(nodata.answers.empty());
  EXPECT_EQ(nodata.authority.size(), 1u);
  auto nodata2 = ask("host-2.dyn.test.", RRType::kAAAA);  // handler ran, returned only an A
  EXPECT_EQ(nodata2.rcode(), 0);
  EXPECT_TRUE(nodata2.answers.empty());
  // The apex itself matches no pattern and has no A: NODATA from zone data;
  // a deeper name nothing covers: NXDOMAIN.
  EXPECT_EQ(ask("dyn.test.", RRType::kA).rcode(), 0);
  EXPECT_EQ(ask("a.b", RRType::kA).rcode(), 5);
  add_handler("fail.dyn.test", {RRType::kTXT},
              [](const Query&) -> std::vector<Record> { throw std::runtime_error("boom"); });
  EXPECT_EQ(ask("fail.dyn.test.", RRType::kTXT).rcode(), 2);  // SERVFAIL for this query only
  EXPECT_EQ(ask("host-3.dyn.test.", RRType::kA).answers.size(), 2u);
}

TEST_F(ResponderTest, ZoneDataWinsOverHandlers) {
  add_handler("www.example.test", {RRType::kA, RRType::kTXT},
              [](const Query& q) { return std::vector<Record>{a_record(q.question.name, "10.9.9.9")}; });
  EXPECT_EQ(texts(ask("www.example.test.", RRType::kA).answers),
            (std::vector<std::string>{"www.example.test. 3600 IN A 192.0.2.80"}));
  EXPECT_EQ(ask("nothing.example.test.", RRType::kA).rcode(), 3);
}

TEST_F(ResponderTest, TheQueryStateCarriesTheParsedQuestionAndTheAnswersMaxAge) {
  add_handler("*.dyn.test", {RRType::kA},
              [](const Query& q) { return std::vector<Record>{a_record(q.question.name, "10.0.0.1")}; });
  struct Case {
    std::string_view name;
    RRType type;
    std::optional<std::uint32_t> max_age;  // nullopt: the synthesised SOA's, whatever it is
    bool from_handlers = false;
  };
  // The max-age the responder noted while writing is what parsing the answer gives.
  for (auto [name, type, max_age, from_handlers] : std::vector<Case>{
           {"WwW.Example.Test.", RRType::kA, 3600},
           {"example.test.", RRType::kMX, 3600},
           {"chain.example.test.", RRType::kA, 3600},
           {"x.wild.example.test.", RRType::kTXT, 3600},
           {"nothing.example.test.", RRType::kA, 300},        // NXDOMAIN: the SOA's negative TTL
           {"www.example.test.", RRType::kTXT, 300},          // NODATA
           {"h.sub.example.test.", RRType::kA, 3600},         // referral: the NS in AUTHORITY
           {"Host.Dyn.Test.", RRType::kA, 60, true},          // handler's record
           {"other.dyn.test.", RRType::kAAAA, std::nullopt},  // a pattern, no handler of the type: NODATA
           {"localhost.", RRType::kA, 0},
           {"www.elsewhere.test.", RRType::kA, 0}}) {  // REFUSED: no record
    SCOPED_TRACE(std::string(name));
    auto m = ask(name, type, Transport::kHttps, true);
    EXPECT_EQ(state_.max_age(), doh_max_age(last_answer_));
    if (max_age) {
      EXPECT_EQ(state_.max_age(), *max_age);
    }
    ASSERT_TRUE(state_.has_question);
    EXPECT_EQ(state_.query.question.name.to_string(), name);  // the case as sent
    EXPECT_EQ(state_.query.question.type, type);
    EXPECT_EQ(state_.id, 0x1234);
    EXPECT_TRUE(state_.rd);
    EXPECT_TRUE(state_.edns);
    EXPECT_EQ(state_.parse_error, WireError::kOk);
    EXPECT_EQ(static_cast<std::uint16_t>(state_.rcode), m.rcode());
    EXPECT_EQ(state_.from_handlers, from_handlers);
  }
}

TEST_F(ResponderTest, TransfersAreLeftToTcpAndNotImplementedElsewhere) {
  Bytes out(65535);
  std::size_t size = 0;
  QueryState state;
  state.reset(Transport::kTcp, core::Endpoint{core::IpAddress::v4_loopback(), 5300});
  EXPECT_EQ(responder_.respond(query_bytes("Example.Test.", RRType::kAXFR), data_, state, out, size),
            Responder::Status::kTransfer);
  EXPECT_EQ(state.query.question.name.to_string(), "Example.Test.");
  EXPECT_EQ(state.query.question.type, RRType::kAXFR);
  EXPECT_EQ(state.id, 0x1234);
  EXPECT_EQ(ask("example.test.", RRType::kAXFR, Transport::kUdp).rcode(), 4);  // NOTIMP
  EXPECT_EQ(ask("example.test.", RRType::kIXFR, Transport::kHttps).rcode(), 4);
}

TEST_F(ResponderTest, UnparsableMessagesAndResponsesAreReportedInTheState) {
  Bytes junk{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 'w'};
  auto formerr = answer(junk);
  EXPECT_EQ(formerr.rcode(), 1);
  EXPECT_NE(state_.parse_error, WireError::kOk);
  EXPECT_FALSE(state_.has_question);

  // A response is dropped, but its question is still there for observers.
  Message response;
  response.header.qr = true;
  response.questions = {Question{N("www.example.test."), RRType::kA, RRClass::kIN}};
  Bytes out(512);
  std::size_t size = 0;
  state_.reset(Transport::kUdp, std::nullopt);
  EXPECT_EQ(responder_.respond(response.to_wire(), data_, state_, out, size), Responder::Status::kDropped);
  ASSERT_TRUE(state_.has_question);
  EXPECT_EQ(state_.query.question.name.to_string(), "www.example.test.");
  state_.reset(Transport::kUdp, std::nullopt);
  EXPECT_EQ(responder_.respond(ByteSpan(junk.data(), 5), data_, state_, out, size),
            Responder::Status::kDropped);
  EXPECT_FALSE(state_.has_question);
}

TEST(ZoneBuild, RejectsBrokenDataAndSynthesizesSoaNs) {
  auto rec = [](std::string_view owner, RRType t, std::string_view rdata) {
    std::string err;
    return Record{N(owner), t, RRClass::kIN, 60, *rdata_from_text(t, rdata, N("example.test."), &err)};
  };
  EXPECT_THROW(Zone::build(N("example.test."), {rec("www.other.test.", RRType::kA, "192.0.2.1")}),
               std::invalid_argument);
  EXPECT_THROW(Zone::build(N("example.test."), {rec("a.example.test.", RRType::kCNAME, "b"),
                                                rec("a.example.test.", RRType::kA, "192.0.2.1")}),
               std::invalid_argument);
  auto z = Zone::build(N("dyn.example.test."), {}, {.serial = 42});
  EXPECT_EQ(z.serial(), 42u);
  auto soa = SoaFields::parse(z.soa().rdatas.front());
  ASSERT_TRUE(soa);
  EXPECT_EQ(soa->mname.to_string(), "ns1.dyn.example.test.");
  auto* apex = z.find(N("dyn.example.test."));
  ASSERT_TRUE(apex && apex->find(RRType::kNS));
}

}  // namespace
}  // namespace basalt::dns
