// Signed answers from the Responder: which RRsets carry RRSIGs and which
// NSEC white lies prove NXDOMAIN and NODATA, for zone data and handlers.
// (That validators accept them is tested with delv and unbound in
// tests/integration/dns/dnssec_test.cpp.)
#include <gtest/gtest.h>

#include "basalt/dns/server/responder.hpp"
#include "basalt/dns/wire/message.hpp"
#include "basalt/dns/wire/rdata_types.hpp"
#include "basalt/dns/zone/zone_parser.hpp"

namespace basalt::dns {
namespace {

constexpr std::string_view kZone = R"(
$ORIGIN example.test.
$TTL 3600
@       IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
@       IN NS  ns1
@       IN MX  10 mail
ns1     IN A   192.0.2.53
mail    IN A   192.0.2.25
www     IN A   192.0.2.80
alias   IN CNAME www
*.wild  IN A   192.0.2.99
sub     IN NS  ns.sub
ns.sub  IN A   192.0.2.200
)";

Name N(std::string_view s) {
  return *Name::from_text(s);
}
Bytes A(std::string_view text) {
  std::string error;
  return *rdata_from_text(RRType::kA, text, Name(), &error);
}

class SignedResponderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ZoneParseOptions opts;
    opts.origin = N("example.test.");
    data_.zones.put(std::make_shared<Zone>(Zone::build(opts.origin, parse_zone(kZone, opts))));
    data_.signers.push_back(std::make_shared<ZoneSigner>(
        opts.origin,
        std::vector<SigningKey>{SigningKey::generate(Algorithm::kEd25519, SigningKey::kKskFlags, 0)}));
  }

  void add_handler(std::string pattern, std::vector<RRType> types, HandlerFn fn) {
    data_.handlers.add(std::make_shared<HandlerEntry>(
        HandlerEntry{.id = data_.handlers.entries().size() + 1,
                     .glob = *core::Glob::compile(pattern, {.case_insensitive = true}),
                     .types = std::move(types),
                     .sync = std::move(fn)}));
  }

  Message ask(std::string_view name, RRType type, bool dnssec_ok = true) {
    Message q;
    q.header.id = 7;
    q.questions.push_back(Question{N(name), type, RRClass::kIN});
    Edns e;
    e.udp_payload_size = 4096;
    e.dnssec_ok = dnssec_ok;
    q.edns = e;
    auto data = std::make_shared<const ServerData>(data_);
    Bytes out(65535);
    std::size_t size = 0;
    QueryState state;
    state.reset(Transport::kUdp, std::nullopt);
    Responder responder({.max_udp_payload = 4096});
    auto status = responder.respond(q.to_wire(), data, state, out, size);
    if (status == Responder::Status::kNeedsHandlers) size = responder.run_sync_handlers(state, out);
    Message m;
    EXPECT_EQ(Message::parse(ByteSpan(out.data(), size), m), WireError::kOk);
    return m;
  }

  // Builds the zone's precomputed NSEC chain for the handlers registered so far.
  void build_chain() {
    auto zone = data_.zones.get(N("example.test."));
    data_.chains = {DenialChain::build(zone, data_.reachable(*zone), data_.signers.front())};
  }
  const ZoneSigner& signer() const { return *data_.signers.front(); }

  ServerData data_;
};

std::vector<std::string> owners_of(const std::vector<Record>& rs, RRType type) {
  std::vector<std::string> out;
  for (const auto& r : rs) {
    if (r.type == type) out.push_back(r.owner.to_string());
  }
  return out;
}

// The RRSIGs in `rs` over `type`.
std::vector<rdata::RRSIG> sigs_over(const std::vector<Record>& rs, RRType type) {
  std::vector<rdata::RRSIG> out;
  for (const auto& r : rs) {
    if (r.type != RRType::kRRSIG) continue;
    auto s = rdata::RRSIG::decode(r.rdata);
    if (s && s->type_covered == type) out.push_back(*s);
  }
  return out;
}

std::vector<rdata::NSEC> nsecs(const std::vector<Record>& rs) {
  std::vector<rdata::NSEC> out;
  for (const auto& r : rs) {
    if (r.type == RRType::kNSEC) out.push_back(*rdata::NSEC::decode(r.rdata));
  }
  return out;
}

// True if one of the NSECs in `rs` covers `name` (owner < name < next).
bool covered(const std::vector<Record>& rs, const Name& name) {
  for (const auto& r : rs) {
    if (r.type != RRType::kNSEC) continue;
    auto n = rdata::NSEC::decode(r.rdata);
    if (r.owner < name && name < n->next) return true;
  }
  return false;
}

TEST_F(SignedResponderTest, SignsOnlyWithDoButServesTheKeysEitherWay) {
  auto plain = ask("www.example.test.", RRType::kA, false);
  EXPECT_TRUE(sigs_over(plain.answers, RRType::kA).empty());
  auto keys = ask("example.test.", RRType::kDNSKEY, false);
  ASSERT_EQ(keys.answers.size(), 1u);
  EXPECT_EQ(keys.answers[0].type, RRType::kDNSKEY);
  EXPECT_EQ(ask("example.test.", RRType::kCDS, false).answers.size(), 1u);
  EXPECT_EQ(ask("example.test.", RRType::kCDNSKEY, false).answers.size(), 1u);

  auto m = ask("WWW.example.test.", RRType::kA);
  auto sigs = sigs_over(m.answers, RRType::kA);
  ASSERT_EQ(sigs.size(), 1u);
  EXPECT_EQ(sigs[0].labels, 3);
  EXPECT_EQ(sigs[0].signer.to_string(), "example.test.");
  EXPECT_EQ(sigs_over(ask("example.test.", RRType::kDNSKEY).answers, RRType::kDNSKEY).size(), 1u);
}

TEST_F(SignedResponderTest, AdditionalRecordsAreSignedButGlueIsNot) {
  auto mx = ask("example.test.", RRType::kMX);
  EXPECT_EQ(sigs_over(mx.answers, RRType::kMX).size(), 1u);
  EXPECT_EQ(owners_of(mx.additional, RRType::kA), std::vector<std::string>{"mail.example.test."});
  EXPECT_EQ(sigs_over(mx.additional, RRType::kA).size(), 1u);

  auto referral = ask("host.sub.example.test.", RRType::kA);
  EXPECT_FALSE(referral.header.aa);
  EXPECT_TRUE(sigs_over(referral.authority, RRType::kNS).empty());  // the child's NS: not ours to sign
  // No DS: the NSEC at the cut says so, signed.
  auto ns = nsecs(referral.authority);
  ASSERT_EQ(ns.size(), 1u);
  EXPECT_TRUE(ns[0].types.contains(RRType::kNS));
  EXPECT_FALSE(ns[0].types.contains(RRType::kDS));
  EXPECT_EQ(sigs_over(referral.authority, RRType::kNSEC).size(), 1u);
  EXPECT_EQ(owners_of(referral.additional, RRType::kA), std::vector<std::string>{"ns.sub.example.test."});
  EXPECT_TRUE(sigs_over(referral.additional, RRType::kA).empty());
}

TEST_F(SignedResponderTest, WildcardAnswersCarryTheirLabelCountAndTheProofOfNoCloserName) {
  auto m = ask("a.b.wild.example.test.", RRType::kA);
  auto sigs = sigs_over(m.answers, RRType::kA);
  ASSERT_EQ(sigs.size(), 1u);
  EXPECT_EQ(sigs[0].labels, 3);  // *.wild.example.test. without the *
  // The next closer name (b.wild) does not exist.
  EXPECT_TRUE(covered(m.authority, N("b.wild.example.test.")));
  EXPECT_FALSE(covered(m.authority, N("wild.example.test.")));
  EXPECT_EQ(sigs_over(m.authority, RRType::kNSEC).size(), 1u);
}

TEST_F(SignedResponderTest, CnameChainsAreSignedLinkByLink) {
  auto m = ask("alias.example.test.", RRType::kA);
  EXPECT_EQ(sigs_over(m.answers, RRType::kCNAME).size(), 1u);
  EXPECT_EQ(sigs_over(m.answers, RRType::kA).size(), 1u);
}

TEST_F(SignedResponderTest, NxdomainProvesTheNameAndTheWildcardAbsent) {
  auto m = ask("nope.example.test.", RRType::kA);
  EXPECT_EQ(m.rcode(), 3);
  EXPECT_EQ(owners_of(m.authority, RRType::kSOA), std::vector<std::string>{"example.test."});
  EXPECT_EQ(sigs_over(m.authority, RRType::kSOA).size(), 1u);
  EXPECT_TRUE(covered(m.authority, N("nope.example.test.")));
  EXPECT_TRUE(covered(m.authority, N("*.example.test.")));
  EXPECT_FALSE(covered(m.authority, N("www.example.test.")));
  EXPECT_EQ(sigs_over(m.authority, RRType::kNSEC).size(), 2u);
  // Below a name that does not exist: the same proof for its next closer name.
  auto deep = ask("a.b.nope.example.test.", RRType::kA);
  EXPECT_TRUE(covered(deep.authority, N("nope.example.test.")));
}

TEST_F(SignedResponderTest, NodataListsTheTypesThatExist) {
  auto m = ask("www.example.test.", RRType::kTXT);
  EXPECT_EQ(m.rcode(), 0);
  ASSERT_EQ(owners_of(m.authority, RRType::kNSEC), std::vector<std::string>{"www.example.test."});
  auto n = nsecs(m.authority)[0];
  EXPECT_EQ(n.types.types, (std::vector<RRType>{RRType::kA, RRType::kRRSIG, RRType::kNSEC}));
  EXPECT_EQ(n.next.to_string(), "\\000.www.example.test.");
  auto apex = nsecs(ask("example.test.", RRType::kTXT).authority);
  ASSERT_EQ(apex.size(), 1u);
  for (auto t : {RRType::kSOA, RRType::kNS, RRType::kMX, RRType::kDNSKEY, RRType::kCDS, RRType::kCDNSKEY})
    EXPECT_TRUE(apex[0].types.contains(t)) << to_string(t);
  // At a wildcard: the wildcard's NSEC and the proof that the name does not exist.
  auto w = ask("x.wild.example.test.", RRType::kTXT);
  EXPECT_EQ(owners_of(w.authority, RRType::kNSEC).size(), 2u);
  EXPECT_TRUE(covered(w.authority, N("x.wild.example.test.")));
  EXPECT_EQ(owners_of(w.authority, RRType::kNSEC)[0], "*.wild.example.test.");
}

TEST_F(SignedResponderTest, HandlerAnswersAreSignedAndTheirNamesExist) {
  add_handler("*.dyn.example.test", {RRType::kA}, [](const Query& q) {
    if (q.question.name.label(0) == "empty") return std::vector<Record>{};
    return std::vector<Record>{{q.question.name, RRType::kA, RRClass::kIN, 60, A("10.0.0.1")},
                               {q.question.name, RRType::kA, RRClass::kIN, 30, A("10.0.0.2")}};
  });
  auto m = ask("Host.dyn.example.test.", RRType::kA);
  ASSERT_EQ(m.answers.size(), 3u);  // two A (one RRset, the lower TTL) and their RRSIG
  EXPECT_EQ(m.answers[0].ttl, 30u);
  EXPECT_EQ(m.answers[1].ttl, 30u);
  EXPECT_EQ(sigs_over(m.answers, RRType::kA).size(), 1u);

  // NODATA for another type: the NSEC lists the handler's types, so a
  // resolver's aggressive NSEC cache never denies the A.
  for (auto name : {"host.dyn.example.test.", "empty.dyn.example.test."}) {
    auto nodata = ask(name, RRType::kAAAA);
    EXPECT_EQ(nodata.rcode(), 0) << name;
    auto n = nsecs(nodata.authority);
    ASSERT_EQ(n.size(), 1u) << name;
    EXPECT_EQ(owners_of(nodata.authority, RRType::kNSEC)[0], name);
    EXPECT_TRUE(n[0].types.contains(RRType::kA));
    EXPECT_FALSE(n[0].types.contains(RRType::kAAAA));
  }
  // The name above the pattern's wildcard has names below it: an empty
  // non-terminal (NODATA), never NXDOMAIN, which would deny the handler's names.
  for (bool dnssec_ok : {false, true}) {
    auto ent = ask("dyn.example.test.", RRType::kA, dnssec_ok);
    EXPECT_EQ(ent.rcode(), 0);
    if (!dnssec_ok) continue;
    ASSERT_EQ(owners_of(ent.authority, RRType::kNSEC), std::vector<std::string>{"dyn.example.test."});
    EXPECT_EQ(nsecs(ent.authority)[0].types.types, (std::vector<RRType>{RRType::kRRSIG, RRType::kNSEC}));
  }
  // A name below one a pattern matches: NXDOMAIN, with a closest encloser
  // that keeps the handler's name alive.
  add_handler("leaf.example.test", {RRType::kA}, [](const Query&) { return std::vector<Record>{}; });
  auto nx = ask("x.y.leaf.example.test.", RRType::kA);
  EXPECT_EQ(nx.rcode(), 3);
  EXPECT_TRUE(covered(nx.authority, N("y.leaf.example.test.")));
  EXPECT_TRUE(covered(nx.authority, N("*.leaf.example.test.")));
  EXPECT_FALSE(covered(nx.authority, N("leaf.example.test.")));
}

TEST_F(SignedResponderTest, HandlersOfEveryTypeKeepEveryOtherTypeInTheBitmap) {
  add_handler("any.example.test", {}, [](const Query&) { return std::vector<Record>{}; });
  auto n = nsecs(ask("any.example.test.", RRType::kTXT).authority);
  ASSERT_EQ(n.size(), 1u);
  for (auto t : {RRType::kA, RRType::kAAAA, RRType::kMX, RRType::kCAA}) EXPECT_TRUE(n[0].types.contains(t));
  for (auto t : {RRType::kTXT, RRType::kCNAME, RRType::kNS, RRType::kSOA, RRType::kDS, RRType::kDNAME})
    EXPECT_FALSE(n[0].types.contains(t)) << to_string(t);
}

// Names no handler reaches get their denial from the chain: the NSECs are the
// chain's (owners are names of the zone, next names the following ones), and
// nothing is signed at answer time.
TEST_F(SignedResponderTest, TheChainProvesNamesNoHandlerReaches) {
  add_handler("*.dyn.example.test", {RRType::kA}, [](const Query&) { return std::vector<Record>{}; });
  build_chain();
  const auto made = signer().signatures_made();  // the chain signed the NSECs and the negative SOA

  auto nx = ask("nope.example.test.", RRType::kA);
  EXPECT_EQ(nx.rcode(), 3);
  // alias < dyn (the region) < dyn\\000 < mail < nope < ns1: mail's NSEC
  // covers nope, the apex's covers *.example.test.
  EXPECT_EQ(owners_of(nx.authority, RRType::kNSEC),
            (std::vector<std::string>{"mail.example.test.", "example.test."}));
  EXPECT_TRUE(covered(nx.authority, N("nope.example.test.")));
  EXPECT_TRUE(covered(nx.authority, N("*.example.test.")));
  EXPECT_EQ(sigs_over(nx.authority, RRType::kNSEC).size(), 2u);
  EXPECT_EQ(sigs_over(nx.authority, RRType::kSOA).size(), 1u);
  auto deep = ask("a.b.zzz.example.test.", RRType::kA);  // after www, the last: wraps
  EXPECT_EQ(owners_of(deep.authority, RRType::kNSEC),
            (std::vector<std::string>{"www.example.test.", "example.test."}));

  auto nodata = ask("www.example.test.", RRType::kTXT);
  EXPECT_EQ(nodata.rcode(), 0);
  ASSERT_EQ(owners_of(nodata.authority, RRType::kNSEC), std::vector<std::string>{"www.example.test."});
  EXPECT_EQ(nsecs(nodata.authority)[0].next.to_string(), "example.test.");

  // An empty non-terminal (wild, above *.wild): NODATA, the covering NSEC ends below it.
  auto ent = ask("wild.example.test.", RRType::kA);
  EXPECT_EQ(ent.rcode(), 0);
  auto ent_nsecs = nsecs(ent.authority);
  ASSERT_EQ(ent_nsecs.size(), 1u);
  EXPECT_EQ(ent_nsecs[0].next.to_string(), "*.wild.example.test.");

  // The wildcard has no TXT, and the name itself does not exist: the same
  // NSEC says both, written once.
  auto wnd = ask("x.wild.example.test.", RRType::kTXT);
  EXPECT_EQ(owners_of(wnd.authority, RRType::kNSEC), std::vector<std::string>{"*.wild.example.test."});
  EXPECT_TRUE(covered(wnd.authority, N("x.wild.example.test.")));

  // No DS at the cut.
  auto referral = ask("host.sub.example.test.", RRType::kA);
  ASSERT_EQ(owners_of(referral.authority, RRType::kNSEC), std::vector<std::string>{"sub.example.test."});
  EXPECT_EQ(signer().signatures_made(), made);

  // The name just after the region has an NSEC in the chain: it exists (NODATA), and so does its subtree's
  // parent.
  auto after = ask("dyn\\000.example.test.", RRType::kA);
  EXPECT_EQ(after.rcode(), 0);
  auto below_after = ask("x.dyn\\000.example.test.", RRType::kA);
  EXPECT_EQ(below_after.rcode(), 3);
  EXPECT_TRUE(covered(below_after.authority, N("x.dyn\\000.example.test.")));
  EXPECT_TRUE(covered(below_after.authority, N("*.dyn\\000.example.test.")));
}

TEST_F(SignedResponderTest, HandlerRegionsKeepWhiteLiesBesideTheChain) {
  add_handler("*.dyn.example.test", {RRType::kA}, [](const Query&) { return std::vector<Record>{}; });
  build_chain();
  // The region's root exists (NODATA) and its NSEC is a white lie at it.
  auto root = ask("dyn.example.test.", RRType::kA);
  EXPECT_EQ(root.rcode(), 0);
  ASSERT_EQ(owners_of(root.authority, RRType::kNSEC), std::vector<std::string>{"dyn.example.test."});
  EXPECT_EQ(nsecs(root.authority)[0].next.to_string(), "\\000.dyn.example.test.");
  // A handler's NODATA: a white lie listing its types.
  auto h = ask("host.dyn.example.test.", RRType::kTXT);
  ASSERT_EQ(owners_of(h.authority, RRType::kNSEC), std::vector<std::string>{"host.dyn.example.test."});
  EXPECT_TRUE(nsecs(h.authority)[0].types.contains(RRType::kA));
  // A name below the region that no pattern matches... is matched by `*`
  // (it crosses dots); it is NODATA from handlers, white lies again.
  const auto made = signer().signatures_made();
  ask("other.dyn.example.test.", RRType::kTXT);
  EXPECT_GT(signer().signatures_made(), made);
}

}  // namespace
}  // namespace basalt::dns
