// Fuzzes the whole authoritative query path through Server::process_packet:
// any bytes as a query against a zone with delegations, wildcards, CNAME
// chains and handlers, signed online (Ed25519) so queries with DO run the
// DNSSEC paths: RRSIGs, the NSEC chain and NSEC white lies (handlers
// reach *.h.example.test), the NSEC3 chain (a server without that handler)
// and NSEC3 white lies (one with it); the input's last octet picks which.
// Every input must give either no answer or a well-formed response with
// the query's ID.
//
// DNS Cookies: each query comes from a client address (IPv4 or IPv6, picked
// by the input's last octet), so server cookies are made and checked; the
// last octet also picks a server that requires cookies (BADCOOKIE) or not.
// When the answer carries a server cookie, the query is sent again with it,
// so the valid-cookie path runs with the fuzzed rest of the message.
//
// Each answer then passes response rate limiting as a UDP answer would (server/response_rate_limiter.hpp),
// from a client and at a time taken from the input, with a low rate so that most are limited: a slipped
// answer must still parse, keep the ID and question, set TC and carry no
// records.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "basalt/dns/server/server.hpp"
#include "basalt/dns/wire/message.hpp"
#include "basalt/dns/zone/zone_parser.hpp"
#include "server/response_rate_limiter.hpp"

namespace {

constexpr std::string_view kZone = R"($ORIGIN example.test.
$TTL 300
@ SOA ns1 host 1 3600 600 86400 60
@ NS ns1
@ MX 10 mail
ns1 A 192.0.2.1
mail A 192.0.2.2
mail AAAA 2001:db8::2
www CNAME web
web CNAME www2
www2 A 192.0.2.3
loop1 CNAME loop2
loop2 CNAME loop1
*.wild A 192.0.2.4
*.wild TXT "w"
sub NS ns.sub
ns.sub A 192.0.2.5
big TXT "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
big TXT "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
srv SRV 1 2 3 mail
)";

const std::string& fuzz_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/basalt-query-fuzz-XXXXXX";
    std::string d = mkdtemp(tmpl);
    std::ofstream(d + "/example.test.zone") << kZone;
    return d;
  }();
  return dir;
}

enum class Denial { kNsec, kNsec3Chain, kNsec3WhiteLies };

basalt::dns::Server* add_dyn_handler(basalt::dns::Server* srv);

basalt::dns::Server* make_server(bool require_cookies, Denial denial) {
  const std::string& dir = fuzz_dir();
  basalt::dns::ServerConfig config;
  // A fixed secret: the same input gives the same answer on every run.
  config.cookies = {.secret = "e5e973e5a6b2a43f48e7dc849e37bfcf", .require = require_cookies};
  config.zones = {{.apex = "dyn.test"}, {.file = dir + "/example.test.zone"}};
  config.workers = 1;
  config.state_dir = dir;
  config.dnssec = basalt::dns::DnssecConfig{.zone = "example.test", .algorithm = "ed25519", .key_dir = dir};
  if (denial != Denial::kNsec) config.dnssec->denial = "nsec3";
  auto* srv = new basalt::dns::Server(config);
  if (denial == Denial::kNsec3Chain) return add_dyn_handler(srv);
  srv->handle("*.h.example.test", {basalt::dns::RRType::kA}, [](const basalt::dns::Query& q) {
    std::string err;
    if (q.question.name.label(0) == "none") return std::vector<basalt::dns::Record>{};
    return std::vector<basalt::dns::Record>{
        {q.question.name, basalt::dns::RRType::kA, basalt::dns::RRClass::kIN, 1,
         *basalt::dns::rdata_from_text(basalt::dns::RRType::kA, "10.0.0.2", basalt::dns::Name(), &err)}};
  });
  return add_dyn_handler(srv);
}

basalt::dns::Server* add_dyn_handler(basalt::dns::Server* srv) {
  srv->handle("*.dyn.test", {}, [](const basalt::dns::Query& q) {
    std::string err;
    return std::vector<basalt::dns::Record>{
        {q.question.name, basalt::dns::RRType::kA, basalt::dns::RRClass::kIN, 1,
         *basalt::dns::rdata_from_text(basalt::dns::RRType::kA, "10.0.0.1", basalt::dns::Name(), &err)}};
  });
  return srv;
}

basalt::dns::Server& server(bool require_cookies, Denial denial = Denial::kNsec) {
  static basalt::dns::Server* servers[2][3] = {};
  auto*& srv = servers[require_cookies][static_cast<int>(denial)];
  if (!srv) srv = make_server(require_cookies, denial);
  return *srv;
}

// Answers `query` from `client`; aborts unless the answer is none or a
// well-formed response with the query's ID.
std::vector<std::uint8_t> check_answer(basalt::dns::Server& srv, std::span<const std::uint8_t> query,
                                       const basalt::core::Endpoint& client, basalt::dns::Message& m) {
  auto reply = srv.process_packet(query, client);
  if (reply.empty()) return reply;
  if (basalt::dns::Message::parse(reply, m) != basalt::dns::WireError::kOk) std::abort();
  if (query.size() >= 2 && m.header.id != ((query[0] << 8) | query[1])) std::abort();
  if (!m.header.qr) std::abort();
  return reply;
}

basalt::dns::ResponseRateLimiter& rate_limiter() {
  static auto* rrl = [] {
    basalt::dns::RateLimits limits;
    limits.rate = {1, 1, 1, 1};
    limits.burst = std::chrono::seconds(1);
    limits.slip = 2;
    limits.table_size = 64;
    limits.exempt = {*basalt::core::Cidr::parse("10.9.0.0/16")};
    limits.log = false;
    return new basalt::dns::ResponseRateLimiter(limits);
  }();
  return *rrl;
}

// The reply as a UDP answer to a client named by the input's last octets,
// 10 ms after the previous one, through response rate limiting.
void rate_limit(const std::uint8_t* data, std::size_t size, std::vector<std::uint8_t>& reply,
                const basalt::dns::Message& m) {
  using namespace basalt;
  static std::uint64_t calls = 0;
  ++calls;
  // Four networks (so that buckets run dry), one of them exempt; rarely a valid cookie.
  std::uint8_t a = size > 2 ? data[size - 1] : 0, b = size > 3 ? data[size - 2] : 0;
  std::uint32_t network = (a & 3) == 3 ? 0x0a090000u : 0x0a000000u | ((a & 3u) << 8);
  dns::QueryState state;
  state.reset(dns::Transport::kUdp, core::Endpoint{core::IpAddress::v4(network | (b & 3u)), 53});
  state.id = m.header.id;
  state.opcode = m.header.opcode;
  state.rd = m.header.rd;
  state.cd = m.header.cd;
  state.edns = m.edns.has_value();
  state.query.dnssec_ok = m.edns && m.edns->dnssec_ok;
  state.valid_server_cookie = b == 0xff;
  state.has_question = !m.questions.empty();
  if (state.has_question) state.query.question = m.questions.front();
  state.rcode = static_cast<dns::Rcode>(m.rcode());
  if (!m.answers.empty()) state.answer_ttl = m.answers.front().ttl;
  std::size_t n = reply.size();
  reply.resize(std::max<std::size_t>(n, 512));
  static const dns::ZoneSet zones = [] {
    dns::ZoneSet z;
    z.put(server(false).find_zone(*dns::Name::from_text("example.test.")));
    return z;
  }();
  auto now = dns::ResponseRateLimiter::Clock::time_point(std::chrono::milliseconds(calls * 10));
  auto outcome = dns::rate_limit_answer(rate_limiter(), state, zones, 1232, reply, n, now);
  if (outcome.verdict != dns::RrlVerdict::kSlip) return;
  dns::Message slipped;
  if (dns::Message::parse({reply.data(), n}, slipped) != dns::WireError::kOk) std::abort();
  if (slipped.header.id != m.header.id || !slipped.header.tc || !slipped.header.qr) std::abort();
  if (!slipped.answers.empty() || !slipped.authority.empty() || !slipped.additional.empty()) std::abort();
  if (slipped.questions.size() > 1 || slipped.rcode() != m.rcode()) std::abort();
  if (!slipped.questions.empty() && !slipped.questions[0].name.identical(m.questions.at(0).name))
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::uint8_t pick = size > 0 ? data[size - 1] : 0;
  auto client = *basalt::core::Endpoint::parse((pick & 1) ? "[2001:db8::53]:5300" : "192.0.2.53:5300");
  const auto denial = static_cast<Denial>(((pick >> 2) & 3) % 3);
  basalt::dns::Server& srv = server(pick & 2, denial);
  basalt::dns::Message m;
  auto reply = check_answer(srv, {data, size}, client, m);
  if (reply.empty()) return 0;
  rate_limit(data, size, reply, m);
  if (!m.edns) return 0;
  const auto* cookie = m.edns->find(basalt::dns::EdnsOptionCode::kCookie);
  if (!cookie || cookie->data.size() != 24) return 0;
  // Again, with the server cookie just given: a valid one.
  basalt::dns::Message q;
  if (basalt::dns::Message::parse({data, size}, q) != basalt::dns::WireError::kOk || !q.edns) return 0;
  for (auto& o : q.edns->options) {
    if (o.code == static_cast<std::uint16_t>(basalt::dns::EdnsOptionCode::kCookie)) o.data = cookie->data;
  }
  auto again = q.to_wire();
  basalt::dns::Message m2;
  check_answer(srv, again, client, m2);
  return 0;
}
