// The "answers from C++ handlers" case of bench/dns/run.sh: a dns::Server
// whose zone file holds only the apex data (SOA, NS, MX, mail), while every
// host-<n>.<apex> name is answered by a synchronous handler that computes its
// A and AAAA records from <n> — the same answers the static benchmark zone
// gives, so the two runs use one query file.
//
//   basalt-bench-dns-handler --listen 127.0.0.1:5300 --zone-file apex.zone --workers 2
//
// bench/dnssec/run.sh's `ours-half` server is this one with the whole zone,
// signed online (--dnssec-zone, --key-dir, --dnssec-algorithm) and a
// handler pattern (--pattern '*.dyn.example.test') that answers half of the
// random names of its `nxhalf` mix: those get white lies (a handler may make
// any name there), the other half the precomputed NSEC chain.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <charconv>
#include <string>
#include <vector>

#include "basalt/core/log.hpp"
#include "basalt/dns/server/server.hpp"

namespace {

namespace core = basalt::core;
namespace dns = basalt::dns;

// host-<n>: A 10.0.<n/256>.<n%256>, AAAA 2001:db8::<n>; see gen_zone in run.sh.
std::vector<dns::Record> answer(const dns::Query& q) {
  const auto& name = q.question.name;
  auto label = name.label(0);
  constexpr std::string_view kPrefix = "host-";
  unsigned n = 0;
  if (label.size() <= kPrefix.size()) return {};
  auto [end, ec] = std::from_chars(label.data() + kPrefix.size(), label.data() + label.size(), n);
  if (ec != std::errc() || end != label.data() + label.size() || n > 0xffff) return {};
  dns::Record r{.owner = name, .type = q.question.type, .rclass = dns::RRClass::kIN, .ttl = 3600};
  auto hi = static_cast<std::uint8_t>(n >> 8), lo = static_cast<std::uint8_t>(n & 0xff);
  if (q.question.type == dns::RRType::kA) {
    r.rdata = {10, 0, hi, lo};
  } else {
    r.rdata = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, hi, lo};
  }
  return {std::move(r)};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("basalt-bench-dns-handler: a DNS server answering host-<n> names from a C++ handler");
  std::string listen = "127.0.0.1:5300";
  std::string zone_file;
  std::size_t workers = 2;
  std::string pattern, dnssec_zone, key_dir, algorithm;
  app.add_option("--listen", listen, "ADDR:PORT for UDP and TCP");
  app.add_option("--zone-file", zone_file, "zone with the apex data; host-<n> names come from the handler")
      ->required();
  app.add_option("--workers", workers, "worker threads");
  app.add_option("--pattern", pattern, "the handler's pattern (default host-*.<apex>)");
  app.add_option("--dnssec-zone", dnssec_zone, "sign this zone online");
  app.add_option("--key-dir", key_dir, "its keys (generated there on first start)");
  app.add_option("--dnssec-algorithm", algorithm, "ecdsa-p256 (default), ed25519, rsa-sha256");
  CLI11_PARSE(app, argc, argv);

  core::init_logging(core::LogLevel::warn);
  std::string error;
  auto endpoint = core::Endpoint::parse(listen, &error);
  if (!endpoint) {
    spdlog::error("--listen: \"{}\" {}", listen, error);
    return 2;
  }
  try {
    dns::ServerConfig config{.listen = {*endpoint}, .zones = {{.file = zone_file}}, .workers = workers};
    if (!dnssec_zone.empty()) {
      config.dnssec = dns::DnssecConfig{.zone = dnssec_zone, .key_dir = key_dir};
      if (!algorithm.empty()) config.dnssec->algorithm = algorithm;
    }
    dns::Server server(std::move(config));
    auto apex = server.zone_apexes().at(0).to_string();
    apex.pop_back();  // patterns have no trailing dot
    server.handle(pattern.empty() ? "host-*." + apex : pattern, {dns::RRType::kA, dns::RRType::kAAAA},
                  answer);
    server.stop_on_signals();
    server.start();
    server.wait();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 0;
}
