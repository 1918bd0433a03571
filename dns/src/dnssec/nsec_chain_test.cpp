// The precomputed NSEC chain: which names it holds, in which order, what each
// NSEC lists and proves, and where handlers' regions leave it to white lies.
// (That validators accept its answers: tests/integration/dns/dnssec_denial_test.cpp.)
#include "basalt/dns/dnssec/nsec_chain.hpp"

#include <gtest/gtest.h>

#include "basalt/dns/wire/base32hex.hpp"
#include "basalt/dns/wire/rdata_types.hpp"
#include "basalt/dns/zone/zone_parser.hpp"

namespace basalt::dns {
namespace {

constexpr std::string_view kZone = R"(
$ORIGIN example.test.
$TTL 3600
@          IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
@          IN NS  ns1
@          IN MX  10 ns1
ns1        IN A   192.0.2.53
WWW        IN A   192.0.2.80
www        IN AAAA 2001:db8::80
a.b.deep   IN A   192.0.2.1
*.wild     IN A   192.0.2.99
sub        IN NS  ns.sub
ns.sub     IN A   192.0.2.200
static.dyn IN A   192.0.2.7
)";

Name N(std::string_view s) {
  return *Name::from_text(s);
}

class DenialChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ZoneParseOptions opts;
    opts.origin = N("example.test.");
    zone_ = std::make_shared<const Zone>(Zone::build(opts.origin, parse_zone(kZone, opts)));
    SignerOptions so;
    so.clock = [] { return std::int64_t{1'800'000'000}; };
    so.validity = std::chrono::hours(24 * 14);
    signer_ = std::make_shared<const ZoneSigner>(
        opts.origin,
        std::vector<SigningKey>{SigningKey::generate(Algorithm::kEd25519, SigningKey::kKskFlags, 0)}, so);
  }

  std::shared_ptr<const DenialChain> chain(std::vector<std::string_view> patterns_suffixes,
                                           bool fallback = false) {
    std::vector<std::optional<Name>> suffixes;
    for (auto s : patterns_suffixes) suffixes.push_back(N(s));
    return DenialChain::build(zone_, DenialRegions::of(zone_->apex(), suffixes, fallback), signer_);
  }

  static std::vector<std::string> owners(const DenialChain& c) {
    std::vector<std::string> out;
    for (const auto& n : c.records()) out.push_back(n.owner.to_string());
    return out;
  }
  static rdata::NSEC decode(const DenialChain::Nsec& n) { return *rdata::NSEC::decode(n.rdata.front()); }

  std::shared_ptr<const Zone> zone_;
  std::shared_ptr<const ZoneSigner> signer_;
};

TEST_F(DenialChainTest, HoldsTheNamesWithDataInCanonicalOrderAroundTheRegions) {
  auto c = chain({"dyn.example.test."});
  // Empty non-terminals (deep, b.deep, wild), glue (ns.sub) and names in the
  // region (static.dyn) have no NSEC; the gap after the region is owned by dyn\000.
  EXPECT_EQ(owners(*c),
            (std::vector<std::string>{"example.test.", "a.b.deep.example.test.", "dyn\\000.example.test.",
                                      "ns1.example.test.", "sub.example.test.", "*.wild.example.test.",
                                      "www.example.test."}));
  std::vector<std::string> nexts;
  for (const auto& n : c->records()) nexts.push_back(decode(n).next.to_string());
  // The NSEC before the region ends at its root, which therefore exists; the last wraps to the apex.
  EXPECT_EQ(nexts, (std::vector<std::string>{"a.b.deep.example.test.", "dyn.example.test.",
                                             "ns1.example.test.", "sub.example.test.", "*.wild.example.test.",
                                             "www.example.test.", "example.test."}));
}

TEST_F(DenialChainTest, BitmapsListTheAuthoritativeTypes) {
  auto c = chain({"dyn.example.test."});
  auto apex = decode(*c->nsec_at(N("example.test.")));
  EXPECT_EQ(apex.types.types,
            (std::vector<RRType>{RRType::kNS, RRType::kSOA, RRType::kMX, RRType::kRRSIG, RRType::kNSEC,
                                 RRType::kDNSKEY, RRType::kCDS, RRType::kCDNSKEY}));
  EXPECT_EQ(decode(*c->nsec_at(N("www.example.test."))).types.types,
            (std::vector<RRType>{RRType::kA, RRType::kAAAA, RRType::kRRSIG, RRType::kNSEC}));
  // A cut: NS (and DS if any), not the glue below it.
  EXPECT_EQ(decode(*c->nsec_at(N("sub.example.test."))).types.types,
            (std::vector<RRType>{RRType::kNS, RRType::kRRSIG, RRType::kNSEC}));
  EXPECT_EQ(decode(*c->nsec_at(N("dyn\\000.example.test."))).types.types,
            (std::vector<RRType>{RRType::kRRSIG, RRType::kNSEC}));
  EXPECT_EQ(c->nsec_at(N("dyn.example.test.")), nullptr);
  EXPECT_EQ(c->nsec_at(N("ns.sub.example.test.")), nullptr);
}

TEST_F(DenialChainTest, CoversNamesThatDoNotExistAndEmptyNonTerminals) {
  auto c = chain({"dyn.example.test."});
  auto covering = [&](std::string_view name) { return c->nsec_covering(N(name)).owner.to_string(); };
  EXPECT_EQ(covering("nope.example.test."), "dyn\\000.example.test.");
  EXPECT_EQ(covering("a.nope.example.test."), "dyn\\000.example.test.");
  EXPECT_EQ(covering("*.example.test."), "example.test.");
  EXPECT_EQ(covering("zzz.example.test."), "www.example.test.");  // the last: wraps to the apex
  EXPECT_EQ(covering("x.www.example.test."), "www.example.test.");
  EXPECT_EQ(covering("dya.example.test."), "a.b.deep.example.test.");    // just before the region
  EXPECT_EQ(covering("dyn-x.example.test."), "dyn\\000.example.test.");  // just after it
  // An empty non-terminal: covered by an NSEC whose next name is below it.
  EXPECT_EQ(covering("b.deep.example.test."), "example.test.");
  EXPECT_TRUE(
      decode(c->nsec_covering(N("b.deep.example.test."))).next.is_subdomain_of(N("b.deep.example.test.")));
  EXPECT_EQ(covering("www.example.test."), "www.example.test.");  // a name with data: its own
  EXPECT_EQ(covering("WWW.Example.TEST."), "www.example.test.");
  for (const auto& n : c->records()) {
    EXPECT_EQ(c->nsec_at(n.owner), &n) << n.owner.to_string();
    EXPECT_EQ(&c->nsec_covering(n.owner), &n) << n.owner.to_string();
  }
  // Labels with octets that sort before and after letters, and a prefix label.
  EXPECT_EQ(covering("dyn\\000\\001.example.test."), "dyn\\000.example.test.");
  EXPECT_EQ(covering("ww.example.test."), "*.wild.example.test.");
  EXPECT_EQ(covering("www\\255.example.test."), "www.example.test.");
  EXPECT_EQ(covering("\\000.example.test."), "example.test.");

  EXPECT_TRUE(c->answers(N("nope.example.test.")));
  EXPECT_TRUE(c->answers(N("dyn-x.example.test.")));
  EXPECT_FALSE(c->answers(N("dyn.example.test.")));
  EXPECT_FALSE(c->answers(N("a.b.DYN.example.test.")));
}

TEST_F(DenialChainTest, IsSignedOnceWithTheSignersTimes) {
  auto before = signer_->signatures_made();
  auto c = chain({});
  EXPECT_EQ(signer_->signatures_made() - before, c->records().size() + 1);  // and the negative SOA
  ASSERT_EQ(c->negative_soa_signatures().size(), 1u);
  EXPECT_EQ(rdata::RRSIG::decode(c->negative_soa_signatures()[0])->type_covered, RRType::kSOA);
  EXPECT_EQ(rdata::RRSIG::decode(c->negative_soa_signatures()[0])->original_ttl, 300u);
  EXPECT_EQ(signer_->cached(), 0u);  // the chain keeps its own signatures
  EXPECT_EQ(c->ttl(), 300u);         // the SOA minimum (RFC 9077)
  for (const auto& n : c->records()) {
    ASSERT_EQ(n.signatures.size(), 1u);
    auto sig = *rdata::RRSIG::decode(n.signatures[0]);
    EXPECT_EQ(sig.type_covered, RRType::kNSEC);
    EXPECT_EQ(static_cast<std::size_t>(sig.labels), n.owner.label_count() - (n.owner.is_wildcard() ? 1 : 0))
        << n.owner.to_string();
    EXPECT_EQ(sig.expiration, 1'800'000'000u + 14 * 86400);
  }
  EXPECT_EQ(c->refresh_at(), signer_->refresh_at(1'800'000'000));
  // Without regions the chain is whole: static.dyn is in it, no gap owners.
  EXPECT_EQ(c->records().size(), 7u);
  EXPECT_TRUE(c->built_for(*zone_, DenialRegions{}, *signer_));
  EXPECT_FALSE(
      c->built_for(*zone_, DenialRegions{.everything = false, .roots = {N("dyn.example.test.")}}, *signer_));
}

TEST_F(DenialChainTest, RegionsComeFromLiteralSuffixes) {
  const Name apex = N("example.test.");
  auto of = [&](std::vector<std::string_view> suffixes, bool fallback = false) {
    std::vector<std::optional<Name>> s;
    for (auto x : suffixes) s.push_back(x.empty() ? std::nullopt : std::optional<Name>(N(x)));
    return DenialRegions::of(apex, s, fallback);
  };
  EXPECT_EQ(of({"Dyn.example.test.", "a.dyn.example.test.", "other.test.", "leaf.example.test."}).roots,
            (std::vector<Name>{N("dyn.example.test."), N("leaf.example.test.")}));
  EXPECT_TRUE(of({"example.test."}).everything);  // `foo*.example.test`
  EXPECT_TRUE(of({"test."}).everything);          // a pattern above the zone
  EXPECT_TRUE(of({""}).everything);               // no literal suffix
  EXPECT_TRUE(of({}, true).everything);           // a fallback handler
  EXPECT_FALSE(of({}).everything);

  auto all = chain({"example.test."});
  EXPECT_TRUE(all->records().empty());
  EXPECT_FALSE(all->answers(N("nope.example.test.")));
}

TEST_F(DenialChainTest, AdjacentRegionsNeedNoGapBetweenThem) {
  auto c = chain({"a.example.test.", "a\\000.example.test."});
  EXPECT_EQ(c->nsec_at(N("a\\000.example.test.")), nullptr);
  ASSERT_NE(c->nsec_at(N("a\\000\\000.example.test.")), nullptr);
  EXPECT_EQ(decode(*c->nsec_at(N("example.test."))).next.to_string(), "a.example.test.");
}

// NSEC3 (RFC 5155 §7.1): one NSEC3 per name with data and per empty
// non-terminal, none for glue, ordered by hash, each pointing at the next.
class Nsec3ChainTest : public DenialChainTest {
 protected:
  void SetUp() override {
    DenialChainTest::SetUp();
    SignerOptions so;
    so.clock = [] { return std::int64_t{1'800'000'000}; };
    so.nsec3 = Nsec3Params{};
    signer_ = std::make_shared<const ZoneSigner>(
        N("example.test."),
        std::vector<SigningKey>{SigningKey::generate(Algorithm::kEd25519, SigningKey::kKskFlags, 0)}, so);
  }
  static rdata::NSEC3 decode3(const DenialChain::Nsec& n) { return *rdata::NSEC3::decode(n.rdata.front()); }
  const DenialChain::Nsec* matching(const DenialChain& c, std::string_view name) const {
    // The record owned by the name's hash, found by owner, not through the chain's lookups.
    const auto label = base32hex_encode(nsec3_hash(N(name), *signer_->nsec3()), true);
    for (const auto& r : c.records()) {
      if (r.owner.label(0) == label) return &r;
    }
    return nullptr;
  }
};

TEST_F(Nsec3ChainTest, HoldsNamesAndEmptyNonTerminalsInHashOrder) {
  auto c = chain({});
  ASSERT_TRUE(c->nsec3());
  EXPECT_EQ(c->type(), RRType::kNSEC3);
  // apex, ns1, www, a.b.deep, b.deep, deep, *.wild, wild, sub, static.dyn, dyn: 11; not ns.sub (glue).
  ASSERT_EQ(c->records().size(), 11u);
  for (auto name : {"example.test.", "deep.example.test.", "b.deep.example.test.", "wild.example.test.",
                    "dyn.example.test.", "sub.example.test.", "*.wild.example.test."}) {
    EXPECT_NE(matching(*c, name), nullptr) << name;
  }
  EXPECT_EQ(matching(*c, "ns.sub.example.test."), nullptr);
  EXPECT_EQ(matching(*c, "nope.example.test."), nullptr);
  // Each record's next hash is the following owner's; the last wraps to the first.
  const auto& r = c->records();
  for (std::size_t i = 0; i < r.size(); ++i) {
    const auto next = decode3(r[i]).next_hashed_owner;
    const auto following = r[(i + 1) % r.size()].owner;
    EXPECT_EQ(base32hex_encode(next, true), std::string(following.label(0)));
    EXPECT_LT(std::string(r[i].owner.label(0)), i + 1 < r.size() ? std::string(following.label(0)) : "w");
    EXPECT_FALSE(r[i].signatures.empty());
  }
}

TEST_F(Nsec3ChainTest, BitmapsListWhatIsThere) {
  auto c = chain({});
  auto types = [&](std::string_view name) { return decode3(*matching(*c, name)).types.types; };
  EXPECT_EQ(types("example.test."),
            (std::vector<RRType>{RRType::kNS, RRType::kSOA, RRType::kMX, RRType::kRRSIG, RRType::kDNSKEY,
                                 RRType::kNSEC3PARAM, RRType::kCDS, RRType::kCDNSKEY}));
  EXPECT_EQ(types("deep.example.test."), std::vector<RRType>{});            // empty non-terminal
  EXPECT_EQ(types("sub.example.test."), std::vector<RRType>{RRType::kNS});  // insecure delegation
  EXPECT_EQ(types("www.example.test."), (std::vector<RRType>{RRType::kA, RRType::kAAAA, RRType::kRRSIG}));
}

TEST_F(Nsec3ChainTest, CoversEveryOtherHash) {
  auto c = chain({});
  for (auto name : {"nope.example.test.", "*.example.test.", "x.www.example.test.", "zzzz.example.test."}) {
    const auto hash = nsec3_hash(N(name), *signer_->nsec3());
    const auto& cover = c->nsec3_covering(hash);
    const auto owner = *base32hex_decode(cover.owner.label(0));
    const auto next = decode3(cover).next_hashed_owner;
    const Bytes h(hash.begin(), hash.end());
    // owner < h < next, or the wrap-around record: h after the last owner or before the first.
    if (Bytes(owner.begin(), owner.end()) < next) {
      EXPECT_TRUE(Bytes(owner.begin(), owner.end()) < h && h < next) << name;
    } else {
      EXPECT_TRUE(Bytes(owner.begin(), owner.end()) < h || h < next) << name;
    }
  }
}

TEST_F(Nsec3ChainTest, EnclosersAreFoundByNameWithTheirWildcardsCover) {
  auto c = chain({});
  for (auto name : {"example.test.", "deep.example.test.", "WWW.example.test."}) {
    auto e = c->nsec3_encloser(N(name));
    ASSERT_TRUE(e) << name;
    EXPECT_EQ(e->matching, matching(*c, name)) << name;
    const auto wildcard = nsec3_hash(*N(name).prepend("*"), *signer_->nsec3());
    EXPECT_EQ(e->wildcard_cover, &c->nsec3_covering(wildcard)) << name;
  }
  EXPECT_FALSE(c->nsec3_encloser(N("nope.example.test.")));
  EXPECT_FALSE(c->nsec3_encloser(N("ns.sub.example.test.")));  // glue
}

TEST_F(Nsec3ChainTest, AnyHandlerRegionLeavesTheWholeZoneToWhiteLies) {
  auto c = chain({"dyn.example.test."});
  EXPECT_TRUE(c->records().empty());
  EXPECT_FALSE(c->answers(N("nope.example.test.")));
  EXPECT_FALSE(DenialChain::possible(c->regions(), *signer_));
}

}  // namespace
}  // namespace basalt::dns
