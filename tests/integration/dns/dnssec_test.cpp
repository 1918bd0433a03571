// DNSSEC online signing, judged by real validators on loopback.
//
// For each algorithm (ECDSA P-256, Ed25519, RSA/SHA-256) one signed
// dns::Server (zone data and a handler pattern) is shared by the checks:
// delv (BIND 9.18) and unbound, with the served SEP DNSKEY as their trust
// anchor, validate positive, wildcard and CNAME answers, NXDOMAIN and NODATA
// (NSEC white lies), the apex DNSKEY/CDS/CDNSKEY, the insecure delegation,
// handler answers, handler NODATA and the name above the handler pattern
// (it exists: unbound's QNAME minimisation asks it first). A wrong trust
// anchor fails validation. `basalt-dns ds` equals dnssec-dsfromkey's DS of
// the key file and of the served DNSKEY. The daemon (`basalt-dns serve
// --dnssec-zone`) keeps its keys across a restart (.private files 0600),
// uses a key made by dnssec-keygen or ldns-keygen as it is, and serves the key
// `basalt-dns keygen` made.
//
// unbound runs in the foreground with its own config on a free loopback port:
// example.test is a stub zone pointing at our server, "." a stub pointing at
// a closed loopback port, so it never asks anything off loopback.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "basalt/dns/server/server.hpp"
#include "basalt/dns/wire/message.hpp"
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
www      IN AAAA 2001:db8::80
api      IN CNAME www
*.apps   IN A    192.0.2.99
sub      IN NS   ns.sub
ns.sub   IN A    192.0.2.53
)";

// ---------------------------------------------------------------------------
// Reading presentation-format records (dig, delv, .key files, dnssec-dsfromkey).

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) {
    if (w[0] == ';') break;  // a trailing comment
    out.push_back(w);
  }
  return out;
}

bool is_number(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// One record line: owner [TTL] [class] type rdata...
struct Rr {
  std::string owner;  // lowercased
  std::string type;
  std::vector<std::string> rdata;
};

std::optional<Rr> parse_rr(const std::string& line) {
  auto w = words(line);
  if (w.size() < 3) return std::nullopt;
  std::size_t i = 1;
  for (int skip = 0; skip < 2 && i < w.size() && (is_number(w[i]) || w[i] == "IN"); ++skip) ++i;
  if (i + 1 >= w.size()) return std::nullopt;
  return Rr{lower(w[0]), w[i], {w.begin() + static_cast<std::ptrdiff_t>(i) + 1, w.end()}};
}

// Every record of `type` in `text` (comment lines are skipped).
std::vector<Rr> records_of(const std::string& text, const std::string& type) {
  std::vector<Rr> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == ';') continue;
    if (auto rr = parse_rr(line); rr && rr->type == type) out.push_back(*rr);
  }
  return out;
}

// Whether `text` holds `owner type rdata` (TTL and class ignored, rdata
// compared word by word).
bool has_record(const std::string& text, const std::string& owner, const std::string& type,
                const std::string& rdata) {
  for (auto& rr : records_of(text, type)) {
    if (rr.owner == lower(owner) && rr.rdata == words(rdata)) return true;
  }
  return false;
}

// A DNSKEY (or CDNSKEY) with its base64 key joined into one word.
struct Dnskey {
  int flags = 0;
  int protocol = 0;
  int algorithm = 0;
  std::string key;
  bool operator==(const Dnskey&) const = default;
  bool operator<(const Dnskey& o) const { return key < o.key; }
  bool sep() const { return flags & 1; }
  std::string rdata() const {
    return std::to_string(flags) + " " + std::to_string(protocol) + " " + std::to_string(algorithm) + " " +
           key;
  }
};

std::ostream& operator<<(std::ostream& os, const Dnskey& k) {
  return os << k.rdata();
}

std::vector<Dnskey> dnskeys_in(const std::string& text, const std::string& type = "DNSKEY") {
  std::vector<Dnskey> out;
  for (auto& rr : records_of(text, type)) {
    if (rr.rdata.size() < 4) continue;
    Dnskey k{std::stoi(rr.rdata[0]), std::stoi(rr.rdata[1]), std::stoi(rr.rdata[2]), {}};
    for (std::size_t i = 3; i < rr.rdata.size(); ++i) k.key += rr.rdata[i];
    out.push_back(k);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// DS (or CDS) records as "owner DS tag alg digest-type DIGEST", normalised so
// that dig's, dnssec-dsfromkey's and ours compare equal.
std::set<std::string> ds_set(const std::string& text, const std::string& type = "DS") {
  std::set<std::string> out;
  for (auto& rr : records_of(text, type)) {
    if (rr.rdata.size() < 4) continue;
    std::string digest;
    for (std::size_t i = 3; i < rr.rdata.size(); ++i) digest += upper(rr.rdata[i]);
    out.insert(rr.owner + " DS " + rr.rdata[0] + " " + rr.rdata[1] + " " + rr.rdata[2] + " " + digest);
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The key files (`K<zone>.+<alg>+<tag>.key`) in `dir`.
std::vector<std::string> key_files(const std::string& dir, const std::string& extension = ".key") {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir)) {
    auto name = e.path().filename().string();
    if (name.rfind("Kexample.test.+", 0) == 0 && e.path().extension() == extension) {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The DNSKEY RRset our server answers at the apex.
std::vector<Dnskey> served_dnskeys(std::uint16_t port) {
  return dnskeys_in(dig(port, {"example.test", "DNSKEY", "+noall", "+answer", "+nosplit"}).out);
}

std::optional<Dnskey> sep_key(const std::vector<Dnskey>& keys) {
  for (auto& k : keys) {
    if (k.sep()) return k;
  }
  return std::nullopt;
}

// `basalt-dns ds` for the zone's keys in `key_dir`.
RunResult basalt_ds(const std::string& key_dir) {
  return run({binary("basalt-dns"), "ds", "--zone", "example.test", "--key-dir", key_dir});
}

// ---------------------------------------------------------------------------
// The validators.

// A delv trust-anchors file (BIND 9.18 syntax) holding `key` for example.test.
std::string write_delv_anchor(const std::string& path, const Dnskey& key) {
  std::ofstream(path) << "trust-anchors {\n  example.test. static-key " << key.flags << " " << key.protocol
                      << " " << key.algorithm << " \"" << key.key << "\";\n};\n";
  return path;
}

// delv validating with `anchor_file` as the only trust anchor (+root names
// example.test as the anchor's zone, so the root's built-in key is unused).
// delv prints what it validated on stdout and resolution failures on stderr;
// its exit code is 0 either way.
RunResult delv(std::uint16_t port, const std::string& anchor_file, const std::string& name,
               const std::string& type) {
  return run({"delv", "@127.0.0.1", "-p", std::to_string(port), "-a", anchor_file, "+root=example.test",
              "+nosplit", "+norrcomments", "-q", name, "-t", type});
}

bool fully_validated(const RunResult& r) {
  return contains(r.out, "; fully validated\n");
}

// A validated negative answer: delv 9.18 prints "; negative response, fully
// validated", the negative cache entry (";-$NXDOMAIN" or ";-$NXRRSET") on
// stdout, and ";; resolution failed: ncache nxdomain|nxrrset" on stderr.
bool validated_negative(const RunResult& r, const std::string& kind) {
  return contains(r.out, "; negative response, fully validated\n") && contains(r.out, ";-$" + kind) &&
         contains(r.err, "resolution failed: ncache " + lower(kind));
}

std::string delv_output(const RunResult& r) {
  return "delv stdout:\n" + r.out + "delv stderr:\n" + r.err;
}

// ---------------------------------------------------------------------------
// A signed server per algorithm.

struct AlgorithmCase {
  std::string name;      // our name, as in the config
  int number;            // DNSSEC algorithm number
  std::string mnemonic;  // dnssec-keygen's -a
};

void PrintTo(const AlgorithmCase& a, std::ostream* os) {
  *os << a.name;
}

const AlgorithmCase kAlgorithms[] = {
    {"ecdsa-p256", 13, "ECDSAP256SHA256"},
    {"ed25519", 15, "ED25519"},
    {"rsa-sha256", 8, "RSASHA256"},
};

dns::Record a_record(const dns::Name& owner, std::string_view address) {
  std::string err;
  return dns::Record{owner, dns::RRType::kA, dns::RRClass::kIN, 60,
                     *dns::rdata_from_text(dns::RRType::kA, address, dns::Name(), &err)};
}

struct SignedServer {
  explicit SignedServer(const AlgorithmCase& algorithm) : key_dir(dir.file("keys")), port(free_port()) {
    fs::create_directory(key_dir);
    std::ofstream(dir.file("example.test.zone")) << kZone;
    dns::ServerConfig c;
    c.listen = {*core::Endpoint::parse("127.0.0.1:" + std::to_string(port))};
    c.zones = {{.file = dir.file("example.test.zone")}};
    c.state_dir = dir.path();
    c.workers = 1;
    c.dnssec = dns::DnssecConfig{.zone = "example.test", .algorithm = algorithm.name, .key_dir = key_dir};
    server = std::make_unique<dns::Server>(c);
    // h1 and h2 have an A; every other single label under dyn has none (NODATA).
    server->handle("*.dyn.example.test", {dns::RRType::kA}, [](const dns::Query& q) {
      std::vector<dns::Record> out;
      if (q.question.name == *dns::Name::from_text("h1.dyn.example.test.")) {
        out.push_back(a_record(q.question.name, "192.0.2.101"));
      } else if (q.question.name == *dns::Name::from_text("h2.dyn.example.test.")) {
        out.push_back(a_record(q.question.name, "192.0.2.102"));
      }
      return out;
    });
    server->start();
    keys = served_dnskeys(port);
    if (auto k = sep_key(keys)) {
      ksk = *k;
      anchor_file = write_delv_anchor(dir.file("anchor.conf"), ksk);
    }
  }

  TempDir dir;  // first: outlives the server
  std::string key_dir;
  std::uint16_t port;
  std::unique_ptr<dns::Server> server;
  std::vector<Dnskey> keys;  // the served DNSKEY RRset
  Dnskey ksk;                // its SEP key: the trust anchor
  std::string anchor_file;   // ksk for delv
};

class DnssecZoneTest : public ::testing::TestWithParam<AlgorithmCase> {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_TOOL("dig");
    BASALT_REQUIRE_TOOL("delv");
    BASALT_REQUIRE_TOOL("unbound");
    BASALT_REQUIRE_TOOL("dnssec-keygen");
    BASALT_REQUIRE_TOOL("dnssec-dsfromkey");
    auto& slot = servers()[GetParam().name];
    if (!slot) slot = std::make_unique<SignedServer>(GetParam());
    s_ = slot.get();
    ASSERT_FALSE(s_->anchor_file.empty())
        << "no SEP (257) DNSKEY served at the apex; served: " << ::testing::PrintToString(s_->keys);
  }
  static void TearDownTestSuite() { servers().clear(); }

  // One server per algorithm for all the checks of this process.
  static std::map<std::string, std::unique_ptr<SignedServer>>& servers() {
    static std::map<std::string, std::unique_ptr<SignedServer>> m;
    return m;
  }

  SignedServer* s_ = nullptr;
};

TEST_P(DnssecZoneTest, ServesTheKeyOfTheKeyFileAndBasaltDsAgreesWithDnssecDsfromkey) {
  EXPECT_EQ(s_->ksk.algorithm, GetParam().number);
  // The served SEP key is the one in the key directory, in BIND's format.
  std::set<std::string> from_files;
  std::vector<Dnskey> file_keys;
  for (auto& file : key_files(s_->key_dir)) {
    auto keys = dnskeys_in(read_file(file));
    ASSERT_EQ(keys.size(), 1u) << file << ":\n" << read_file(file);
    file_keys.push_back(keys[0]);
    if (!keys[0].sep()) continue;
    auto r = run({"dnssec-dsfromkey", "-2", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto ds = ds_set(r.out);
    from_files.insert(ds.begin(), ds.end());
  }
  EXPECT_NE(std::find(file_keys.begin(), file_keys.end(), s_->ksk), file_keys.end())
      << "served " << s_->ksk << ", key files: " << ::testing::PrintToString(file_keys);

  auto ours = basalt_ds(s_->key_dir);
  ASSERT_EQ(ours.exit_code, 0) << ours.err;
  auto ds = ds_set(ours.out);
  ASSERT_FALSE(ds.empty()) << ours.out;
  for (auto& line : ds) EXPECT_TRUE(contains(line, " " + std::to_string(GetParam().number) + " 2 ")) << line;
  EXPECT_EQ(ds, from_files) << "basalt-dns ds:\n" << ours.out;

  // ... and the DS of the DNSKEY RRset as served.
  auto served = dig(s_->port, {"example.test", "DNSKEY", "+noall", "+answer", "+nosplit"});
  std::ofstream(s_->dir.file("served-dnskey.db")) << served.out;
  auto from_served = run({"dnssec-dsfromkey", "-2", "-f", s_->dir.file("served-dnskey.db"), "example.test"});
  ASSERT_EQ(from_served.exit_code, 0) << from_served.err;
  EXPECT_EQ(ds, ds_set(from_served.out)) << "served:\n" << served.out;

  // CDS/CDNSKEY at the apex publish the same key for the parent (RFC 7344).
  auto cds = ds_set(dig(s_->port, {"example.test", "CDS", "+noall", "+answer", "+nosplit"}).out, "CDS");
  for (auto& line : ds) EXPECT_EQ(cds.count(line), 1u) << line << " missing from the CDS RRset";
  auto cdnskey =
      dnskeys_in(dig(s_->port, {"example.test", "CDNSKEY", "+noall", "+answer", "+nosplit"}).out, "CDNSKEY");
  EXPECT_NE(std::find(cdnskey.begin(), cdnskey.end(), s_->ksk), cdnskey.end())
      << ::testing::PrintToString(cdnskey);
}

TEST_P(DnssecZoneTest, DelvValidatesEveryKindOfAnswer) {
  auto port = s_->port;
  auto& anchor = s_->anchor_file;

  auto www = delv(port, anchor, "www.example.test", "A");
  EXPECT_TRUE(fully_validated(www)) << delv_output(www);
  EXPECT_TRUE(has_record(www.out, "www.example.test.", "A", "192.0.2.80")) << delv_output(www);

  auto aaaa = delv(port, anchor, "www.example.test", "AAAA");
  EXPECT_TRUE(fully_validated(aaaa) && has_record(aaaa.out, "www.example.test.", "AAAA", "2001:db8::80"))
      << delv_output(aaaa);

  auto mx = delv(port, anchor, "example.test", "MX");
  EXPECT_TRUE(fully_validated(mx) && has_record(mx.out, "example.test.", "MX", "10 mail.example.test."))
      << delv_output(mx);

  // A wildcard answer: its RRSIG must carry the wildcard's label count (3).
  auto wild = delv(port, anchor, "x.apps.example.test", "A");
  EXPECT_TRUE(fully_validated(wild)) << delv_output(wild);
  EXPECT_TRUE(has_record(wild.out, "x.apps.example.test.", "A", "192.0.2.99")) << delv_output(wild);
  auto wild_sigs = records_of(wild.out, "RRSIG");
  ASSERT_FALSE(wild_sigs.empty()) << delv_output(wild);
  EXPECT_EQ(wild_sigs[0].rdata.at(2), "3") << delv_output(wild);

  auto cname = delv(port, anchor, "api.example.test", "A");
  EXPECT_TRUE(fully_validated(cname)) << delv_output(cname);
  EXPECT_TRUE(has_record(cname.out, "api.example.test.", "CNAME", "www.example.test.")) << delv_output(cname);
  EXPECT_TRUE(has_record(cname.out, "www.example.test.", "A", "192.0.2.80")) << delv_output(cname);

  auto nx = delv(port, anchor, "nope.example.test", "A");
  EXPECT_TRUE(validated_negative(nx, "NXDOMAIN")) << delv_output(nx);

  auto nodata = delv(port, anchor, "www.example.test", "TXT");
  EXPECT_TRUE(validated_negative(nodata, "NXRRSET")) << delv_output(nodata);

  // Below a name that exists and is not a wildcard: NXDOMAIN too.
  auto deep = delv(port, anchor, "a.b.www.example.test", "A");
  EXPECT_TRUE(validated_negative(deep, "NXDOMAIN")) << delv_output(deep);

  // The delegation to sub is insecure: no DS, proven by NSEC.
  auto ds = delv(port, anchor, "sub.example.test", "DS");
  EXPECT_TRUE(validated_negative(ds, "NXRRSET")) << delv_output(ds);

  auto dnskey = delv(port, anchor, "example.test", "DNSKEY");
  EXPECT_TRUE(fully_validated(dnskey)) << delv_output(dnskey);
  EXPECT_EQ(dnskeys_in(dnskey.out), s_->keys) << delv_output(dnskey);
  for (std::string type : {"CDS", "CDNSKEY"}) {
    auto r = delv(port, anchor, "example.test", type);
    EXPECT_TRUE(fully_validated(r) && !records_of(r.out, type).empty()) << type << "\n" << delv_output(r);
  }

  // Handler answers, handler NODATA (the pattern matches, no record
  // answers; or no handler for the type), and a name no pattern covers.
  auto h1 = delv(port, anchor, "h1.dyn.example.test", "A");
  EXPECT_TRUE(fully_validated(h1)) << delv_output(h1);
  EXPECT_TRUE(has_record(h1.out, "h1.dyn.example.test.", "A", "192.0.2.101")) << delv_output(h1);
  auto h_empty = delv(port, anchor, "empty.dyn.example.test", "A");
  EXPECT_TRUE(validated_negative(h_empty, "NXRRSET")) << delv_output(h_empty);
  auto h_type = delv(port, anchor, "h2.dyn.example.test", "TXT");
  EXPECT_TRUE(validated_negative(h_type, "NXRRSET")) << delv_output(h_type);
  // Patterns are minimatch globs: `*` matches dots, so a.b.dyn is covered too.
  auto h_deep = delv(port, anchor, "a.b.dyn.example.test", "A");
  EXPECT_TRUE(validated_negative(h_deep, "NXRRSET")) << delv_output(h_deep);
  auto h_nx = delv(port, anchor, "x.dynamo.example.test", "A");
  EXPECT_TRUE(validated_negative(h_nx, "NXDOMAIN")) << delv_output(h_nx);
  // dyn itself has names below it, so it exists (NODATA): an NXDOMAIN would
  // deny them all (RFC 8020), and its NSEC would prove that.
  auto ent = delv(port, anchor, "dyn.example.test", "A");
  EXPECT_TRUE(validated_negative(ent, "NXRRSET")) << delv_output(ent);
}

TEST_P(DnssecZoneTest, UnboundValidatesAndSetsAd) {
  Unbound unbound(s_->dir.path(), s_->port, s_->ksk.rdata());
  ASSERT_TRUE(unbound.wait_ready("mail.example.test", "192.0.2.25")) << "unbound did not start";

  struct Case {
    std::string name, type, status;
    std::string owner, answer_type, rdata;  // a record the answer holds; none for a negative answer
  };
  const Case cases[] = {
      {"www.example.test", "A", "NOERROR", "www.example.test.", "A", "192.0.2.80"},
      {"y.apps.example.test", "A", "NOERROR", "y.apps.example.test.", "A", "192.0.2.99"},
      {"api.example.test", "A", "NOERROR", "api.example.test.", "CNAME", "www.example.test."},
      {"nope.example.test", "A", "NXDOMAIN", "", "", ""},
      {"www.example.test", "TXT", "NOERROR", "", "", ""},
      {"sub.example.test", "DS", "NOERROR", "", "", ""},
      {"h1.dyn.example.test", "A", "NOERROR", "h1.dyn.example.test.", "A", "192.0.2.101"},
      {"h2.dyn.example.test", "A", "NOERROR", "h2.dyn.example.test.", "A", "192.0.2.102"},
      {"none.dyn.example.test", "A", "NOERROR", "", "", ""},
  };
  for (auto& c : cases) {
    auto r = unbound.query(c.name, c.type);
    EXPECT_TRUE(validated_by_unbound(r, c.status)) << c.name << " " << c.type << ":\n" << r.out;
    if (c.owner.empty()) {
      EXPECT_TRUE(contains(r.out, "ANSWER: 0,")) << r.out;
    } else {
      EXPECT_TRUE(has_record(r.out, c.owner, c.answer_type, c.rdata)) << r.out;
    }
  }
}

TEST_P(DnssecZoneTest, AWrongTrustAnchorFailsValidation) {
  TempDir other;
  auto made = run(
      {"dnssec-keygen", "-q", "-a", GetParam().mnemonic, "-f", "KSK", "-K", other.path(), "example.test"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto wrong = dnskeys_in(read_file(key_files(other.path()).at(0)));
  ASSERT_EQ(wrong.size(), 1u);
  ASSERT_NE(wrong[0], s_->ksk);

  auto anchor = write_delv_anchor(other.file("wrong-anchor.conf"), wrong[0]);
  auto r = delv(s_->port, anchor, "www.example.test", "A");
  EXPECT_FALSE(fully_validated(r)) << delv_output(r);
  EXPECT_FALSE(has_record(r.out, "www.example.test.", "A", "192.0.2.80")) << delv_output(r);
  EXPECT_TRUE(contains(r.err, "resolution failed: broken trust chain")) << delv_output(r);

  Unbound unbound(other.path(), s_->port, wrong[0].rdata());
  ASSERT_TRUE(unbound.wait_ready("mail.example.test", "192.0.2.25")) << "unbound did not start";
  auto servfail = unbound.query("www.example.test", "A");
  EXPECT_TRUE(contains(servfail.out, "status: SERVFAIL,")) << servfail.out;
  EXPECT_FALSE(has_record(servfail.out, "www.example.test.", "A", "192.0.2.80")) << servfail.out;
}

INSTANTIATE_TEST_SUITE_P(Algorithms, DnssecZoneTest, ::testing::ValuesIn(kAlgorithms),
                         [](const ::testing::TestParamInfo<AlgorithmCase>& info) {
                           auto name = info.param.name;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// ---------------------------------------------------------------------------
// The daemon's keys.

class DnssecDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_TOOL("dig");
    BASALT_REQUIRE_TOOL("delv");
    BASALT_REQUIRE_TOOL("dnssec-keygen");
    BASALT_REQUIRE_TOOL("dnssec-dsfromkey");
    std::ofstream(dir_.file("example.test.zone")) << kZone;
    fs::create_directory(key_dir_);
  }

  // `basalt-dns serve` signing example.test with the keys in key_dir_.
  Process serve(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {binary("basalt-dns"), "serve",
                                     "--listen",           "127.0.0.1:" + std::to_string(port_),
                                     "--zone-file",        dir_.file("example.test.zone"),
                                     "--state-dir",        dir_.path(),
                                     "--dnssec-zone",      "example.test",
                                     "--key-dir",          key_dir_,
                                     "--log-level",        "warn"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return Process({.argv = argv});
  }

  void stop(Process& server) {
    server.signal(SIGTERM);
    EXPECT_EQ(server.wait(10s), 0);
  }

  TempDir dir_;
  std::string key_dir_ = dir_.file("keys");
  std::uint16_t port_ = free_port();
};

TEST_F(DnssecDaemonTest, KeysSurviveARestart) {
  std::vector<Dnskey> keys;
  std::set<std::string> ds;
  {
    auto server = serve();
    ASSERT_TRUE(wait_for_answer(port_, "www.example.test", "A", "192.0.2.80", server))
        << "basalt-dns did not start";
    keys = served_dnskeys(port_);
    auto sep = sep_key(keys);
    ASSERT_TRUE(sep) << ::testing::PrintToString(keys);
    EXPECT_EQ(sep->algorithm, 13);  // the default: ECDSA P-256
    auto r = basalt_ds(key_dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ds = ds_set(r.out);
    ASSERT_FALSE(ds.empty()) << r.out;
    stop(server);
  }
  auto privates = key_files(key_dir_, ".private");
  ASSERT_FALSE(privates.empty());
  for (auto& file : privates) {
    EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write)
        << file;
  }

  auto server = serve();
  ASSERT_TRUE(wait_for_answer(port_, "www.example.test", "A", "192.0.2.80", server))
      << "basalt-dns did not restart";
  EXPECT_EQ(served_dnskeys(port_), keys);
  auto r = basalt_ds(key_dir_);
  EXPECT_EQ(ds_set(r.out), ds) << r.out;
  EXPECT_EQ(key_files(key_dir_, ".private"), privates);  // nothing new generated
  auto anchor = write_delv_anchor(dir_.file("anchor.conf"), *sep_key(keys));
  auto www = delv(port_, anchor, "www.example.test", "A");
  EXPECT_TRUE(fully_validated(www)) << delv_output(www);
  stop(server);
}

TEST_F(DnssecDaemonTest, UsesAKeyMadeByDnssecKeygen) {
  auto made =
      run({"dnssec-keygen", "-q", "-a", "ECDSAP256SHA256", "-f", "KSK", "-K", key_dir_, "example.test"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto files = key_files(key_dir_);
  ASSERT_EQ(files.size(), 1u);
  auto imported = dnskeys_in(read_file(files[0]));
  ASSERT_EQ(imported.size(), 1u);

  auto server = serve();
  ASSERT_TRUE(wait_for_answer(port_, "www.example.test", "A", "192.0.2.80", server))
      << "basalt-dns did not start";
  EXPECT_EQ(served_dnskeys(port_), imported);
  EXPECT_EQ(key_files(key_dir_), files);  // no key of its own generated
  auto anchor = write_delv_anchor(dir_.file("anchor.conf"), imported[0]);
  auto www = delv(port_, anchor, "www.example.test", "A");
  EXPECT_TRUE(fully_validated(www)) << delv_output(www);
  auto nx = delv(port_, anchor, "nope.example.test", "A");
  EXPECT_TRUE(validated_negative(nx, "NXDOMAIN")) << delv_output(nx);
  auto ds = basalt_ds(key_dir_);
  auto theirs = run({"dnssec-dsfromkey", "-2", files[0]});
  EXPECT_EQ(ds_set(ds.out), ds_set(theirs.out)) << ds.out << theirs.out;
  stop(server);
}

TEST_F(DnssecDaemonTest, UsesAKeyMadeByLdnsKeygen) {
  BASALT_REQUIRE_TOOL("ldns-keygen");
  // ldns-keygen writes into the current directory, with a .ds file beside the key.
  auto made = run({"sh", "-c", "cd '" + key_dir_ + "' && ldns-keygen -a ED25519 -k example.test"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto files = key_files(key_dir_);
  ASSERT_EQ(files.size(), 1u);
  auto imported = dnskeys_in(read_file(files[0]));
  ASSERT_EQ(imported.size(), 1u);

  auto server = serve({"--dnssec-algorithm", "ed25519"});
  ASSERT_TRUE(wait_for_answer(port_, "www.example.test", "A", "192.0.2.80", server))
      << "basalt-dns did not start";
  EXPECT_EQ(served_dnskeys(port_), imported);
  EXPECT_EQ(key_files(key_dir_), files);  // no key of its own generated
  auto anchor = write_delv_anchor(dir_.file("anchor.conf"), imported[0]);
  auto www = delv(port_, anchor, "www.example.test", "A");
  EXPECT_TRUE(fully_validated(www)) << delv_output(www);
  auto ds_file = fs::path(files[0]).replace_extension(".ds").string();
  EXPECT_EQ(ds_set(basalt_ds(key_dir_).out), ds_set(read_file(ds_file)));
  stop(server);
}

TEST_F(DnssecDaemonTest, ServesTheKeyBasaltDnsKeygenMade) {
  auto made = run({binary("basalt-dns"), "keygen", "--zone", "example.test", "--algorithm", "ed25519",
                   "--key-dir", key_dir_});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto printed = dnskeys_in(made.out);
  ASSERT_EQ(printed.size(), 1u) << made.out;
  EXPECT_EQ(printed[0].algorithm, 15);
  auto files = key_files(key_dir_);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(dnskeys_in(read_file(files[0])), printed);
  // BIND reads our key file.
  auto theirs = run({"dnssec-dsfromkey", "-2", files[0]});
  EXPECT_EQ(theirs.exit_code, 0) << theirs.err;

  auto server = serve({"--dnssec-algorithm", "ed25519"});
  ASSERT_TRUE(wait_for_answer(port_, "www.example.test", "A", "192.0.2.80", server))
      << "basalt-dns did not start";
  EXPECT_EQ(served_dnskeys(port_), printed);
  EXPECT_EQ(ds_set(basalt_ds(key_dir_).out), ds_set(theirs.out));
  stop(server);
}

}  // namespace
}  // namespace basalt::testing
