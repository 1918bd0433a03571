// Fuzzes the whole authoritative query path through Server::process_packet:
// any bytes as a query against a zone with delegations, wildcards, CNAME
// chains and handlers, signed online (Ed25519) so queries with DO run the
// DNSSEC paths (RRSIGs, NSEC white lies for zone data and handlers). Every
// input must give either no answer or a well-formed response with the
// query's ID.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "basalt/dns/server/server.hpp"
#include "basalt/dns/wire/message.hpp"
#include "basalt/dns/zone/zone_parser.hpp"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto reply = server().process_packet({data, size});
  if (reply.empty()) return 0;
  basalt::dns::Message m;
  if (basalt::dns::Message::parse(reply, m) != basalt::dns::WireError::kOk) std::abort();
  if (size >= 2 && m.header.id != ((data[0] << 8) | data[1])) std::abort();
  if (!m.header.qr) std::abort();
  return 0;
}
