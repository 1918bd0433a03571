// Fuzzes the whole authoritative query path through Server::process_packet:
// any bytes as a query against a zone with delegations, wildcards, CNAME
// chains and handlers, signed online (Ed25519) so queries with DO run the
// DNSSEC paths (RRSIGs, NSEC white lies for zone data and handlers). Every
// input must give either no answer or a well-formed response with the
// query's ID. Each answer then passes response rate limiting as a UDP answer
// would (server/response_rate_limiter.hpp), from a client and at a time
// taken from the input, with a low rate so that most are limited: a slipped
// answer must still parse, keep the ID and question, set TC and carry no
// records.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

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

basalt::dns::Server& server() {
  static basalt::dns::Server* s = [] {
    char tmpl[] = "/tmp/basalt-query-fuzz-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    std::ofstream(dir + "/example.test.zone") << kZone;
    basalt::dns::ServerConfig config;
    config.zones = {{.apex = "dyn.test"}, {.file = dir + "/example.test.zone"}};
    config.workers = 1;
    config.state_dir = dir;
    config.dnssec = basalt::dns::DnssecConfig{.zone = "example.test", .algorithm = "ed25519", .key_dir = dir};
    auto* srv = new basalt::dns::Server(config);
    srv->handle("*.h.example.test", {basalt::dns::RRType::kA}, [](const basalt::dns::Query& q) {
      std::string err;
      if (q.question.name.label(0) == "none") return std::vector<basalt::dns::Record>{};
      return std::vector<basalt::dns::Record>{
          {q.question.name, basalt::dns::RRType::kA, basalt::dns::RRClass::kIN, 1,
           *basalt::dns::rdata_from_text(basalt::dns::RRType::kA, "10.0.0.2", basalt::dns::Name(), &err)}};
    });
    srv->handle("*.dyn.test", {}, [](const basalt::dns::Query& q) {
      std::string err;
      return std::vector<basalt::dns::Record>{
          {q.question.name, basalt::dns::RRType::kA, basalt::dns::RRClass::kIN, 1,
           *basalt::dns::rdata_from_text(basalt::dns::RRType::kA, "10.0.0.1", basalt::dns::Name(), &err)}};
    });
    return srv;
  }();
  return *s;
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
    z.put(server().find_zone(*dns::Name::from_text("example.test.")));
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
  auto reply = server().process_packet({data, size});
  if (reply.empty()) return 0;
  basalt::dns::Message m;
  if (basalt::dns::Message::parse(reply, m) != basalt::dns::WireError::kOk) std::abort();
  if (size >= 2 && m.header.id != ((data[0] << 8) | data[1])) std::abort();
  if (!m.header.qr) std::abort();
  rate_limit(data, size, reply, m);
  return 0;
}
