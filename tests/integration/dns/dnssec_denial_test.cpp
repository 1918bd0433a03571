// Signed denial from the precomputed NSEC chain and from white lies, judged
// by real validators on loopback.
//
// For each algorithm (ECDSA P-256, Ed25519, RSA/SHA-256) one signed
// dns::Server holds zone data and two handler regions (`*.dyn.example.test`
// and `leaf.example.test`). delv (BIND 9.18) and unbound, with the served SEP
// DNSKEY as trust anchor, validate: NXDOMAIN and NODATA from the chain
// (before, after and far from a region, an empty non-terminal, the insecure
// delegation, a wildcard answer and a wildcard NODATA), and NXDOMAIN and
// NODATA in the handler regions (white lies). unbound asks the chain's names
// first, so its aggressive NSEC cache (RFC 8198) holds the chain when it is
// asked about the handlers' names, which must still be answered. 100 random
// NXDOMAIN queries sign nothing (the dnssec_signatures metric stays put). A
// zone replaced through Server::put_zone gets a new chain: its new names
// validate, its removed ones are NXDOMAIN.
//
// NSEC3 (dnssec.denial: nsec3), for each algorithm: the same cases from the
// NSEC3 chain (a server without handlers) and from NSEC3 white lies (with
// them), validated by delv and unbound; chain answers sign nothing and the
// apex serves NSEC3PARAM. And for NSEC and NSEC3, a chain re-signed in the
// background (every second here) still validates.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <sstream>
#include <thread>

#include "basalt/dns/server/server.hpp"
#include "basalt/dns/wire/message.hpp"
#include "basalt/dns/wire/rdata_types.hpp"
#include "basalt/dns/zone/zone_parser.hpp"
#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"
#include "dig.hpp"
#include "unbound.hpp"

namespace basalt::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::string_view kZone = R"($ORIGIN example.test.
$TTL 3600
@        IN SOA  ns1 hostmaster 2026120101 7200 3600 1209600 300
@        IN NS   ns1
@        IN MX   10 mail
ns1      IN A    127.0.0.1
mail     IN A    192.0.2.25
www      IN A    192.0.2.80
a.deep   IN A    192.0.2.81
*.apps   IN A    192.0.2.99
sub      IN NS   ns.sub
ns.sub   IN A    192.0.2.53
)";

// The same zone, changed: `new` added, `www` gone.
constexpr std::string_view kChangedZone = R"($ORIGIN example.test.
$TTL 3600
@        IN SOA  ns1 hostmaster 2026120102 7200 3600 1209600 300
@        IN NS   ns1
@        IN MX   10 mail
ns1      IN A    127.0.0.1
mail     IN A    192.0.2.25
new      IN A    192.0.2.82
a.deep   IN A    192.0.2.81
*.apps   IN A    192.0.2.99
sub      IN NS   ns.sub
ns.sub   IN A    192.0.2.53
)";

// The served SEP DNSKEY's RDATA ("257 3 ALG KEY"), the key joined into one word.
std::string served_sep_key(std::uint16_t port) {
  auto out = dig(port, {"example.test", "DNSKEY", "+noall", "+answer", "+nosplit"}).out;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream w(line);
    std::string owner, ttl, cls, type, flags, protocol, algorithm, key;
    if (!(w >> owner >> ttl >> cls >> type >> flags >> protocol >> algorithm)) continue;
    if (type != "DNSKEY" || flags != "257") continue;
    for (std::string part; w >> part;) key += part;
    return flags + " " + protocol + " " + algorithm + " " + key;
  }
  return {};
}

// delv validating with `key` (a DNSKEY RDATA) as the only trust anchor.
class Delv {
 public:
  Delv(const std::string& dir, std::uint16_t port, const std::string& key)
      : port_(port), anchor_(dir + "/anchor.conf") {
    std::istringstream w(key);
    std::string flags, protocol, algorithm, k;
    w >> flags >> protocol >> algorithm >> k;
    std::ofstream(anchor_) << "trust-anchors {\n  example.test. static-key " << flags << " " << protocol
                           << " " << algorithm << " \"" << k << "\";\n};\n";
  }
  RunResult query(const std::string& name, const std::string& type) const {
    return run({"delv", "@127.0.0.1", "-p", std::to_string(port_), "-a", anchor_, "+root=example.test",
                "+nosplit", "+norrcomments", "-q", name, "-t", type});
  }

 private:
  std::uint16_t port_;
  std::string anchor_;
};

// delv 9.18 on a validated negative answer: "; negative response, fully
// validated" and the negative cache entry (";-$NXDOMAIN" / ";-$NXRRSET").
bool validated_negative(const RunResult& r, const std::string& kind) {
  return contains(r.out, "; negative response, fully validated\n") && contains(r.out, ";-$" + kind);
}
bool fully_validated(const RunResult& r) {
  return contains(r.out, "; fully validated\n");
}

struct AlgorithmCase {
  std::string name;
};
void PrintTo(const AlgorithmCase& a, std::ostream* os) {
  *os << a.name;
}
const AlgorithmCase kAlgorithms[] = {{"ecdsa-p256"}, {"ed25519"}, {"rsa-sha256"}};

dns::Record a_record(const dns::Name& owner, std::string_view address) {
  std::string err;
  return dns::Record{owner, dns::RRType::kA, dns::RRClass::kIN, 60,
                     *dns::rdata_from_text(dns::RRType::kA, address, dns::Name(), &err)};
}

dns::Zone parse(std::string_view text) {
  dns::ZoneParseOptions opts;
  opts.origin = *dns::Name::from_text("example.test.");
  return dns::Zone::build(opts.origin, dns::parse_zone(text, opts), {.synthesize_soa_ns = false});
}

struct SignedServer {
  struct Options {
    std::string denial = "nsec";
    bool handlers = true;  // the two handler regions
    // Re-sign when less than this of the signatures' validity (1h) is left.
    std::chrono::milliseconds refresh{0};
  };
  explicit SignedServer(const std::string& algorithm) : SignedServer(algorithm, Options{}) {}
  SignedServer(const std::string& algorithm, const Options& o) : port(free_port()) {
    std::ofstream(dir.file("example.test.zone")) << kZone;
    dns::ServerConfig c;
    c.listen = {*core::Endpoint::parse("127.0.0.1:" + std::to_string(port))};
    c.zones = {{.file = dir.file("example.test.zone")}};
    c.state_dir = dir.path();
    c.workers = 1;
    c.dnssec = dns::DnssecConfig{.zone = "example.test", .algorithm = algorithm, .key_dir = dir.file("keys")};
    c.dnssec->denial = o.denial;
    if (o.refresh.count() > 0) {
      c.dnssec->signature_validity = std::chrono::hours(1);
      c.dnssec->signature_refresh = o.refresh;
    }
    server = std::make_unique<dns::Server>(c);
    if (o.handlers) add_handlers();
    server->start();
    key = served_sep_key(port);
  }

  void add_handlers() {
    // h1 has an A; every other name under dyn has none (NODATA).
    server->handle("*.dyn.example.test", {dns::RRType::kA}, [](const dns::Query& q) {
      std::vector<dns::Record> out;
      if (q.question.name == *dns::Name::from_text("h1.dyn.example.test.")) {
        out.push_back(a_record(q.question.name, "192.0.2.101"));
      }
      return out;
    });
    server->handle("leaf.example.test", {dns::RRType::kA}, [](const dns::Query& q) {
      return std::vector<dns::Record>{a_record(q.question.name, "192.0.2.102")};
    });
  }

  // The response to `name type` with DO, through the C++ API.
  dns::Message ask(const std::string& name, dns::RRType type) const {
    dns::Message q;
    q.header.id = 1;
    q.questions.push_back({*dns::Name::from_text(name), type, dns::RRClass::kIN});
    dns::Edns e;
    e.udp_payload_size = 1232;
    e.dnssec_ok = true;
    q.edns = e;
    auto wire = server->process_packet(q.to_wire());
    dns::Message m;
    EXPECT_EQ(dns::Message::parse(wire, m), dns::WireError::kOk);
    return m;
  }

  TempDir dir;  // first: outlives the server
  std::uint16_t port;
  std::unique_ptr<dns::Server> server;
  std::string key;  // the served SEP DNSKEY: the trust anchor
};

// The owners of the NSECs in an answer's authority section.
std::vector<std::string> nsec_owners(const dns::Message& m) {
  std::vector<std::string> out;
  for (const auto& r : m.authority) {
    if (r.type == dns::RRType::kNSEC) out.push_back(r.owner.to_string());
  }
  return out;
}

// "ecdsa_p256" for the case "ecdsa-p256".
std::string algorithm_test_name(const ::testing::TestParamInfo<AlgorithmCase>& info) {
  auto name = info.param.name;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

class DnssecDenialTest : public ::testing::TestWithParam<AlgorithmCase> {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_TOOL("dig");
    BASALT_REQUIRE_TOOL("delv");
    BASALT_REQUIRE_TOOL("unbound");
    auto& slot = servers()[GetParam().name];
    if (!slot) slot = std::make_unique<SignedServer>(GetParam().name);
    s_ = slot.get();
    ASSERT_FALSE(s_->key.empty()) << "no SEP (257) DNSKEY served at the apex";
  }
  static void TearDownTestSuite() { servers().clear(); }
  static std::map<std::string, std::unique_ptr<SignedServer>>& servers() {
    static std::map<std::string, std::unique_ptr<SignedServer>> m;
    return m;
  }
  SignedServer* s_ = nullptr;
};

struct Case {
  std::string name, type;
  std::string kind;  // delv: "answer", "NXDOMAIN" or "NXRRSET"
};

// From the chain: names no handler reaches. Then the handlers' regions (white lies).
const Case kChainCases[] = {
    {"nope.example.test", "A", "NXDOMAIN"},     // between two names of the zone
    {"zzz.example.test", "A", "NXDOMAIN"},      // after the last: the NSEC wraps to the apex
    {"a.b.www.example.test", "A", "NXDOMAIN"},  // below a name with data
    {"dya.example.test", "A", "NXDOMAIN"},      // just before the region dyn: the NSEC ends at dyn
    {"dyn-x.example.test", "A", "NXDOMAIN"},    // just after it: the NSEC from dyn\000
    {"x.leafy.example.test", "A", "NXDOMAIN"},  // after the region leaf
    {"www.example.test", "TXT", "NXRRSET"},     // NODATA
    {"deep.example.test", "A", "NXRRSET"},      // an empty non-terminal
    {"sub.example.test", "DS", "NXRRSET"},      // the insecure delegation
    {"x.apps.example.test", "A", "answer"},     // a wildcard answer: no closer name
    {"x.apps.example.test", "TXT", "NXRRSET"},  // wildcard NODATA
    {"x.y.apps.example.test", "A", "answer"},
};
const Case kRegionCases[] = {
    {"h1.dyn.example.test", "A", "answer"},
    {"empty.dyn.example.test", "A", "NXRRSET"},
    {"h1.dyn.example.test", "TXT", "NXRRSET"},
    {"dyn.example.test", "A", "NXRRSET"},  // the region's root: names below it exist
    {"leaf.example.test", "A", "answer"},
    {"leaf.example.test", "TXT", "NXRRSET"},
    {"x.leaf.example.test", "A", "NXDOMAIN"},  // below an exact pattern: white lies
};

void expect_delv_validates(const SignedServer& s, std::span<const Case> cases) {
  Delv delv(s.dir.path(), s.port, s.key);
  for (const auto& c : cases) {
    auto r = delv.query(c.name, c.type);
    bool ok = c.kind == "answer" ? fully_validated(r) : validated_negative(r, c.kind);
    EXPECT_TRUE(ok) << c.name << " " << c.type << " (" << c.kind << "):\n" << r.out << r.err;
  }
}

TEST_P(DnssecDenialTest, DelvValidatesTheChainAndTheWhiteLies) {
  expect_delv_validates(*s_, kChainCases);
  expect_delv_validates(*s_, kRegionCases);
}

TEST_P(DnssecDenialTest, UnboundValidatesWithTheChainInItsAggressiveCache) {
  Unbound unbound(s_->dir.path(), s_->port, s_->key, /*aggressive_nsec=*/true);
  ASSERT_TRUE(unbound.wait_ready("mail.example.test", "192.0.2.25")) << "unbound did not start";
  for (std::span<const Case> cases :
       {std::span<const Case>(kChainCases), std::span<const Case>(kRegionCases)}) {
    for (const auto& c : cases) {
      auto r = unbound.query(c.name, c.type);
      std::string status = c.kind == "NXDOMAIN" ? "NXDOMAIN" : "NOERROR";
      EXPECT_TRUE(validated_by_unbound(r, status)) << c.name << " " << c.type << ":\n" << r.out;
      if (c.kind == "answer") {
        EXPECT_FALSE(contains(r.out, "ANSWER: 0,")) << c.name << "\n" << r.out;
      }
    }
  }
  // Names of the regions unbound has not seen yet, after the chain's NSECs around them are cached.
  auto h1 = unbound.query("h1.dyn.example.test", "A");
  EXPECT_TRUE(contains(h1.out, "192.0.2.101")) << h1.out;
  auto fresh = unbound.query("fresh.dyn.example.test", "A");
  EXPECT_TRUE(validated_by_unbound(fresh, "NOERROR")) << fresh.out;
}

TEST_P(DnssecDenialTest, ChainAnswersAreTheChainsAndSignNothing) {
  // The chain's NSECs are owned by names of the zone, not white lies (\255 / \000 names).
  auto nx = s_->ask("nope.example.test.", dns::RRType::kA);
  EXPECT_EQ(nx.rcode(), 3);
  EXPECT_EQ(nsec_owners(nx), (std::vector<std::string>{"mail.example.test.", "example.test."}));
  auto after = s_->ask("dyn-x.example.test.", dns::RRType::kA);
  EXPECT_EQ(nsec_owners(after), (std::vector<std::string>{"dyn\\000.example.test.", "example.test."}));

  const auto before = s_->server->metrics().dnssec_signatures;
  std::mt19937 rng(42);
  for (int i = 0; i < 100; ++i) {
    auto m = s_->ask("r" + std::to_string(rng()) + ".example.test.", dns::RRType::kA);
    EXPECT_EQ(m.rcode(), 3);
  }
  EXPECT_EQ(s_->server->metrics().dnssec_signatures, before);
  // In a handler region each new name costs a signature.
  s_->ask("r1.leaf.example.test.", dns::RRType::kA);
  EXPECT_GT(s_->server->metrics().dnssec_signatures, before);
}

// The largest ordinary NXDOMAIN: a 63-octet first label, with the chain's
// short NSEC names it fits the 1232-octet EDNS buffer of DNS Flag Day 2020
// (so no TCP retry), RSA-2048 included, with dig's 28-octet cookie echoed.
TEST_P(DnssecDenialTest, ANameWithA63OctetLabelIsDeniedWithin1232Octets) {
  const std::string name = std::string(63, 'q') + ".example.test";
  auto r = dig(s_->port, {name, "A", "+dnssec", "+bufsize=1232", "+norec", "+ignore"});
  EXPECT_TRUE(contains(r.out, "status: NXDOMAIN")) << r.out;
  EXPECT_FALSE(contains(r.out, " tc")) << r.out;  // flags: qr aa, no tc
  auto at = r.out.find("MSG SIZE  rcvd: ");
  ASSERT_NE(at, std::string::npos) << r.out;
  EXPECT_LE(std::stoi(r.out.substr(at + 16)), 1232) << r.out;
  Delv delv(s_->dir.path(), s_->port, s_->key);
  auto v = delv.query(name, "A");
  EXPECT_TRUE(validated_negative(v, "NXDOMAIN")) << v.out << v.err;
}

INSTANTIATE_TEST_SUITE_P(Algorithms, DnssecDenialTest, ::testing::ValuesIn(kAlgorithms), algorithm_test_name);

TEST(DnssecDenialChange, AChangedZoneGetsANewChain) {
  BASALT_REQUIRE_TOOL("dig");
  BASALT_REQUIRE_TOOL("delv");
  SignedServer s("ecdsa-p256");
  ASSERT_FALSE(s.key.empty());
  Delv delv(s.dir.path(), s.port, s.key);
  EXPECT_TRUE(validated_negative(delv.query("new.example.test", "A"), "NXDOMAIN"));
  EXPECT_TRUE(fully_validated(delv.query("www.example.test", "A")));

  s.server->put_zone(parse(kChangedZone));
  auto added = delv.query("new.example.test", "A");
  EXPECT_TRUE(fully_validated(added)) << added.out << added.err;
  auto nodata = delv.query("new.example.test", "TXT");
  EXPECT_TRUE(validated_negative(nodata, "NXRRSET")) << nodata.out << nodata.err;
  auto removed = delv.query("www.example.test", "A");
  EXPECT_TRUE(validated_negative(removed, "NXDOMAIN")) << removed.out << removed.err;
  // From the new chain: `new` is in it, www is not.
  EXPECT_EQ(nsec_owners(s.ask("new.example.test.", dns::RRType::kTXT)),
            std::vector<std::string>{"new.example.test."});
  EXPECT_EQ(nsec_owners(s.ask("www.example.test.", dns::RRType::kA)).front(), "sub.example.test.");
}

// NSEC3: for each algorithm, a server without handlers answers from the
// precomputed NSEC3 chain; one with handler regions answers with NSEC3
// white lies everywhere (hashing scatters a region over the whole chain).
class Nsec3DenialTest : public ::testing::TestWithParam<AlgorithmCase> {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_TOOL("dig");
    BASALT_REQUIRE_TOOL("delv");
    BASALT_REQUIRE_TOOL("unbound");
  }
  static void TearDownTestSuite() { servers().clear(); }
  // The server of this algorithm, with or without the handlers.
  static SignedServer& server(bool handlers) {
    auto& slot = servers()[GetParam().name + (handlers ? "+handlers" : "")];
    if (!slot)
      slot = std::make_unique<SignedServer>(GetParam().name,
                                            SignedServer::Options{.denial = "nsec3", .handlers = handlers});
    return *slot;
  }
  static std::map<std::string, std::unique_ptr<SignedServer>>& servers() {
    static std::map<std::string, std::unique_ptr<SignedServer>> m;
    return m;
  }
};

// The NSEC3 records of an answer's authority section: their owners' first labels.
std::vector<std::string> nsec3_hashes(const dns::Message& m) {
  std::vector<std::string> out;
  for (const auto& r : m.authority) {
    if (r.type == dns::RRType::kNSEC3) out.emplace_back(r.owner.label(0));
  }
  return out;
}

void expect_unbound_validates(const SignedServer& s, std::span<const Case> cases) {
  Unbound unbound(s.dir.path(), s.port, s.key);
  ASSERT_TRUE(unbound.wait_ready("mail.example.test", "192.0.2.25")) << "unbound did not start";
  for (const auto& c : cases) {
    auto r = unbound.query(c.name, c.type);
    EXPECT_TRUE(validated_by_unbound(r, c.kind == "NXDOMAIN" ? "NXDOMAIN" : "NOERROR"))
        << c.name << " " << c.type << ":\n"
        << r.out;
  }
}

TEST_P(Nsec3DenialTest, ValidatorsAcceptTheChain) {
  const auto& s = server(false);
  ASSERT_FALSE(s.key.empty());
  expect_delv_validates(s, kChainCases);
  expect_unbound_validates(s, kChainCases);
}

TEST_P(Nsec3DenialTest, ValidatorsAcceptWhiteLiesWhereHandlersReach) {
  const auto& s = server(true);
  ASSERT_FALSE(s.key.empty());
  for (std::span<const Case> cases :
       {std::span<const Case>(kChainCases), std::span<const Case>(kRegionCases)}) {
    expect_delv_validates(s, cases);
    expect_unbound_validates(s, cases);
  }
}

TEST_P(Nsec3DenialTest, ChainAnswersProveTheClosestEncloserAndSignNothing) {
  auto& s = server(false);
  // NXDOMAIN: the closest encloser (the apex), the next closer name and the
  // wildcard, in at most three NSEC3s (two proofs may share one).
  auto nx = s.ask("nope.example.test.", dns::RRType::kA);
  EXPECT_EQ(nx.rcode(), 3);
  auto hashes = nsec3_hashes(nx);
  EXPECT_GE(hashes.size(), 2u);
  EXPECT_LE(hashes.size(), 3u);
  for (const auto& h : hashes) EXPECT_EQ(h.size(), 32u) << h;
  // NODATA at an empty non-terminal: its own NSEC3 (hash of deep.example.test).
  EXPECT_EQ(nsec3_hashes(s.ask("deep.example.test.", dns::RRType::kA)).size(), 1u);
  const auto before = s.server->metrics().dnssec_signatures;
  std::mt19937 rng(7);
  for (int i = 0; i < 100; ++i) {
    auto m = s.ask("r" + std::to_string(rng()) + ".example.test.", dns::RRType::kA);
    EXPECT_EQ(m.rcode(), 3);
  }
  EXPECT_EQ(s.server->metrics().dnssec_signatures, before);
  // The apex serves NSEC3PARAM (RFC 9276: no more iterations, no salt), and it validates.
  auto param = dig(s.port, {"example.test", "NSEC3PARAM", "+short"});
  EXPECT_EQ(param.out, "1 0 0 -\n");
  Delv delv(s.dir.path(), s.port, s.key);
  EXPECT_TRUE(fully_validated(delv.query("example.test", "NSEC3PARAM")));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, Nsec3DenialTest, ::testing::ValuesIn(kAlgorithms), algorithm_test_name);

// The expiration time of the first RRSIG over an NSEC or NSEC3 in `m`'s authority section.
std::uint32_t nsec_signature_expiration(const dns::Message& m) {
  for (const auto& r : m.authority) {
    if (r.type != dns::RRType::kRRSIG) continue;
    auto sig = dns::rdata::RRSIG::decode(r.rdata);
    if (sig && (sig->type_covered == dns::RRType::kNSEC || sig->type_covered == dns::RRType::kNSEC3))
      return sig->expiration;
  }
  return 0;
}

// The chain is re-signed in the background before its signatures are due
// (here every second: validity 1h, re-signed when less than 59m59s is left),
// published in place of the old one, and what it answers then still
// validates: in delv and in a fresh unbound, NXDOMAIN and NODATA; NSEC and NSEC3.
class DnssecDenialResign : public ::testing::TestWithParam<std::string> {};

TEST_P(DnssecDenialResign, AChainReSignedInTheBackgroundValidates) {
  BASALT_REQUIRE_TOOL("dig");
  BASALT_REQUIRE_TOOL("delv");
  BASALT_REQUIRE_TOOL("unbound");
  SignedServer s("ecdsa-p256",
                 {.denial = GetParam(), .handlers = false, .refresh = std::chrono::seconds(3599)});
  ASSERT_FALSE(s.key.empty());
  const auto first = nsec_signature_expiration(s.ask("nope.example.test.", dns::RRType::kA));
  ASSERT_NE(first, 0u);
  // The expiration once it has moved past `than` (or 0 after 10 s).
  auto expiration_after = [&](std::uint32_t than) -> std::uint32_t {
    for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until;) {
      auto e = nsec_signature_expiration(s.ask("nope.example.test.", dns::RRType::kA));
      if (e > than) return e;
      std::this_thread::sleep_for(100ms);
    }
    return 0;
  };
  const auto later = expiration_after(first);
  ASSERT_NE(later, 0u) << "the chain's signatures were not re-made: expiration still " << first;
  // Past one more refresh, so delv and unbound see a chain made after the first re-sign.
  EXPECT_NE(expiration_after(later), 0u);
  Delv delv(s.dir.path(), s.port, s.key);
  auto nx = delv.query("nope.example.test", "A");
  EXPECT_TRUE(validated_negative(nx, "NXDOMAIN")) << nx.out << nx.err;
  auto nodata = delv.query("www.example.test", "TXT");
  EXPECT_TRUE(validated_negative(nodata, "NXRRSET")) << nodata.out << nodata.err;
  Unbound unbound(s.dir.path(), s.port, s.key);
  ASSERT_TRUE(unbound.wait_ready("mail.example.test", "192.0.2.25")) << "unbound did not start";
  EXPECT_TRUE(validated_by_unbound(unbound.query("zzz.example.test", "A"), "NXDOMAIN"));
  EXPECT_TRUE(validated_by_unbound(unbound.query("deep.example.test", "A"), "NOERROR"));
}

INSTANTIATE_TEST_SUITE_P(Denial, DnssecDenialResign, ::testing::Values("nsec", "nsec3"));

}  // namespace
}  // namespace basalt::testing
